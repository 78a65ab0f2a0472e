import { unreachable } from '../lib/assert.js';
import type { MvccStore } from './mvcc-store.js';
import type { KvError } from './kv-errors.js';
import type {
  AlarmRequest, AlarmResponse, CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse,
  LeaseCheckpointRequest, LeaseCheckpointResponse, LeaseGrantRequest, LeaseGrantResponse, LeaseRevokeRequest,
  LeaseRevokeResponse, PutRequest, PutResponse, RangeRequest, RangeResponse, TxnRequest, TxnResponse, WatchEvent,
} from './types.js';
import type { SequencerNextRequest, SequencerNextResponse } from './sequencer-table.js';
import type { CommandSession, SessionRecord } from './session-table.js';

/**
 * KvCommand is one replicated request to the store, as carried in a Raft entry (see
 * command-codec.ts). `revision`, when present, is the main revision assigned before the command
 * entered the log (a sequencer's block, DESIGN §7); without it the store uses current + 1.
 * `range` exists for reads served through the log (read mode `log`). `session`, when present,
 * makes the command exactly-once (session-table.ts): allowed on put, deleteRange, txn, compact
 * and sequencerNext (SESSIONED_COMMANDS).
 */
export type KvCommand = { readonly revision?: number; readonly session?: CommandSession } & (
  | { readonly type: 'range'; readonly request: RangeRequest }
  | { readonly type: 'put'; readonly request: PutRequest }
  | { readonly type: 'deleteRange'; readonly request: DeleteRangeRequest }
  | { readonly type: 'txn'; readonly request: TxnRequest }
  | { readonly type: 'compact'; readonly request: CompactionRequest }
  | { readonly type: 'leaseGrant'; readonly request: LeaseGrantRequest }
  | { readonly type: 'leaseRevoke'; readonly request: LeaseRevokeRequest }
  | { readonly type: 'leaseCheckpoint'; readonly request: LeaseCheckpointRequest }
  | { readonly type: 'alarm'; readonly request: AlarmRequest }
  | { readonly type: 'sequencerNext'; readonly request: SequencerNextRequest }
);

/** SESSIONED_COMMANDS are the kinds that may carry a session (the mutating client requests). */
export const SESSIONED_COMMANDS: ReadonlySet<KvCommandType> = new Set(['put', 'deleteRange', 'txn', 'compact', 'sequencerNext']);

/** KvCommandType names the command kinds. */
export type KvCommandType = KvCommand['type'];

/** KvCommandResponse pairs each command kind with its response. */
export type KvCommandResponse =
  | { readonly type: 'range'; readonly response: RangeResponse }
  | { readonly type: 'put'; readonly response: PutResponse }
  | { readonly type: 'deleteRange'; readonly response: DeleteRangeResponse }
  | { readonly type: 'txn'; readonly response: TxnResponse }
  | { readonly type: 'compact'; readonly response: CompactionResponse }
  | { readonly type: 'leaseGrant'; readonly response: LeaseGrantResponse }
  | { readonly type: 'leaseRevoke'; readonly response: LeaseRevokeResponse }
  | { readonly type: 'leaseCheckpoint'; readonly response: LeaseCheckpointResponse }
  | { readonly type: 'alarm'; readonly response: AlarmResponse }
  | { readonly type: 'sequencerNext'; readonly response: SequencerNextResponse };

/** KvApplyResult is the outcome of applying one command: response and watch events, or an error. */
export type KvApplyResult =
  | { readonly ok: true; readonly result: KvCommandResponse; readonly events: readonly WatchEvent[] }
  | { readonly ok: false; readonly error: KvError };

/**
 * applyKvCommand applies `command` to `store` (the state machine's single entry point). A
 * sessioned command whose seq was already applied is answered from the session's record (same
 * response, same revision, no events) instead of being applied again.
 */
export function applyKvCommand(store: MvccStore, command: KvCommand): KvApplyResult {
  const session = command.session;
  if (session === undefined || !SESSIONED_COMMANDS.has(command.type)) return applyOnce(store, command);
  const check = store.sessions.begin(session, (lease) => store.leaseInfo(lease) !== undefined);
  switch (check.kind) {
    case 'error':
      return { ok: false, error: check.error };
    case 'duplicate':
      return check.record.ok ? { ok: true, result: check.record.result, events: [] } : check.record;
    case 'apply': {
      const result = applyOnce(store, command);
      const record: SessionRecord = result.ok ? { ok: true, result: result.result } : result;
      store.sessions.record(session, record);
      return result;
    }
    default:
      return unreachable(check);
  }
}

function applyOnce(store: MvccStore, command: KvCommand): KvApplyResult {
  switch (command.type) {
    case 'range': {
      const r = store.range(command.request);
      return r.ok ? { ok: true, result: { type: 'range', response: r.response }, events: [] } : r;
    }
    case 'put': {
      const r = store.put(command.request, command.revision);
      return r.ok ? { ok: true, result: { type: 'put', response: r.response }, events: r.events } : r;
    }
    case 'deleteRange': {
      const r = store.deleteRange(command.request, command.revision);
      return r.ok ? { ok: true, result: { type: 'deleteRange', response: r.response }, events: r.events } : r;
    }
    case 'txn': {
      const r = store.txn(command.request, command.revision);
      return r.ok ? { ok: true, result: { type: 'txn', response: r.response }, events: r.events } : r;
    }
    case 'compact': {
      const r = store.compact(command.request);
      return r.ok ? { ok: true, result: { type: 'compact', response: r.response }, events: r.events } : r;
    }
    case 'leaseGrant': {
      const r = store.leaseGrant(command.request);
      return r.ok ? { ok: true, result: { type: 'leaseGrant', response: r.response }, events: r.events } : r;
    }
    case 'leaseRevoke': {
      const r = store.leaseRevoke(command.request, command.revision);
      return r.ok ? { ok: true, result: { type: 'leaseRevoke', response: r.response }, events: r.events } : r;
    }
    case 'leaseCheckpoint': {
      const r = store.leaseCheckpoint(command.request);
      return r.ok ? { ok: true, result: { type: 'leaseCheckpoint', response: r.response }, events: r.events } : r;
    }
    case 'alarm': {
      const r = store.alarm(command.request);
      return r.ok ? { ok: true, result: { type: 'alarm', response: r.response }, events: r.events } : r;
    }
    case 'sequencerNext': {
      const r = store.sequencerNext(command.request);
      return r.ok ? { ok: true, result: { type: 'sequencerNext', response: r.response }, events: r.events } : r;
    }
    default:
      return unreachable(command);
  }
}
