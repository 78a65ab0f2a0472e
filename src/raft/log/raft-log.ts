import { assert } from '../../lib/assert.js';
import { RaftError, RaftErrorCode } from '../errors.js';
import type { LogStorage } from '../storage.js';
import { entryBytes, type Entry, type LogIndex, type Snapshot, type Term } from '../types.js';
import { Unstable } from './unstable.js';

/**
 * RaftLog is the core's view of the log: the persisted part (storage) followed by the unstable
 * part (not yet persisted).
 * Invariant: applied <= committed <= lastIndex(), and firstIndex() - 1 <= applied.
 */
export class RaftLog {
  readonly unstable: Unstable;
  /** committed is the highest index known to be committed (durable on a quorum). */
  committed: LogIndex;
  /** applied is the highest index the host has applied (set when a Ready is advanced). */
  applied: LogIndex;

  constructor(readonly storage: LogStorage, private readonly committedBytesPerReadyMax: number) {
    const firstIndex = storage.firstIndex();
    const lastIndex = storage.lastIndex();
    this.unstable = new Unstable(lastIndex + 1);
    this.committed = firstIndex - 1;
    this.applied = firstIndex - 1;
  }

  toString(): string {
    return `committed=${this.committed}, applied=${this.applied}, unstable.offset=${this.unstable.offset}, unstable.entries=${this.unstable.entries.length}`;
  }

