import { BinaryReader, BinaryWriter, CodecError } from '../lib/binary.js';
import { assert, unreachable } from '../lib/assert.js';
import {
  readCount, readEnum, readI53, readI64, readOptional, readPresence, readU64, withoutUndefined, writeI53, writeOptional, writeU64,
} from './codec-fields.js';
import { SESSIONED_COMMANDS, type KvCommand, type KvCommandType } from './kv-command.js';
import { isValidSession, SESSION_CLIENT_ID_BYTES_MAX, type CommandSession } from './session-table.js';
import { SEQUENCER_NAME_BYTES_MAX } from './sequencer-table.js';
import {
  AlarmAction, AlarmType, CompareResult, SortOrder, SortTarget,
  type AlarmRequest, type Compare, type DeleteRangeRequest, type LeaseCheckpointRequest, type PutRequest,
  type RangeRequest, type RequestOp, type TxnRequest,
} from './types.js';

/**
 * Binary codec of KvCommand for Raft entries. Layout (version 1):
 *   u8 version, u8 kind, optional u53 revision, body.
 * Version 2 (written only for a command with a session, so plain commands keep their v1 bytes):
 *   u8 version, u8 kind, optional u53 revision, string clientId, u64 lease, u53 seq, u53 ack, body.
 * Optional fields are a presence byte then the value; signed integers a sign byte and a u53;
 * lease/member ids 64 bits as two u32. Decoding validates every field (enum ranges, counts
 * against the bytes left, txn nesting depth, no trailing bytes) and throws CodecError.
 */
export const KV_COMMAND_VERSION = 1;
/** KV_COMMAND_SESSION_VERSION is the layout of a command carrying a session. */
export const KV_COMMAND_SESSION_VERSION = 2;
/** KV_TXN_DEPTH_MAX bounds txn nesting in a decoded command (etcd bounds it only by size). */
export const KV_TXN_DEPTH_MAX = 64;

const kinds: readonly KvCommandType[] = [
  'range', 'put', 'deleteRange', 'txn', 'compact', 'leaseGrant', 'leaseRevoke', 'leaseCheckpoint', 'alarm', 'sequencerNext',
];
const opKinds: readonly RequestOp['type'][] = ['range', 'put', 'deleteRange', 'txn'];
const compareTargets: readonly Compare['target'][] = ['version', 'create', 'mod', 'value', 'lease'];
// Allowed enum values, built once (not per decoded field).
const opKindCodes = [0, 1, 2, 3] as const;
const compareTargetCodes = [0, 1, 2, 3, 4] as const;
const compareResults = Object.values(CompareResult);
const sortOrders = Object.values(SortOrder);
const sortTargets = Object.values(SortTarget);
const alarmActions = Object.values(AlarmAction);
const alarmTypes = Object.values(AlarmType);

/**
 * encodeKvCommand serializes a command into a buffer of its own (the returned bytes may be a view
 * of a slightly larger buffer: the writer is sized from the command, so a put is written without
 * growing or copying).
 */
export function encodeKvCommand(command: KvCommand): Uint8Array {
  const w = new BinaryWriter(estimateCommandBytes(command));
  const session = command.session;
  w.u8(session === undefined ? KV_COMMAND_VERSION : KV_COMMAND_SESSION_VERSION).u8(kinds.indexOf(command.type));
  w.bool(command.revision !== undefined);
  if (command.revision !== undefined) w.u53(command.revision);
  if (session !== undefined) {
    assert(SESSIONED_COMMANDS.has(command.type) && isValidSession(session), 'a valid session on a mutating command');
    w.string(session.clientId);
    writeU64(w, session.lease);
    w.u53(session.seq).u53(session.ack);
  }
  switch (command.type) {
    case 'range': writeRange(w, command.request); break;
    case 'put': writePut(w, command.request); break;
    case 'deleteRange': writeDelete(w, command.request); break;
    case 'txn': writeTxn(w, command.request); break;
    case 'compact': writeI53(w, command.request.revision); writeOptional(w, command.request.physical, (v) => w.bool(v)); break;
    case 'leaseGrant': writeI53(w, command.request.ttl); writeOptional(w, command.request.id, (v) => writeU64(w, v)); break;
    case 'leaseRevoke': writeU64(w, command.request.id); break;
    case 'leaseCheckpoint': writeCheckpoints(w, command.request); break;
    case 'alarm': writeAlarm(w, command.request); break;
    case 'sequencerNext': w.bytes(command.request.name).u32(command.request.count); break;
    default: unreachable(command);
  }
  return w.finish();
}

