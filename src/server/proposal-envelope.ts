import type { NodeId } from '../raft/types.js';

/**
 * A proposal travels through the log wrapped in an envelope naming its proposer and a sequence
 * number unique on that proposer, so the member that proposed it can answer its caller when the
 * entry is applied — and can tell that an entry at the index it expected belongs to someone else.
 *
 * Layout (version 1): u8 version, n proposer, n sequence, then the command bytes ("n" = safe
 * integer as little-endian float64, as in every binary format of the project).
 *
 * This is on the write path of every proposal (encoded once on the proposer, decoded once per
 * member at apply), so it allocates as little as it can: the envelope is carved from Node's
 * shared buffer pool (no zero fill, no malloc per entry) and decoding reads the header in place.
 */
const ENVELOPE_VERSION = 1;
const HEADER_BYTES = 17;

/** ProposalId identifies a proposal of this member: its sequence number (unique per proposer). */
export type ProposalId = number;

export interface Envelope {
  readonly proposer: NodeId;
  readonly sequence: number;
  readonly command: Uint8Array;
}

/** encodeEnvelope wraps `command` (copied after the header). */
export function encodeEnvelope(proposer: NodeId, sequence: number, command: Uint8Array): Uint8Array {
  const pooled = Buffer.allocUnsafe(HEADER_BYTES + command.byteLength);
  pooled[0] = ENVELOPE_VERSION;
  pooled.writeDoubleLE(proposer, 1);
  pooled.writeDoubleLE(sequence, 9);
  pooled.set(command, HEADER_BYTES);
  // A plain Uint8Array view, so the entry compares and encodes like every other entry's data.
  return new Uint8Array(pooled.buffer, pooled.byteOffset, pooled.byteLength);
}

/** decodeEnvelope reads an envelope; entries come from our own log, so a bad one throws. */
export function decodeEnvelope(data: Uint8Array): Envelope {
  if (data.byteLength < HEADER_BYTES) throw new Error(`proposal envelope of ${data.byteLength} bytes is shorter than its header`);
  const version = data[0];
  if (version !== ENVELOPE_VERSION) throw new Error(`unknown proposal envelope version ${version}`);
  const proposer = readU53(data, 1, 'proposer') as NodeId;
  const sequence = readU53(data, 9, 'sequence');
  return { proposer, sequence, command: data.subarray(HEADER_BYTES) };
}

const scratch = new Float64Array(1);
const scratchBytes = new Uint8Array(scratch.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** readU53 reads a little-endian float64 at `offset` that must be a non-negative safe integer. */
function readU53(data: Uint8Array, offset: number, what: string): number {
  let value: number;
  if (LITTLE_ENDIAN) {
    for (let i = 0; i < 8; i++) scratchBytes[i] = data[offset + i]!;
    value = scratch[0]!;
  } else {
    value = new DataView(data.buffer, data.byteOffset, data.byteLength).getFloat64(offset, true);
  }
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`invalid ${what} ${value} in a proposal envelope`);
  return value;
}
