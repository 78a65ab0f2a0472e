import { assert } from '../lib/assert.js';
import { RaftError, RaftErrorCode } from '../raft/errors.js';
import { MemoryStorage } from '../raft/storage.js';
import { MemoryView } from './memory-view.js';
import {
  EMPTY_CONF_STATE, type ConfState, type LogIndex, type Snapshot,
} from '../raft/types.js';
import type { DurableLogStorage, PersistBatch } from './durable-log-storage.js';
import { StorageError, StorageErrorCode } from './errors.js';

/**
 * MemoryLogStorage is DurableLogStorage without a disk: an adapter over the core's MemoryStorage
 * with the same async write API and the same checks as DiskStorage (the test double shipped
 * beside it; both pass test/conformance/log-storage.ts).
 */
export class MemoryLogStorage extends MemoryView implements DurableLogStorage {
  private closed = false;

  constructor(initialConfState: ConfState = EMPTY_CONF_STATE) {
    super(MemoryStorage.withConf(initialConfState));
  }

  async persistReady(batch: PersistBatch, _mustSync: boolean): Promise<void> {
    this.checkOpen();
    if (batch.snapshot) this.memory.applySnapshot(batch.snapshot);
    this.memory.append(batch.entries);
    if (batch.hardState) this.memory.setHardState(batch.hardState);
  }

  async createSnapshot(index: LogIndex, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    this.checkOpen();
    return this.memory.createSnapshot(index, confState, data);
  }

  async compact(compactIndex: LogIndex): Promise<void> {
    this.checkOpen();
    if (compactIndex < this.memory.firstIndex()) {
      throw new RaftError(RaftErrorCode.Compacted, `index ${compactIndex} is already compacted`);
    }
    const snapshotIndex = this.memory.snapshot().metadata.index;
    assert(compactIndex <= snapshotIndex, () => `compact ${compactIndex} beyond the snapshot ${snapshotIndex}`);
    this.memory.compact(compactIndex);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError(StorageErrorCode.Closed, 'storage is closed');
  }
}
