import type { LogStorage, MemoryStorage } from '../../../src/raft/storage.js';
import type { ConfState, Entry, HardState, LogIndex, Snapshot, Term } from '../../../src/raft/types.js';

/** AppliedState is what the host's state machine has applied: the index and the configuration then. */
export interface AppliedState {
  readonly applied: LogIndex;
  readonly confState: ConfState;
}

const encoder = new TextEncoder();

/**
 * EnvStorage is the storage an interaction node's core reads: its MemoryStorage, except that
 * `snapshot()` answers with a snapshot of the state machine as applied right now (as etcd's
 * rafttest does), the way a host that snapshots on demand would. A MemoryStorage alone would
 * offer its last `createSnapshot`, which predates any later membership change: a node added
 * since then is not in that snapshot's configuration and must refuse it.
 */
export class EnvStorage implements LogStorage {
  constructor(
    /** memory is the durable log the host writes; it survives a restart. */
    readonly memory: MemoryStorage,
    private readonly appliedState: () => AppliedState,
  ) {}

  initialState(): { hardState: HardState; confState: ConfState } {
    return this.memory.initialState();
  }

  entries(lo: LogIndex, hi: LogIndex, bytesMax: number): Entry[] {
    return this.memory.entries(lo, hi, bytesMax);
  }

  term(index: LogIndex): Term {
    return this.memory.term(index);
  }

  lastIndex(): LogIndex {
    return this.memory.lastIndex();
  }

  firstIndex(): LogIndex {
    return this.memory.firstIndex();
  }

  snapshot(): Snapshot {
    const stored = this.memory.snapshot();
    const { applied, confState } = this.appliedState();
    if (applied <= stored.metadata.index) return stored;
    return {
      metadata: { index: applied, term: this.memory.term(applied), confState },
      data: encoder.encode(`applied@${applied}`),
    };
  }
}
