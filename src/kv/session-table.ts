import { assert } from '../lib/assert.js';
import { KvErrorCode, kvError, type KvError } from './kv-errors.js';
import type { KvCommandResponse } from './kv-command.js';
import type { LeaseId } from './types.js';

/** SESSION_CLIENT_ID_BYTES_MAX bounds a client id (UTF-8 bytes). */
export const SESSION_CLIENT_ID_BYTES_MAX = 128;
/**
 * SESSION_RESULTS_MAX bounds the results kept per session: past it the lowest seq is evicted
 * (and a retry of it gets CONCORD_SESSION_SEQ_TOO_OLD, never a second apply).
 */
export const SESSION_RESULTS_MAX = 256;
/** SESSIONS_MAX bounds the sessions alive at once (each also holds a lease). */
export const SESSIONS_MAX = 10_000;

/**
 * CommandSession is the exactly-once envelope of a replicated command (Raft dissertation §6.3):
 * the client `clientId`, bound to lease `lease`, numbers its requests `seq` (1, 2, ...; any order,
 * each once) and says it has received the responses of every seq <= `ack`.
 */
export interface CommandSession {
  readonly clientId: string;
  readonly lease: LeaseId;
  readonly seq: number;
  readonly ack: number;
}

/** SessionRecord is the remembered outcome of an applied sessioned command (no watch events). */
export type SessionRecord =
  | { readonly ok: true; readonly result: KvCommandResponse }
  | { readonly ok: false; readonly error: KvError };

/** SessionState is one session in a snapshot; results in seq order. */
export interface SessionState {
  readonly clientId: string;
  readonly lease: LeaseId;
  /** floor: every seq <= floor is forgotten (acknowledged or evicted). */
  readonly floor: number;
  readonly results: readonly { readonly seq: number; readonly record: SessionRecord }[];
}

/** SessionCheck is what `begin` decided: apply the command, answer from the record, or fail. */
export type SessionCheck =
  | { readonly kind: 'apply' }
  | { readonly kind: 'duplicate'; readonly record: SessionRecord }
  | { readonly kind: 'error'; readonly error: KvError };

interface Session {
  readonly lease: LeaseId;
  floor: number;
  readonly results: Map<number, SessionRecord>;
}

/** isValidSession checks the envelope's shape (the API boundary checks it too). */
export function isValidSession(s: CommandSession): boolean {
  return s.clientId.length > 0 && utf8Length(s.clientId) <= SESSION_CLIENT_ID_BYTES_MAX && s.lease > 0n &&
    s.lease <= 0x7fffffffffffffffn && Number.isSafeInteger(s.seq) && s.seq >= 1 &&
    Number.isSafeInteger(s.ack) && s.ack >= 0 && s.ack < s.seq;
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/**
 * SessionTable is the replicated table of client sessions: per client id, its lease, its floor
 * and the results of its applied commands with seq > floor (at most SESSION_RESULTS_MAX). A
 * session is created by its first command (its lease must exist) and dropped in the same apply
 * that revokes its lease. Owned by the MvccStore; deterministic, part of snapshots.
 */
export class SessionTable {
  private sessions = new Map<string, Session>();
  private byLease = new Map<LeaseId, Set<string>>();

  get size(): number {
    return this.sessions.size;
  }

  /**
   * begin runs before a sessioned command: binds or checks the session, applies its ack, and
   * says whether the command is new, a retry of an applied one, or refused.
   */
  begin(s: CommandSession, leaseExists: (lease: LeaseId) => boolean): SessionCheck {
    assert(isValidSession(s), 'session envelope validated at decode');
    let session = this.sessions.get(s.clientId);
    if (session === undefined) {
      if (!leaseExists(s.lease)) return { kind: 'error', error: kvError(KvErrorCode.SessionLeaseNotFound) };
      if (this.sessions.size >= SESSIONS_MAX) return { kind: 'error', error: kvError(KvErrorCode.SessionsExhausted) };
      session = { lease: s.lease, floor: 0, results: new Map() };
      this.sessions.set(s.clientId, session);
      const ids = this.byLease.get(s.lease) ?? new Set<string>();
      ids.add(s.clientId);
      this.byLease.set(s.lease, ids);
    } else if (session.lease !== s.lease) {
      return { kind: 'error', error: kvError(KvErrorCode.SessionLeaseMismatch) };
    }
    if (s.ack > session.floor) {
      session.floor = s.ack;
      for (const seq of [...session.results.keys()]) if (seq <= s.ack) session.results.delete(seq);
    }
    const record = session.results.get(s.seq);
    if (record !== undefined) return { kind: 'duplicate', record };
    if (s.seq <= session.floor) return { kind: 'error', error: kvError(KvErrorCode.SessionSeqTooOld) };
    return { kind: 'apply' };
  }

  /** record remembers the outcome of a command `begin` allowed (evicting the lowest seq past the bound). */
  record(s: CommandSession, record: SessionRecord): void {
    const session = this.sessions.get(s.clientId);
    if (session === undefined) return; // the command ended its own session
    assert(!session.results.has(s.seq) && s.seq > session.floor, 'a session records each seq once');
    session.results.set(s.seq, record);
    if (session.results.size > SESSION_RESULTS_MAX) {
      const lowest = Math.min(...session.results.keys());
      session.results.delete(lowest);
      session.floor = Math.max(session.floor, lowest);
    }
  }

  /** dropLease ends every session bound to `lease` (called in the apply that revokes it). */
  dropLease(lease: LeaseId): void {
    const ids = this.byLease.get(lease);
    if (ids === undefined) return;
    for (const id of ids) this.sessions.delete(id);
    this.byLease.delete(lease);
  }

  /** has tells whether `clientId` has a live session. */
  has(clientId: string): boolean {
    return this.sessions.has(clientId);
  }

  /** export lists sessions in client id order, results in seq order (canonical). */
  export(): SessionState[] {
    return [...this.sessions.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([clientId, s]) => ({
        clientId,
        lease: s.lease,
        floor: s.floor,
        results: [...s.results.entries()].sort(([a], [b]) => a - b).map(([seq, record]) => ({ seq, record })),
      }));
  }

  /** import replaces every session. */
  import(states: readonly SessionState[]): void {
    this.sessions = new Map();
    this.byLease = new Map();
    for (const st of states) {
      this.sessions.set(st.clientId, { lease: st.lease, floor: st.floor, results: new Map(st.results.map((r) => [r.seq, r.record])) });
      const ids = this.byLease.get(st.lease) ?? new Set<string>();
      ids.add(st.clientId);
      this.byLease.set(st.lease, ids);
    }
  }
}
