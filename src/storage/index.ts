/**
 * The storage layer's public entry point: the durable log of one Raft group (WAL + snapshot
 * files + in-memory view), its in-memory double, and the FileSystem seam with its fault-injecting
 * wrapper. See docs/storage.md for the on-disk formats and the recovery rules.
 */
export { DiskStorage, SNAP_DIR, WAL_DIR, type DiskStorageOptions } from './disk-storage.js';
export type { DurableLogStorage, PersistBatch } from './durable-log-storage.js';
export { MemoryLogStorage } from './memory-log-storage.js';
export {
  SnapshotCorruptionError, StorageError, StorageErrorCode, WalCorruptionError, isStorageError,
} from './errors.js';
export { NodeFileSystem, type AppendFile, type FileSystem } from './file-system.js';
export {
  FaultyFileSystem, InjectedFaultError, SimulatedCrashError,
  type DiskFault, type FaultMatch, type FaultyFileSystemOptions, type FaultyFileSystemStats, type FileOp,
} from './faulty-file-system.js';
export { STORAGE_LIMITS } from './limits.js';
export { SNAPSHOT_FORMAT_VERSION, SnapshotStore, type SnapshotFile } from './snapshot-store.js';
export { WAL_FORMAT_VERSION, type SnapshotMarker, type WalIdentity } from './wal-record.js';
export { walFsyncBucketBounds } from './wal-fsync-buckets.js';
export { Wal, type TornTail, type WalBatch, type WalOptions, type WalRecovery } from './wal.js';
