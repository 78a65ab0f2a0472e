import { assert } from '../lib/assert.js';
import { bootstrapLog } from './bootstrap.js';
import { RaftError, RaftErrorCode } from './errors.js';
import {
  EMPTY_CONF_STATE, EMPTY_HARD_STATE, EntryType, entryBytes,
  type ConfState, type Entry, type HardState, type LogIndex, type Snapshot, type Term,
} from './types.js';

/**
 * LogStorage is the core's read-only view of the durable log (hashicorp/raft's LogStore, etcd's
 * Storage). The host writes to it after persisting a Ready; the core only reads. Methods throw a
 * RaftError with code Compacted / Unavailable / SnapshotTemporarilyUnavailable for the expected
 * misses; anything else is a fault of the storage.
 */
export interface LogStorage {
  /** initialState returns the saved hard state and the configuration of the latest snapshot/log. */
  initialState(): { hardState: HardState; confState: ConfState };
  /** entries returns [lo, hi), stopping after `bytesMax` bytes but always at least one entry. */
  entries(lo: LogIndex, hi: LogIndex, bytesMax: number): Entry[];
  /** term returns the term of entry `index`; valid for firstIndex()-1 .. lastIndex(). */
  term(index: LogIndex): Term;
  /** lastIndex is the index of the last entry (the snapshot index if the log is empty). */
  lastIndex(): LogIndex;
  /** firstIndex is the index of the first entry still held (snapshot index + 1). */
  firstIndex(): LogIndex;
  /** snapshot returns the most recent snapshot. */
  snapshot(): Snapshot;
}

/**
 * MemoryStorage keeps the log in memory (etcd's MemoryStorage). `entries[0]` is a dummy entry
 * carrying the snapshot's (index, term), so term(firstIndex - 1) works. Used by tests, the
 * simulator and the benchmark; the WAL-backed storage implements the same interface.
 */
export class MemoryStorage implements LogStorage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot = {
    metadata: { index: 0, term: 0, confState: EMPTY_CONF_STATE },
    data: new Uint8Array(0),
  };
  // Invariant: ents[0] is the dummy (snap index, snap term); ents[i].index === ents[0].index + i.
  private ents: Entry[] = [{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }];

  /**
   * withConf creates a storage whose founding configuration lives only in the (index 0) snapshot
   * metadata. Enough for a group whose membership never changes; a member added later cannot
   * learn such a configuration (it is never sent), so groups that change membership start from
   * `MemoryStorage.bootstrap`.
   */
  static withConf(confState: ConfState): MemoryStorage {
    const storage = new MemoryStorage();
    storage.snap = { metadata: { index: 0, term: 0, confState }, data: new Uint8Array(0) };
    return storage;
  }

  /**
   * bootstrap creates the storage of a founding member: the founding configuration as committed
   * conf-change entries at term 1 (see bootstrapLog). The host applies them like any entry.
   */
  static bootstrap(confState: ConfState): MemoryStorage {
    const storage = new MemoryStorage();
    const { entries, hardState } = bootstrapLog(confState);
    storage.append(entries);
    storage.setHardState(hardState);
    return storage;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  /** setHardState saves the hard state of a Ready. */
  setHardState(hardState: HardState): void {
    this.hardState = hardState;
  }

  entries(lo: LogIndex, hi: LogIndex, bytesMax: number): Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw new RaftError(RaftErrorCode.Compacted, `index ${lo} is compacted`);
    if (hi > this.lastIndex() + 1) {
      throw new RaftError(RaftErrorCode.Unavailable, `entries [${lo}, ${hi}) beyond last index ${this.lastIndex()}`);
    }
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const entry = this.ents[i - offset]!;
      bytes += entryBytes(entry);
      if (out.length > 0 && bytes > bytesMax) break;
      out.push(entry);
    }
    return out;
  }

  term(index: LogIndex): Term {
    const offset = this.offset();
    if (index < offset) throw new RaftError(RaftErrorCode.Compacted, `index ${index} is compacted`);
    if (index - offset >= this.ents.length) {
      throw new RaftError(RaftErrorCode.Unavailable, `index ${index} beyond last index ${this.lastIndex()}`);
    }
    return this.ents[index - offset]!.term;
  }

  lastIndex(): LogIndex {
    return this.offset() + this.ents.length - 1;
  }

  firstIndex(): LogIndex {
    return this.offset() + 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  private offset(): LogIndex {
    return this.ents[0]!.index;
  }

  /** applySnapshot replaces the whole log with `snapshot` (a follower installing one). */
  applySnapshot(snapshot: Snapshot): void {
    if (snapshot.metadata.index <= this.snap.metadata.index) {
      throw new RaftError(RaftErrorCode.SnapshotOutOfDate, `snapshot ${snapshot.metadata.index} is older than ${this.snap.metadata.index}`);
    }
    this.snap = snapshot;
    this.ents = [{ term: snapshot.metadata.term, index: snapshot.metadata.index, type: EntryType.Normal, data: new Uint8Array(0) }];
  }

  /**
   * createSnapshot records the state machine at `index` (<= last applied) as the latest snapshot;
   * the log is not trimmed (call `compact`).
   */
  createSnapshot(index: LogIndex, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) {
      throw new RaftError(RaftErrorCode.SnapshotOutOfDate, `snapshot ${index} is not newer than ${this.snap.metadata.index}`);
    }
    assert(index <= this.lastIndex(), () => `snapshot ${index} beyond last index ${this.lastIndex()}`);
    this.snap = { metadata: { index, term: this.term(index), confState }, data };
    return this.snap;
  }

  /** compact discards entries before `compactIndex`; the entry at compactIndex becomes the dummy. */
  compact(compactIndex: LogIndex): void {
    const offset = this.offset();
    if (compactIndex <= offset) throw new RaftError(RaftErrorCode.Compacted, `index ${compactIndex} is already compacted`);
    assert(compactIndex <= this.lastIndex(), () => `compact ${compactIndex} beyond last index ${this.lastIndex()}`);
    const dummy = this.ents[compactIndex - offset]!;
    this.ents = [{ term: dummy.term, index: dummy.index, type: EntryType.Normal, data: new Uint8Array(0) },
      ...this.ents.slice(compactIndex - offset + 1)];
  }

  /**
   * append adds entries persisted from a Ready. Entries may overlap the tail (a follower's log
   * being repaired): the overlapping suffix is replaced.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return; // everything is already compacted away
    const start = Math.max(first - entries[0]!.index, 0);
    const toAppend = start > 0 ? entries.slice(start) : entries;
    const offset = toAppend[0]!.index - this.offset();
    assert(offset <= this.ents.length, () => `missing log entry [last: ${this.lastIndex()}, append at: ${toAppend[0]!.index}]`);
    if (offset < this.ents.length) this.ents.length = offset;
    for (const e of toAppend) this.ents.push(e);
  }
}
