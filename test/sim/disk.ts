import {
  MemoryStorage,
  type ConfState, type Entry, type HardState, type LogIndex, type Snapshot,
} from '../../src/raft/index.js';

/** PendingWrite is one write the host has issued but not yet synced. */
type PendingWrite =
  | { readonly kind: 'snapshot'; readonly snapshot: Snapshot }
  | { readonly kind: 'entries'; readonly entries: readonly Entry[] }
  | { readonly kind: 'hard-state'; readonly hardState: HardState };

/**
 * AppliedCheckpoint is the state machine as last made durable: the applied index, the config at
 * that index and the value list prefix (an immutable view, see ListStateMachine).
 */
export interface AppliedCheckpoint {
  readonly index: LogIndex;
  readonly confState: ConfState;
  readonly values: readonly string[];
  readonly valuesLength: number;
}

/**
 * SimDisk is one node's simulated disk. `live` is the storage the RawNode reads (what the host has
 * written); `durable` is what survives a crash. Writes go to `live` at once and are queued; `sync`
 * replays the queue onto `durable` (an fsync). A crash throws the queue away and the node restarts
 * from a copy of `durable`. Snapshot creation and compaction are done synchronously on both (the
 * host writes snapshot files with an fsync), after syncing what was queued before them.
 *
 * The disk also keeps the state machine's durable checkpoint, taken at every sync, so a node can
 * restart with `applied` = that index instead of re-applying from its snapshot.
 */
export class SimDisk {
  live: MemoryStorage;
  readonly durable: MemoryStorage;
  private pending: PendingWrite[] = [];
  checkpoint: AppliedCheckpoint | undefined;

  /**
   * @param initial the founding configuration (empty for a node that joins later)
   * @param bootstrap write it as committed conf-change entries (`MemoryStorage.bootstrap`) rather
   *   than only into the index-0 snapshot metadata (`withConf`)
   */
  constructor(initial: ConfState, bootstrap: boolean) {
    const make = (): MemoryStorage => (bootstrap ? MemoryStorage.bootstrap(initial) : MemoryStorage.withConf(initial));
    this.live = make();
    this.durable = make();
  }

  /** pendingWrites is the number of writes not yet synced. */
  get pendingWrites(): number {
    return this.pending.length;
  }

  /** writeSnapshot stores a snapshot received from the leader (not yet durable). */
  writeSnapshot(snapshot: Snapshot): void {
    this.live.applySnapshot(snapshot);
    this.pending.push({ kind: 'snapshot', snapshot });
  }

  /** writeEntries appends a Ready's entries (not yet durable). */
  writeEntries(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    this.live.append(entries);
    this.pending.push({ kind: 'entries', entries });
  }

  /** writeHardState saves a Ready's hard state (not yet durable). */
  writeHardState(hardState: HardState): void {
    this.live.setHardState(hardState);
    this.pending.push({ kind: 'hard-state', hardState });
  }

  /** sync makes every queued write durable, then checkpoints the state machine view given. */
  sync(checkpoint: AppliedCheckpoint | undefined): void {
    for (const w of this.pending) {
      switch (w.kind) {
        case 'snapshot': this.durable.applySnapshot(w.snapshot); break;
        case 'entries': this.durable.append(w.entries); break;
        case 'hard-state': this.durable.setHardState(w.hardState); break;
      }
    }
    this.pending = [];
    if (checkpoint) this.checkpoint = checkpoint;
  }

  /**
   * createSnapshot records a snapshot of the state machine at `index` and compacts the log to
   * keep `keepEntries` entries before it, on both copies (the caller synced first).
   */
  createSnapshot(index: LogIndex, confState: ConfState, data: Uint8Array, keepEntries: number): Snapshot {
    const snapshot = this.live.createSnapshot(index, confState, data);
    this.durable.createSnapshot(index, confState, data);
    const compactIndex = index - keepEntries;
    if (compactIndex > this.live.firstIndex() - 1) this.live.compact(compactIndex);
    if (compactIndex > this.durable.firstIndex() - 1) this.durable.compact(compactIndex);
    return snapshot;
  }

  /** crash loses every unsynced write; `live` becomes a copy of `durable`. */
  crash(): void {
    this.pending = [];
    this.live = copyStorage(this.durable);
  }
}

/** copyStorage builds a MemoryStorage holding exactly what `from` holds (log, snapshot, hard state). */
export function copyStorage(from: MemoryStorage): MemoryStorage {
  const snap = from.snapshot();
  const compacted = from.firstIndex() - 1;
  let to: MemoryStorage;
  if (compacted === 0) {
    to = MemoryStorage.withConf(snap.metadata.confState);
  } else {
    to = new MemoryStorage();
    to.applySnapshot({
      metadata: { index: compacted, term: from.term(compacted), confState: snap.metadata.confState },
      data: snap.data,
    });
  }
  const last = from.lastIndex();
  if (last > compacted) to.append(from.entries(compacted + 1, last + 1, Number.POSITIVE_INFINITY));
  if (snap.metadata.index > compacted) to.createSnapshot(snap.metadata.index, snap.metadata.confState, snap.data);
  to.setHardState(from.initialState().hardState);
  return to;
}