/** estimateCommandBytes sizes the writer: exact or slightly more for a put or delete, a guess (grown as needed) for the rest. */
function estimateCommandBytes(command: KvCommand): number {
  // Header (version, kind, revision) 11 bytes; a session is 4 + id + 8 + 8 + 8; a put's fixed fields 4 + 1 + 4 + 1 + 8 + 3 * 2.
  let bytes = 48 + (command.session === undefined ? 0 : 28 + 3 * command.session.clientId.length);
  switch (command.type) {
    case 'put': return bytes + command.request.key.length + (command.request.value?.length ?? 0);
    case 'deleteRange': return bytes + command.request.key.length + (command.request.rangeEnd?.length ?? 0);
    case 'txn': return bytes + txnBytes(command.request);
    default: return bytes;
  }
}

/** txnBytes bounds a txn's encoded size (compares and ops with their fixed fields, keys and values). */
function txnBytes(q: TxnRequest): number {
  let bytes = 12;
  for (const c of q.compare) bytes += 32 + c.key.length + (c.rangeEnd?.length ?? 0) + (c.target === 'value' ? c.value.length : 0);
  for (const ops of [q.success, q.failure]) {
    for (const op of ops) {
      switch (op.type) {
        case 'range': bytes += 80 + op.request.key.length + (op.request.rangeEnd?.length ?? 0); break;
        case 'put': bytes += 40 + op.request.key.length + (op.request.value?.length ?? 0); break;
        case 'deleteRange': bytes += 16 + op.request.key.length + (op.request.rangeEnd?.length ?? 0); break;
        case 'txn': bytes += 1 + txnBytes(op.request); break;
      }
    }
  }
  return bytes;
}

/** KvCommandDecodeOptions tunes decodeKvCommand. */
export interface KvCommandDecodeOptions {
  /**
   * share: keys, values and other byte fields are views of `data` instead of copies. For a caller
   * that uses the command only while `data` is unchanged (the state machine applies a command
   * synchronously; the store copies whatever bytes it keeps).
   */
  readonly share?: boolean;
}

const SHARE = { share: true } as const;