  /**
   * maybeAppend appends `entries` following (index, logTerm) if the log matches there, and moves
   * the commit index to min(commit, last new index). Returns the last new index, or undefined
   * when the log does not match (the leader must probe further back).
   */
  maybeAppend(index: LogIndex, logTerm: Term, commit: LogIndex, entries: readonly Entry[]): LogIndex | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      assert(conflict > this.committed, () => `entry ${conflict} conflicts with committed entry [committed(${this.committed})]`);
      this.append(entries.slice(conflict - (index + 1)));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  /** append adds entries to the unstable tail (truncating a conflicting suffix); returns lastIndex. */
  append(entries: readonly Entry[]): LogIndex {
    if (entries.length === 0) return this.lastIndex();
    const after = entries[0]!.index - 1;
    assert(after >= this.committed, () => `after(${after}) is out of range [committed(${this.committed})]`);
    assert(after <= this.lastIndex(), () => `gap in log: appending at ${after + 1} after last index ${this.lastIndex()}`);
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  /**
   * findConflict returns the index of the first entry that is new or conflicts with the log
   * (same index, different term), or 0 if all are already present.
   */
  findConflict(entries: readonly Entry[]): LogIndex {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * findConflictByTerm returns the largest index <= `index` whose term is <= `term` (and that
   * term), for fast backtracking of a rejected append (thesis §5.3's optimization).
   */
  findConflictByTerm(index: LogIndex, term: Term): { index: LogIndex; term: Term } {
    for (let i = index; ; i--) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
    }
  }

  /** unstableEntries are the entries the host must persist. */
  unstableEntries(): Entry[] {
    return this.unstable.entries.slice();
  }

  /** hasNextCommittedEntries is true when committed entries wait to be applied. */
  hasNextCommittedEntries(): boolean {
    if (this.hasPendingSnapshot()) return false;
    return this.committed > Math.max(this.applied, this.firstIndex() - 1);
  }

  /** nextCommittedEntries returns committed, unapplied entries (bounded in bytes, at least one). */
  nextCommittedEntries(): Entry[] {
    if (!this.hasNextCommittedEntries()) return [];
    const lo = Math.max(this.applied + 1, this.firstIndex());
    return this.slice(lo, this.committed + 1, this.committedBytesPerReadyMax);
  }

  /** hasPendingSnapshot is true while an incoming snapshot is not yet persisted and applied. */
  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /** snapshot returns the pending snapshot or the storage's latest. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  firstIndex(): LogIndex {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): LogIndex {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** lastStableIndex is the last index known to be persisted (the leader counts only these). */
  lastStableIndex(): LogIndex {
    if (this.unstable.snapshot) return 0;
    return this.unstable.entries.length > 0 ? this.unstable.offset - 1 : this.lastIndex();
  }

  /** commitTo raises the commit index; it never decreases. */
  commitTo(commit: LogIndex): void {
    if (this.committed >= commit) return;
    assert(this.lastIndex() >= commit,
      () => `commit(${commit}) is out of range [lastIndex(${this.lastIndex()})]. Was the raft log corrupted, truncated, or lost?`);
    this.committed = commit;
  }

  /** appliedTo records that the host applied everything up to `index`. */
  appliedTo(index: LogIndex): void {
    if (index === 0) return;
    assert(this.committed >= index && index >= this.applied,
      () => `applied(${index}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    this.applied = index;
  }

  stableTo(index: LogIndex, term: Term): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: LogIndex): void {
    this.unstable.stableSnapTo(index);
  }

  lastTerm(): Term {
    const t = this.term(this.lastIndex());
    assert(t !== undefined, 'unexpected error when getting the last term');
    return t;
  }

  /** term returns the term of `index`, or undefined when it is compacted or beyond the log. */
  term(index: LogIndex): Term | undefined {
    // Checked without exceptions: appends probe one index past the end on every message.
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(index);
    if (t !== undefined) return t;
    try {
      return this.storage.term(index);
    } catch (error) {
      if (error instanceof RaftError) return undefined;
      throw error;
    }
  }

  /** termOrThrow returns the term of `index` or throws RaftError Compacted / Unavailable. */
  termOrThrow(index: LogIndex): Term {
    // The valid range is [firstIndex - 1, lastIndex]: the entry before the first is the snapshot's.
    const dummy = this.firstIndex() - 1;
    if (index < dummy) throw new RaftError(RaftErrorCode.Compacted, `index ${index} is compacted`);
    if (index > this.lastIndex()) throw new RaftError(RaftErrorCode.Unavailable, `index ${index} is beyond the log`);
    const t = this.unstable.maybeTerm(index);
    if (t !== undefined) return t;
    return this.storage.term(index);
  }

  /** entries returns entries from `index` to the end, bounded by bytes; throws Compacted. */
  entries(index: LogIndex, bytesMax: number): Entry[] {
    if (index > this.lastIndex()) return [];
    return this.slice(index, this.lastIndex() + 1, bytesMax);
  }

  /** isUpToDate is the election restriction (§5.4.1): is (lastIndex, term) at least as new as ours? */
  isUpToDate(lastIndex: LogIndex, term: Term): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lastIndex >= this.lastIndex());
  }

  matchTerm(index: LogIndex, term: Term): boolean {
    return this.term(index) === term;
  }

  /** maybeCommit commits up to `maxIndex` if that entry is of `term` (only current-term entries commit by counting, §5.4.2). */
  maybeCommit(maxIndex: LogIndex, term: Term): boolean {
    if (maxIndex > this.committed && Number.isFinite(maxIndex) && this.term(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  /** restore replaces the log with an incoming snapshot. */
  restore(snapshot: Snapshot): void {
    this.committed = snapshot.metadata.index;
    this.unstable.restore(snapshot);
  }

  /** slice returns [lo, hi) from storage and/or unstable, stopping after `bytesMax` (at least one entry). */
  slice(lo: LogIndex, hi: LogIndex, bytesMax: number): Entry[] {
    assert(lo <= hi, () => `invalid slice ${lo} > ${hi}`);
    const first = this.firstIndex();
    if (lo < first) throw new RaftError(RaftErrorCode.Compacted, `index ${lo} is compacted`);
    assert(hi <= this.lastIndex() + 1, () => `slice[${lo},${hi}) out of bound [${first},${this.lastIndex()}]`);
    if (lo === hi) return [];
    let out: Entry[] = [];
    const offset = this.unstable.offset;
    if (lo < offset) {
      out = this.storage.entries(lo, Math.min(hi, offset), bytesMax);
      // Storage stopped early because of the byte limit: done.
      if (out.length < Math.min(hi, offset) - lo) return out;
    }
    if (hi > offset) {
      let bytes = 0;
      for (const e of out) bytes += entryBytes(e);
      for (const e of this.unstable.slice(Math.max(lo, offset), hi)) {
        bytes += entryBytes(e);
        if (out.length > 0 && bytes > bytesMax) break;
        out.push(e);
      }
    }
    return out;
  }
}
