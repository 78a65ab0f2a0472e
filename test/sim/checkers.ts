import {
  EntryType, type Entry, type HardState, type LogIndex, type LogStorage, type NodeId, type Term,
} from '../../src/raft/index.js';

/** CheckerName names the invariant a SimFailure broke (stable: docs and reports use these). */
export type CheckerName =
  | 'election-safety'
  | 'vote-durability'
  | 'log-matching'
  | 'leader-completeness'
  | 'state-machine-safety'
  | 'acknowledged-entry-lost'
  | 'index-order'
  | 'read-index'
  | 'host-contract'
  | 'liveness'
  | 'workload'
  | 'core-assertion';

/** SimFailure is thrown by a checker; the simulator adds the seed, step and trace tail. */
export class SimFailure extends Error {
  override name = 'SimFailure';
  constructor(readonly checker: CheckerName, message: string, options?: { cause?: unknown }) {
    super(`${checker}: ${message}`, options);
  }
}

function fail(checker: CheckerName, message: string): never {
  throw new SimFailure(checker, message);
}

/** entryKey identifies an entry's content (term, type, payload) for equality checks. */
export function entryKey(e: Entry): string {
  let payload = '';
  for (const b of e.data) payload += String.fromCharCode(b);
  return `${e.term}|${e.type}|${payload}`;
}

/** termOrUndefined reads a term from storage, or undefined when compacted/unavailable. */
export function termOrUndefined(storage: LogStorage, index: LogIndex): Term | undefined {
  if (index < storage.firstIndex() - 1 || index > storage.lastIndex()) return undefined;
  return storage.term(index);
}

/** AppliedRecord is what the first node to apply an index applied there. */
interface AppliedRecord {
  readonly key: string;
  readonly term: Term;
  /** value is the client value of a normal non-empty entry, else undefined. */
  readonly value: string | undefined;
}

/** PendingRead is a ReadIndex read in progress: what had been acknowledged when it began. */
interface PendingRead {
  readonly node: NodeId;
  readonly ackedIndexMax: LogIndex;
  readonly startStep: number;
}

/**
 * SafetyChecker holds the global records the Raft invariants are checked against, across every
 * node and every incarnation of a node, for one simulated run. Each method is called by the
 * simulated host at the moment the fact becomes observable and throws a SimFailure when an
 * invariant breaks:
 * - election safety: at most one leader per term, ever (from Ready soft states and from the
 *   terms of leader-only messages: MsgApp, MsgHeartbeat, MsgSnap);
 * - vote durability: a node never votes for two candidates in one term, even across crashes;
 * - log matching: entries with the same (index, term) have the same content and the same
 *   previous term (so, by induction, identical prefixes);
 * - leader completeness: a leader of term T holds every entry known committed in a term < T
 *   (known from hard states: a node at term T with commit c shows entries <= c were committed
 *   in a term <= T);
 * - state machine safety: every node applies the same entry at the same index, in index order,
 *   and a snapshot holds exactly the values applied up to its index;
 * - acknowledged entries: an entry applied by the node its client proposed to is acknowledged
 *   and must be in every live member's state machine at the end;
 * - applied <= committed <= last index on every node after every Ready;
 * - ReadIndex: a read returns a state at least as new as every write acknowledged before it began.
 */
export class SafetyChecker {
  /** leaderByTerm records every (term, leader) ever observed. */
  readonly leaderByTerm = new Map<Term, NodeId>();
  private readonly voteByNodeTerm = new Map<string, NodeId>();
  private readonly contentByIndexTerm = new Map<string, string>();
  private readonly prevTermByIndexTerm = new Map<string, Term>();
  /** commitByTerm: highest commit index seen in a hard state at each term. */
  private readonly commitByTerm = new Map<Term, LogIndex>();
  private readonly applied = new Map<LogIndex, AppliedRecord>();
  private appliedIndexMax: LogIndex = 0;
  /** acked maps an acknowledged client value to the log index it was applied at. */
  readonly acked = new Map<string, LogIndex>();
  private ackedIndexMax: LogIndex = 0;
  private readonly reads = new Map<string, PendingRead>();
  readsServed = 0;
  /** leaderChanges counts terms in which a leader was observed (elections won). */
  get leaderChanges(): number {
    return this.leaderByTerm.size;
  }

