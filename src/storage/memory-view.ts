import type { LogStorage, MemoryStorage } from '../raft/storage.js';
import type { ConfState, Entry, HardState, LogIndex, Snapshot, Term } from '../raft/types.js';

/**
 * MemoryView answers the Raft core's reads (LogStorage) from an in-memory MemoryStorage; the
 * durable log storages extend it and keep that view in step with what is durable.
 */
export abstract class MemoryView implements LogStorage {
  constructor(protected readonly memory: MemoryStorage) {}

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
    return this.memory.snapshot();
  }
}