/** decodeKvCommand parses and validates a command; throws CodecError on malformed input. */
export function decodeKvCommand(data: Uint8Array, options?: KvCommandDecodeOptions): KvCommand {
  const r = new BinaryReader(data, options?.share === true ? SHARE : undefined);
  const version = r.u8('command version');
  if (version !== KV_COMMAND_VERSION && version !== KV_COMMAND_SESSION_VERSION) {
    throw new CodecError(`unknown kv command version ${version}`, 0);
  }
  const kindIndex = r.u8('command kind');
  const type = kinds[kindIndex];
  if (type === undefined) throw new CodecError(`unknown kv command kind ${kindIndex}`, 1);
  const revision = readPresence(r, 'revision') ? r.u53('revision') : undefined;
  const session = version === KV_COMMAND_SESSION_VERSION ? readSession(r) : undefined;
  const command: Writable<KvCommand> = decodeBody(r, type);
  r.end('kv command');
  if (revision !== undefined) command.revision = revision;
  if (session !== undefined) command.session = session;
  return command;
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

function readSession(r: BinaryReader): CommandSession {
  const at = r.offset;
  const session = {
    clientId: r.string('session client id', SESSION_CLIENT_ID_BYTES_MAX),
    lease: readI64(r, 'session lease'),
    seq: r.u53('session seq'),
    ack: r.u53('session ack'),
  };
  if (!isValidSession(session)) throw new CodecError('invalid session', at);
  return session;
}

function decodeBody(r: BinaryReader, type: KvCommandType): KvCommand {
  switch (type) {
    case 'range': return { type, request: readRange(r) };
    case 'put': return { type, request: readPut(r) };
    case 'deleteRange': return { type, request: readDelete(r) };
    case 'txn': return { type, request: readTxn(r, 0) };
    case 'compact': return {
      type, request: withoutUndefined({ revision: readI53(r, 'compact revision'), physical: readOptional(r, 'physical', () => r.bool('physical')) }),
    };
    case 'leaseGrant': return {
      type, request: withoutUndefined({ ttl: readI53(r, 'ttl'), id: readOptional(r, 'lease id', () => readI64(r, 'lease id')) }),
    };
    case 'leaseRevoke': return { type, request: { id: readI64(r, 'lease id') } };
    case 'leaseCheckpoint': return { type, request: readCheckpoints(r) };
    case 'alarm': return { type, request: readAlarm(r) };
    case 'sequencerNext': {
      const name = r.bytes('sequencer name');
      if (name.length === 0 || name.length > SEQUENCER_NAME_BYTES_MAX) throw new CodecError('invalid sequencer name', r.offset);
      return { type, request: { name, count: r.u32('sequencer count') } };
    }
  }
}

function writeBytesOpt(w: BinaryWriter, v: Uint8Array | undefined): void {
  w.bool(v !== undefined);
  if (v !== undefined) w.bytes(v);
}
function writeNumOpt(w: BinaryWriter, v: number | undefined): void {
  w.bool(v !== undefined);
  if (v !== undefined) writeI53(w, v);
}
function writeBoolOpt(w: BinaryWriter, v: boolean | undefined): void {
  w.bool(v !== undefined);
  if (v !== undefined) w.bool(v);
}
function readBytesOpt(r: BinaryReader, what: string): Uint8Array | undefined {
  return readPresence(r, what) ? r.bytes(what) : undefined;
}
function readNumOpt(r: BinaryReader, what: string): number | undefined {
  return readPresence(r, what) ? readI53(r, what) : undefined;
}
function readBoolOpt(r: BinaryReader, what: string): boolean | undefined {
  return readPresence(r, what) ? r.bool(what) : undefined;
}

function writeRange(w: BinaryWriter, q: RangeRequest): void {
  w.bytes(q.key);
  writeBytesOpt(w, q.rangeEnd);
  writeNumOpt(w, q.limit);
  writeNumOpt(w, q.revision);
  writeOptional(w, q.sortOrder, (v) => w.u8(v));
  writeOptional(w, q.sortTarget, (v) => w.u8(v));
  writeBoolOpt(w, q.serializable);
  writeBoolOpt(w, q.keysOnly);
  writeBoolOpt(w, q.countOnly);
  writeNumOpt(w, q.minModRevision);
  writeNumOpt(w, q.maxModRevision);
  writeNumOpt(w, q.minCreateRevision);
  writeNumOpt(w, q.maxCreateRevision);
}

function readRange(r: BinaryReader): RangeRequest {
  const q: Writable<RangeRequest> = { key: r.bytes('key') };
  const rangeEnd = readBytesOpt(r, 'range end');
  if (rangeEnd !== undefined) q.rangeEnd = rangeEnd;
  const limit = readNumOpt(r, 'limit');
  if (limit !== undefined) q.limit = limit;
  const revision = readNumOpt(r, 'revision');
  if (revision !== undefined) q.revision = revision;
  if (readPresence(r, 'sort order')) q.sortOrder = readEnum(r, 'sort order', sortOrders);
  if (readPresence(r, 'sort target')) q.sortTarget = readEnum(r, 'sort target', sortTargets);
  const serializable = readBoolOpt(r, 'serializable');
  if (serializable !== undefined) q.serializable = serializable;
  const keysOnly = readBoolOpt(r, 'keys only');
  if (keysOnly !== undefined) q.keysOnly = keysOnly;
  const countOnly = readBoolOpt(r, 'count only');
  if (countOnly !== undefined) q.countOnly = countOnly;
  const minModRevision = readNumOpt(r, 'min mod revision');
  if (minModRevision !== undefined) q.minModRevision = minModRevision;
  const maxModRevision = readNumOpt(r, 'max mod revision');
  if (maxModRevision !== undefined) q.maxModRevision = maxModRevision;
  const minCreateRevision = readNumOpt(r, 'min create revision');
  if (minCreateRevision !== undefined) q.minCreateRevision = minCreateRevision;
  const maxCreateRevision = readNumOpt(r, 'max create revision');
  if (maxCreateRevision !== undefined) q.maxCreateRevision = maxCreateRevision;
  return q;
}

function writePut(w: BinaryWriter, q: PutRequest): void {
  w.bytes(q.key);
  writeBytesOpt(w, q.value);
  w.bool(q.lease !== undefined);
  if (q.lease !== undefined) writeU64(w, q.lease);
  writeBoolOpt(w, q.prevKv);
  writeBoolOpt(w, q.ignoreValue);
  writeBoolOpt(w, q.ignoreLease);
}

// The readers below build each request with only the fields present (exactOptionalPropertyTypes),
// without an intermediate object: this is the apply path of every write on every member.
function readPut(r: BinaryReader): PutRequest {
  const q: Writable<PutRequest> = { key: r.bytes('key') };
  const value = readBytesOpt(r, 'value');
  if (value !== undefined) q.value = value;
  const lease = readPresence(r, 'lease') ? readI64(r, 'lease') : undefined;
  if (lease !== undefined) q.lease = lease;
  const prevKv = readBoolOpt(r, 'prev kv');
  if (prevKv !== undefined) q.prevKv = prevKv;
  const ignoreValue = readBoolOpt(r, 'ignore value');
  if (ignoreValue !== undefined) q.ignoreValue = ignoreValue;
  const ignoreLease = readBoolOpt(r, 'ignore lease');
  if (ignoreLease !== undefined) q.ignoreLease = ignoreLease;
  return q;
}

function writeDelete(w: BinaryWriter, q: DeleteRangeRequest): void {
  w.bytes(q.key);
  writeBytesOpt(w, q.rangeEnd);
  writeBoolOpt(w, q.prevKv);
}

function readDelete(r: BinaryReader): DeleteRangeRequest {
  const q: Writable<DeleteRangeRequest> = { key: r.bytes('key') };
  const rangeEnd = readBytesOpt(r, 'range end');
  if (rangeEnd !== undefined) q.rangeEnd = rangeEnd;
  const prevKv = readBoolOpt(r, 'prev kv');
  if (prevKv !== undefined) q.prevKv = prevKv;
  return q;
}

function writeTxn(w: BinaryWriter, q: TxnRequest): void {
  w.u32(q.compare.length);
  for (const c of q.compare) writeCompare(w, c);
  for (const ops of [q.success, q.failure]) {
    w.u32(ops.length);
    for (const op of ops) {
      w.u8(opKinds.indexOf(op.type));
      switch (op.type) {
        case 'range': writeRange(w, op.request); break;
        case 'put': writePut(w, op.request); break;
        case 'deleteRange': writeDelete(w, op.request); break;
        case 'txn': writeTxn(w, op.request); break;
        default: unreachable(op);
      }
    }
  }
}

function readTxn(r: BinaryReader, depth: number): TxnRequest {
  if (depth > KV_TXN_DEPTH_MAX) throw new CodecError(`txn nested deeper than ${KV_TXN_DEPTH_MAX}`, r.offset);
  const compare: Compare[] = [];
  for (let n = readCount(r, 'compares'); n > 0; n--) compare.push(readCompare(r));
  const readOps = (what: string): RequestOp[] => {
    const ops: RequestOp[] = [];
    for (let n = readCount(r, what); n > 0; n--) {
      const type = opKinds[readEnum(r, 'op kind', opKindCodes)]!;
      switch (type) {
        case 'range': ops.push({ type, request: readRange(r) }); break;
        case 'put': ops.push({ type, request: readPut(r) }); break;
        case 'deleteRange': ops.push({ type, request: readDelete(r) }); break;
        case 'txn': ops.push({ type, request: readTxn(r, depth + 1) }); break;
      }
    }
    return ops;
  };
  const success = readOps('success ops');
  const failure = readOps('failure ops');
  return { compare, success, failure };
}

function writeCompare(w: BinaryWriter, c: Compare): void {
  w.u8(c.result).u8(compareTargets.indexOf(c.target)).bytes(c.key);
  writeBytesOpt(w, c.rangeEnd);
  switch (c.target) {
    case 'version': writeI53(w, c.version); break;
    case 'create': writeI53(w, c.createRevision); break;
    case 'mod': writeI53(w, c.modRevision); break;
    case 'value': w.bytes(c.value); break;
    case 'lease': writeU64(w, c.lease); break;
    default: unreachable(c);
  }
}

function readCompare(r: BinaryReader): Compare {
  const result = readEnum(r, 'compare result', compareResults);
  const target = compareTargets[readEnum(r, 'compare target', compareTargetCodes)]!;
  const key = r.bytes('compare key');
  const rangeEnd = readBytesOpt(r, 'compare range end');
  let c: Writable<Compare>;
  switch (target) {
    case 'version': c = { result, key, target, version: readI53(r, 'version') }; break;
    case 'create': c = { result, key, target, createRevision: readI53(r, 'create revision') }; break;
    case 'mod': c = { result, key, target, modRevision: readI53(r, 'mod revision') }; break;
    case 'value': c = { result, key, target, value: r.bytes('value') }; break;
    case 'lease': c = { result, key, target, lease: readI64(r, 'lease') }; break;
  }
  if (rangeEnd !== undefined) c.rangeEnd = rangeEnd;
  return c;
}

function writeCheckpoints(w: BinaryWriter, q: LeaseCheckpointRequest): void {
  w.u32(q.checkpoints.length);
  for (const c of q.checkpoints) {
    writeU64(w, c.id);
    writeI53(w, c.remainingTtl);
  }
}

function readCheckpoints(r: BinaryReader): LeaseCheckpointRequest {
  const checkpoints = [];
  for (let n = readCount(r, 'checkpoints', 17); n > 0; n--) {
    checkpoints.push({ id: readI64(r, 'lease id'), remainingTtl: readI53(r, 'remaining ttl') });
  }
  return { checkpoints };
}

function writeAlarm(w: BinaryWriter, q: AlarmRequest): void {
  w.u8(q.action);
  writeU64(w, q.memberId);
  w.u8(q.alarm);
}

function readAlarm(r: BinaryReader): AlarmRequest {
  return {
    action: readEnum(r, 'alarm action', alarmActions),
    memberId: readU64(r, 'member id'),
    alarm: readEnum(r, 'alarm type', alarmTypes),
  };
}