  /** onLeaderObserved records that `node` acts as leader of `term` (Ready or leader-only message). */
  onLeaderObserved(node: NodeId, term: Term, how: string): void {
    const known = this.leaderByTerm.get(term);
    if (known === undefined) this.leaderByTerm.set(term, node);
    else if (known !== node) fail('election-safety', `term ${term} has two leaders: ${known} and ${node} (seen via ${how})`);
  }

  /** onCommitObserved records that entries <= hs.commit were committed in a term <= hs.term. */
  onCommitObserved(hs: HardState): void {
    if (hs.commit > (this.commitByTerm.get(hs.term) ?? 0)) this.commitByTerm.set(hs.term, hs.commit);
  }

  /** onVoteDurable checks that a durable vote never changes within a term, across crashes. */
  onVoteDurable(node: NodeId, hs: HardState): void {
    if (hs.vote !== 0) {
      const key = `${node}@${hs.term}`;
      const prior = this.voteByNodeTerm.get(key);
      if (prior === undefined) this.voteByNodeTerm.set(key, hs.vote);
      else if (prior !== hs.vote) fail('vote-durability', `node ${node} voted for ${prior} and then ${hs.vote} in term ${hs.term}`);
    }
  }

  /**
   * onAppended checks log matching for entries a node has just written; `storage` already holds
   * them, so the term before the first one can be read from it.
   */
  onAppended(node: NodeId, entries: readonly Entry[], storage: LogStorage): void {
    let prevTerm = entries.length > 0 ? termOrUndefined(storage, entries[0]!.index - 1) : undefined;
    for (const e of entries) {
      const key = `${e.index}/${e.term}`;
      const content = entryKey(e);
      const known = this.contentByIndexTerm.get(key);
      if (known === undefined) this.contentByIndexTerm.set(key, content);
      else if (known !== content) fail('log-matching', `node ${node} holds a different entry at ${key} than another node`);
      if (prevTerm !== undefined) {
        const knownPrev = this.prevTermByIndexTerm.get(key);
        if (knownPrev === undefined) this.prevTermByIndexTerm.set(key, prevTerm);
        else if (knownPrev !== prevTerm) {
          fail('log-matching', `node ${node} has entry ${key} after term ${prevTerm}, another node after term ${knownPrev}`);
        }
      }
      prevTerm = e.term;
    }
  }

  /** onBecameLeader checks leader completeness for a node that just became leader of `term`. */
  onBecameLeader(node: NodeId, term: Term, storage: LogStorage): void {
    this.onLeaderObserved(node, term, 'ready');
    let required = 0;
    for (const [t, c] of this.commitByTerm) if (t < term && c > required) required = c;
    const last = storage.lastIndex();
    if (last < required) {
      fail('leader-completeness', `leader ${node} of term ${term} has last index ${last} < ${required}, committed before term ${term}`);
    }
    for (let i = Math.max(storage.firstIndex(), 1); i <= required; i++) {
      const rec = this.applied.get(i);
      if (rec !== undefined && storage.term(i) !== rec.term) {
        fail('leader-completeness', `leader ${node} of term ${term} has term ${storage.term(i)} at ${i}, committed entry has term ${rec.term}`);
      }
    }
  }

  /** onApplied checks state machine safety for one applied entry; returns its client value. */
  onApplied(node: NodeId, entry: Entry, appliedBefore: LogIndex, value: string | undefined): void {
    if (entry.index !== appliedBefore + 1) {
      fail('state-machine-safety', `node ${node} applied index ${entry.index} right after ${appliedBefore}`);
    }
    const key = entryKey(entry);
    const rec = this.applied.get(entry.index);
    if (rec === undefined) {
      this.applied.set(entry.index, { key, term: entry.term, value });
      if (entry.index > this.appliedIndexMax) this.appliedIndexMax = entry.index;
    } else if (rec.key !== key) {
      fail('state-machine-safety', `node ${node} applied ${entry.term}/${entry.index} (${describeKey(key)}), another node applied ${describeKey(rec.key)} there`);
    }
  }

