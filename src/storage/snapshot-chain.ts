import { BinaryReader, BinaryWriter, CodecError } from '../lib/binary.js';

/**
 * A snapshot chain as one piece of data: a full state followed by the deltas that bring it to
 * the snapshot's index, each part opaque to the storage (the state machine made them). A
 * snapshot whose file links to a base (SnapshotStore, `.on-` names) is loaded as such a chain,
 * whether for restoring a member at start or for sending to a follower, which saves it whole.
 *
 * Layout: u32 magic "CSCH" | u32 parts | (u32 length | bytes) per part. Data that does not start
 * with the magic is a single part (every snapshot written before chains existed).
 */
const CHAIN_MAGIC = 0x48435343; // "CSCH" little-endian

/** encodeSnapshotChain joins parts into one piece of data (a single part is returned as is). */
export function encodeSnapshotChain(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const w = new BinaryWriter(8 + parts.reduce((n, p) => n + 4 + p.byteLength, 0));
  w.u32(CHAIN_MAGIC).u32(parts.length);
  for (const p of parts) w.bytes(p);
  return w.finish();
}

/** snapshotChainParts splits data into its parts (one part when it is not a chain); throws CodecError. */
export function snapshotChainParts(data: Uint8Array): Uint8Array[] {
  if (data.byteLength < 4 || new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true) !== CHAIN_MAGIC) return [data];
  const r = new BinaryReader(data, { share: true });
  r.u32('chain magic');
  const count = r.u32('chain parts');
  if (count < 2) throw new CodecError(`snapshot chain of ${count} parts`, 4);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) parts.push(r.bytes('chain part'));
  r.end('snapshot chain');
  return parts;
}
