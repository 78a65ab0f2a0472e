import { assert } from '../lib/assert.js';

/**
 * STORAGE_LIMITS are the size limits of the storage layer, in one place. Relationships between
 * them are asserted when this module loads.
 */
export const STORAGE_LIMITS = {
  /** segmentBytesDefault is when a WAL segment is sealed and a new one started (64 MiB). */
  segmentBytesDefault: 64 * 1024 * 1024,
  /** segmentBytesMin is the smallest configurable segment size (tests use small segments). */
  segmentBytesMin: 1024,
  /** preallocateChunkBytes is the size of each zero-filling write when a segment is preallocated (1 MiB). */
  preallocateChunkBytes: 1024 * 1024,
  /** recordBytesMax bounds one WAL record's payload; larger lengths on disk are corruption. */
  recordBytesMax: 64 * 1024 * 1024,
  /** snapshotBytesMax bounds a snapshot file (its data length is a u32 on disk). */
  snapshotBytesMax: 0xffff_ffff - 1024,
  /** snapshotsRetainedDefault is how many snapshot files are kept (the current one included). */
  snapshotsRetainedDefault: 2,
  /**
   * snapshotSyncEveryBytes: a snapshot file being written is fdatasynced after every this many
   * bytes, not only at its end (8 MiB). On ext4 (data=ordered) a WAL fdatasync commits the
   * journal, which first writes out the data of blocks allocated to other files: with a 200 MB
   * snapshot flushed at once, WAL fdatasyncs beside it took up to 67–101 ms (≈ 0.5 ms before);
   * flushed 8 MiB at a time, 23–26 ms at most (docs/performance.md).
   */
  snapshotSyncEveryBytes: 8 * 1024 * 1024,
  /** snapshotChainLengthMax bounds how many linked snapshots a chain may have below its top (longer is corruption). */
  snapshotChainLengthMax: 64,
} as const;

assert(STORAGE_LIMITS.segmentBytesMin < STORAGE_LIMITS.segmentBytesDefault, 'segment size bounds');
assert(STORAGE_LIMITS.preallocateChunkBytes > 0, 'preallocation writes something');
assert(STORAGE_LIMITS.recordBytesMax <= 0xffff_ffff, 'record length is a u32 on disk');
assert(STORAGE_LIMITS.snapshotsRetainedDefault >= 1, 'the current snapshot is always kept');