  /** onSnapshotRestored checks that a snapshot at `index` holds exactly the values applied up to it. */
  onSnapshotRestored(node: NodeId, index: LogIndex, values: readonly string[]): void {
    let n = 0;
    for (let i = 1; i <= index; i++) {
      const rec = this.applied.get(i);
      if (rec === undefined) fail('state-machine-safety', `node ${node} restored a snapshot at ${index} but no node ever applied index ${i}`);
      if (rec.value === undefined) continue;
      if (values[n] !== rec.value) {
        fail('state-machine-safety', `node ${node} restored a snapshot at ${index} whose value #${n} is ${JSON.stringify(values[n])}, applied index ${i} was ${JSON.stringify(rec.value)}`);
      }
      n++;
    }
    if (n !== values.length) fail('state-machine-safety', `node ${node} restored a snapshot at ${index} with ${values.length} values, expected ${n}`);
  }

  /** onAcknowledged records that a client's write `value` was acknowledged at `index`. */
  onAcknowledged(value: string, index: LogIndex): void {
    if (!this.acked.has(value)) this.acked.set(value, index);
    if (index > this.ackedIndexMax) this.ackedIndexMax = index;
  }

  /** onIndexes checks applied <= committed <= last index on one node. */
  onIndexes(node: NodeId, applied: LogIndex, committed: LogIndex, last: LogIndex): void {
    if (!(applied <= committed && committed <= last)) {
      fail('index-order', `node ${node} has applied ${applied}, committed ${committed}, last index ${last}`);
    }
  }

  /** onReadStarted records a ReadIndex read `context` issued at `node`. */
  onReadStarted(context: string, node: NodeId, step: number): void {
    this.reads.set(context, { node, ackedIndexMax: this.ackedIndexMax, startStep: step });
  }

  /**
   * onReadServed checks a read served at `node` with read index `readIndex` from a state machine
   * at `appliedIndex`; returns false for a context it does not know (a duplicate answer).
   */
  onReadServed(context: string, node: NodeId, readIndex: LogIndex, appliedIndex: LogIndex): boolean {
    const read = this.reads.get(context);
    if (read === undefined) return false;
    this.reads.delete(context);
    if (read.node !== node) fail('read-index', `read ${context} issued at node ${read.node} was answered at node ${node}`);
    if (readIndex < read.ackedIndexMax || appliedIndex < readIndex) {
      fail('read-index', `read ${context} at node ${node} got read index ${readIndex} (state at ${appliedIndex}), but index ${read.ackedIndexMax} was acknowledged before it began (step ${read.startStep})`);
    }
    this.readsServed++;
    return true;
  }

  /** forgetRead drops one read whose client gave up (or whose node refused it). */
  forgetRead(context: string): void {
    this.reads.delete(context);
  }

  /** forgetReadsOf drops the reads issued at a node that crashed (their clients saw an error). */
  forgetReadsOf(node: NodeId): void {
    for (const [ctx, r] of this.reads) if (r.node === node) this.reads.delete(ctx);
  }

  /**
   * checkAcknowledgedPresent checks that a live member's state machine holds every acknowledged
   * value (with `upTo`, every one acknowledged at an index up to it).
   */
  checkAcknowledgedPresent(node: NodeId, values: readonly string[], appliedIndex: LogIndex, upTo?: LogIndex): void {
    const have = new Set(values);
    for (const [value, index] of this.acked) {
      if (upTo !== undefined && index > upTo) continue;
      if (!have.has(value)) {
        fail('acknowledged-entry-lost', `node ${node} (applied ${appliedIndex}) lacks acknowledged value ${JSON.stringify(value)} acknowledged at index ${index}`);
      }
    }
  }

  /** appliedCount is the number of distinct indexes applied by some node. */
  get appliedIndexes(): number {
    return this.appliedIndexMax;
  }
}

function describeKey(key: string): string {
  const first = key.indexOf('|');
  const second = key.indexOf('|', first + 1);
  const term = key.slice(0, first);
  const type = key.slice(first + 1, second);
  const payload = key.slice(second + 1);
  return `${term} ${type === EntryType.Normal ? 'normal' : type} ${JSON.stringify(payload)}`;
}
