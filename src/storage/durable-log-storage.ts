import type { LogStorage } from '../raft/storage.js';
import type { ConfState, Entry, HardState, LogIndex, Snapshot } from '../raft/types.js';

/** PersistBatch is the part of a Ready that must be persisted (a `Ready` is one). */
export interface PersistBatch {
  readonly hardState?: HardState | undefined;
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot | undefined;
}

/**
 * DurableLogStorage is the host's side of a group's log: the Raft core reads it through
 * LogStorage (synchronous, from memory); the host writes it through these async methods, each of
 * which updates what the core sees only after the write is durable. Calls are serialized in call
 * order. Expected misses reject with RaftError (RAFT_COMPACTED, RAFT_SNAPSHOT_OUT_OF_DATE); an I/O
 * failure rejects with a StorageError and fails the storage for good.
 */
export interface DurableLogStorage extends LogStorage {
  /**
   * persistReady persists a Ready's snapshot (if any: its file first, then its WAL marker), then
   * its entries (overwriting a conflicting tail) and hard state, with one fdatasync when
   * `mustSync` (always when there is a snapshot), and only then shows them to the core.
   */
  persistReady(batch: PersistBatch, mustSync: boolean): Promise<void>;
  /**
   * createSnapshot durably records the state machine at `index` (<= last applied, > current
   * snapshot) with the configuration at that index, then purges WAL segments and old snapshot
   * files it makes unnecessary. The log is not trimmed in memory (call `compact`).
   */
  createSnapshot(index: LogIndex, confState: ConfState, data: Uint8Array): Promise<Snapshot>;
  /**
   * compact drops the in-memory entries before `compactIndex`, which must not exceed the
   * snapshot index; the entry at `compactIndex` is kept as the term anchor.
   */
  compact(compactIndex: LogIndex): Promise<void>;
  /** close waits for pending writes and releases files; later writes reject. */
  close(): Promise<void>;
}
