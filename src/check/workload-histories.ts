/**
 * The histories the verification workloads record and the checkers judge (docs/verification.md).
 * One format for both places a workload runs: against real clusters under real faults
 * (`test/verify`, `npm run verify`) and inside the deterministic simulator (`test/sim`). Times are
 * milliseconds (wall-clock on real clusters, simulated in the simulator); mostly only their order
 * matters, except where a field says it is a duration (lease TTLs are seconds, 1000 time units).
 *
 * Every history is plain JSON data (no bigint: 64-bit values such as revisions, lease ids and
 * fencing tokens are decimal strings), so it can be written to a file and checked again later.
 */
import type { Operation } from './history.js';
import type { KvInput, KvOutput } from './kv-model.js';

/** WorkloadName names the six workloads. */
export type WorkloadName = 'register' | 'set' | 'watch' | 'lock' | 'sequencer' | 'lease';

export const WORKLOAD_NAMES: readonly WorkloadName[] = ['register', 'set', 'watch', 'lock', 'sequencer', 'lease'];

/** register: concurrent put/get/CAS/delete on a few keys, checked for linearizability (kvModel). */
export interface RegisterHistory {
  readonly workload: 'register';
  readonly operations: ReadonlyArray<Operation<KvInput, KvOutput>>;
}

/**
 * set: concurrent adds of unique elements (each a key under one prefix), then one final read
 * of the whole set once faults have healed. `finalRead` is null when the final read failed,
 * which the checker reports as unknown, never as ok.
 */
export interface SetHistory {
  readonly workload: 'set';
  /** Every add attempted: acknowledged (returnTime set) or of unknown outcome (returnTime null). An add that failed definitely (the server refused it) is not listed. */
  readonly adds: ReadonlyArray<Operation<{ readonly element: string }, Record<string, never>>>;
  /** `time` is when the final read was called: adds acknowledged before it must be in it. */
  readonly finalRead: { readonly time: number; readonly elements: readonly string[] } | null;
}

/** WatchEvent is one event as a watcher received it. */
export interface WatchEvent {
  readonly revision: string;
  readonly key: string;
  readonly type: 'put' | 'delete';
  /** value of a put (absent for a delete). */
  readonly value?: string;
}

/**
 * watch: writers change keys under `prefix` while several watchers (each opened from
 * `startRevision`, resuming across failures with the client's watch iterator) record every
 * event; at the end, once every watcher has caught up with `final.revision`, the store is read.
 * The workload is the only writer under `prefix`, so every revision after `startRevision` up to
 * `final.revision` changed a key under it: a watcher's revisions must be gapless.
 */
export interface WatchHistory {
  readonly workload: 'watch';
  readonly prefix: string;
  /** startRevision: the store revision the watchers start after (each watch starts at startRevision + 1). */
  readonly startRevision: string;
  /** The store's contents under `prefix` at `startRevision` (key → value), the base the events apply to. */
  readonly initial: Readonly<Record<string, string>>;
  readonly watchers: ReadonlyArray<{
    readonly id: number;
    /** Events in the order delivered; the watcher stopped after seeing final.revision. */
    readonly events: readonly WatchEvent[];
    /** compacted: the watch was cancelled for compaction (a legal end, reported, not a pass). */
    readonly compacted?: boolean;
  }>;
  /** Acknowledged writes with the revision the server answered. */
  readonly acknowledged: ReadonlyArray<{ readonly key: string; readonly type: 'put' | 'delete'; readonly value?: string; readonly revision: string }>;
  /** The final linearizable read under `prefix`; null when it failed. */
  readonly final: { readonly revision: string; readonly kvs: Readonly<Record<string, string>> } | null;
}

/**
 * lock: clients repeatedly take one lock and, while holding it, write to a fenced resource with
 * their token; the resource keeps the highest token it has seen and accepts a write only with a
 * token at least that high. `resourceLog` is what the resource accepted, in its order.
 */
export interface LockHistory {
  readonly workload: 'lock';
  /** Every acquisition the client saw succeed: its fencing token, when acquire returned, when release returned (null: not released cleanly, e.g. lease lost or client killed). */
  readonly acquisitions: ReadonlyArray<{ readonly clientId: number; readonly token: string; readonly acquiredAt: number; readonly releasedAt: number | null }>;
  /** Writes the resource accepted, in the order it accepted them. `seq` numbers one client's writes. */
  readonly resourceLog: ReadonlyArray<{ readonly clientId: number; readonly token: string; readonly seq: number; readonly time: number }>;
  /** Writes the resource rejected as stale (kept for the report; a rejection is the fence working). */
  readonly rejected: ReadonlyArray<{ readonly clientId: number; readonly token: string; readonly seq: number; readonly time: number }>;
  /** Writes whose client saw them accepted. */
  readonly acknowledged: ReadonlyArray<{ readonly clientId: number; readonly token: string; readonly seq: number }>;
}

/**
 * sequencer: concurrent calls of the named counter's increment-and-get, each for `count`
 * numbers; a completed call returned the first of its `count` consecutive numbers.
 */
export interface SequencerHistory {
  readonly workload: 'sequencer';
  readonly calls: ReadonlyArray<Operation<{ readonly name: string; readonly count: number }, { readonly first: string }>>;
}

/**
 * lease: clients grant leases, attach keys under `prefix`, and then either revoke the lease,
 * stop keeping it alive (it must expire), or keep it alive to the end. After the final
 * `waitForExpiry` the store is read.
 */
export interface LeaseHistory {
  readonly workload: 'lease';
  readonly prefix: string;
  readonly leases: ReadonlyArray<{
    readonly id: string;
    /** ttl in seconds, as granted. */
    readonly ttl: number;
    /** Keys whose put with this lease was acknowledged. */
    readonly keys: readonly string[];
    /**
     * fate: 'revoked' — a revoke was acknowledged at `endedAt`; 'abandoned' — keep-alives
     * stopped at `endedAt` (the last acknowledged keep-alive or grant; the lease must expire
     * within its TTL of that); 'kept' — kept alive through the final read, and never reported lost.
     */
    readonly fate: 'revoked' | 'abandoned' | 'kept';
    readonly endedAt: number | null;
  }>;
  /** Duration (same unit as times) the checker allows beyond a TTL for expiry to take effect. */
  readonly expiryGrace: number;
  /** The final linearizable read of every key under `prefix`, called at `time`; null when it failed. */
  readonly finalRead: { readonly time: number; readonly keys: readonly string[] } | null;
}

export type WorkloadHistory = RegisterHistory | SetHistory | WatchHistory | LockHistory | SequencerHistory | LeaseHistory;

/**
 * WorkloadVerdict is a checker's answer: 'ok' (nothing wrong), 'violation' (the history breaks
 * the workload's guarantee; `problems` says how, `html` draws the offending operations when the
 * checker can), or 'unknown' (the evidence was incomplete: a final read failed, a time budget
 * ran out). Only 'ok' passes.
 */
export interface WorkloadVerdict {
  readonly workload: WorkloadName;
  readonly verdict: 'ok' | 'violation' | 'unknown';
  /** One line for the command's summary, e.g. "1840 ops, 12 unknown, linearizable". */
  readonly summary: string;
  readonly problems: readonly string[];
  readonly html?: string;
}
