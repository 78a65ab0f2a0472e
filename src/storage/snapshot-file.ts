import { createHash } from 'node:crypto';

/**
 * The snapshot file of `Maintenance.Snapshot` / `etcdctl snapshot save`: what etcdctl expects of
 * an etcd snapshot on the outside (a size that is a multiple of 512 plus a trailing SHA-256 of
 * everything before it — etcdctl checks exactly that), Concord's store snapshot inside.
 *
 * Layout (version 1): "CONCORD-SNAPSHOT" (16 bytes), u32 version, u32 reserved, f64 data length,
 * data (encodeStoreSnapshot), zero padding to a multiple of 512 bytes, SHA-256 (32 bytes).
 */
const MAGIC = new TextEncoder().encode('CONCORD-SNAPSHOT');
const VERSION = 1;
const HEADER_BYTES = 32;
const SECTOR_BYTES = 512;
const DIGEST_BYTES = 32;

/** encodeSnapshotFile wraps a store snapshot for streaming and saving. */
export function encodeSnapshotFile(data: Uint8Array): Uint8Array {
  const bodyBytes = Math.ceil((HEADER_BYTES + data.byteLength) / SECTOR_BYTES) * SECTOR_BYTES;
  const out = new Uint8Array(bodyBytes + DIGEST_BYTES);
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(16, VERSION, true);
  view.setFloat64(24, data.byteLength, true);
  out.set(data, HEADER_BYTES);
  out.set(createHash('sha256').update(out.subarray(0, bodyBytes)).digest(), bodyBytes);
  return out;
}

/** SnapshotFileError explains why a file is not a usable Concord snapshot. */
export class SnapshotFileError extends Error {
  override name = 'SnapshotFileError';
  readonly code = 'CONCORD_SNAPSHOT_FILE';
}

/** decodeSnapshotFile checks the digest and header and returns the store snapshot inside. */
export function decodeSnapshotFile(file: Uint8Array): Uint8Array {
  if (file.byteLength % SECTOR_BYTES !== DIGEST_BYTES || file.byteLength < HEADER_BYTES + DIGEST_BYTES) {
    throw new SnapshotFileError(`not a snapshot file: size ${file.byteLength} is not a multiple of ${SECTOR_BYTES} plus a ${DIGEST_BYTES}-byte SHA-256`);
  }
  const bodyBytes = file.byteLength - DIGEST_BYTES;
  const digest = createHash('sha256').update(file.subarray(0, bodyBytes)).digest();
  if (!digest.equals(file.subarray(bodyBytes))) throw new SnapshotFileError('snapshot file is damaged: SHA-256 mismatch');
  for (let i = 0; i < MAGIC.byteLength; i++) {
    if (file[i] !== MAGIC[i]) throw new SnapshotFileError('not a Concord snapshot (an etcd bbolt snapshot cannot be restored by Concord)');
  }
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const version = view.getUint32(16, true);
  if (version !== VERSION) throw new SnapshotFileError(`unsupported snapshot file version ${version}`);
  const length = view.getFloat64(24, true);
  if (!Number.isSafeInteger(length) || length < 0 || HEADER_BYTES + length > bodyBytes) {
    throw new SnapshotFileError(`snapshot file header names an impossible length ${length}`);
  }
  return file.subarray(HEADER_BYTES, HEADER_BYTES + length);
}
