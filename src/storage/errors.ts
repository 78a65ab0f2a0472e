/**
 * Operating errors of the storage layer, each with a stable `code` (DESIGN §4, §11). They are
 * created at the disk boundary and carry the underlying error as `cause`; messages name the file
 * and byte offset and say what an operator can do.
 */

export const StorageErrorCode = {
  /** A WAL record is damaged somewhere other than the torn tail; the node must not start. */
  WalCorrupt: 'CONCORD_WAL_CORRUPT',
  /** A write or fsync of the WAL failed earlier; the WAL refuses all further work (no retry). */
  WalFailed: 'CONCORD_WAL_FAILED',
  /** The WAL belongs to another group, node or cluster than the one opening it. */
  WalIdentityMismatch: 'CONCORD_WAL_IDENTITY_MISMATCH',
  /** The on-disk format version is not one this build can read. */
  FormatVersionUnsupported: 'CONCORD_STORAGE_VERSION_UNSUPPORTED',
  /** A snapshot file is damaged or missing while the WAL depends on it; the node must not start. */
  SnapshotCorrupt: 'CONCORD_SNAPSHOT_CORRUPT',
  /** A snapshot or purge write of the group storage failed; it refuses all further work. */
  StorageFailed: 'CONCORD_STORAGE_FAILED',
  /** A record is larger than `STORAGE_LIMITS.recordBytesMax`; nothing was written. */
  RecordTooLarge: 'CONCORD_WAL_RECORD_TOO_LARGE',
  /** The storage was closed. */
  Closed: 'CONCORD_STORAGE_CLOSED',
} as const;
export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

/** StorageError is an operating error of src/storage; `code` is stable, `message` is for people. */
export class StorageError extends Error {
  override name = 'StorageError';
  constructor(readonly code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * WalCorruptionError says the WAL cannot be trusted: a record failed its CRC or length check in
 * the middle of a segment or in a sealed segment, a segment is missing, or entries have a gap.
 * `path` and `offsetBytes` locate the first bad byte range.
 */
export class WalCorruptionError extends StorageError {
  override name = 'WalCorruptionError';
  constructor(readonly path: string, readonly offsetBytes: number, problem: string, options?: { cause?: unknown }) {
    super(
      StorageErrorCode.WalCorrupt,
      `WAL corrupt: ${problem} in ${path} at byte ${offsetBytes}. This is not a torn tail, so data ` +
        'that may have been acknowledged would be lost by skipping it; the node refuses to start. ' +
        'Keep the directory for inspection, then rebuild this member from its peers (remove it from ' +
        'the cluster, wipe its data directory, add it back).',
      options,
    );
  }
}

/** SnapshotCorruptionError says a snapshot file the WAL depends on is damaged or missing. */
export class SnapshotCorruptionError extends StorageError {
  override name = 'SnapshotCorruptionError';
  constructor(readonly path: string, problem: string, options?: { cause?: unknown }) {
    super(
      StorageErrorCode.SnapshotCorrupt,
      `snapshot ${path}: ${problem}. The WAL continues from this snapshot (older entries are purged), ` +
        'so older state cannot be used instead; the node refuses to start. Rebuild this member from ' +
        'its peers (remove it from the cluster, wipe its data directory, add it back).',
      options,
    );
  }
}

/** isStorageError tests for a StorageError with the given code. */
export function isStorageError(error: unknown, code: StorageErrorCode): error is StorageError {
  return error instanceof StorageError && error.code === code;
}
