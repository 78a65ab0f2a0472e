import { BinaryReader, BinaryWriter } from '../lib/binary.js';
import type { NodeId } from '../raft/types.js';

/**
 * A proposal travels through the log wrapped in an envelope naming its proposer and a sequence
 * number unique on that proposer, so the member that proposed it can answer its caller when the
 * entry is applied — and can tell that an entry at the index it expected belongs to someone else.
 *
 * Layout (version 1): u8 version, n proposer, n sequence, then the command bytes.
 */
const ENVELOPE_VERSION = 1;
const HEADER_BYTES = 17;

/** ProposalId identifies a proposal: `${proposer}:${sequence}`. */
export type ProposalId = string;

export interface Envelope {
  readonly proposer: NodeId;
  readonly sequence: number;
  readonly command: Uint8Array;
}

export function encodeEnvelope(proposer: NodeId, sequence: number, command: Uint8Array): Uint8Array {
  const w = new BinaryWriter(HEADER_BYTES + command.byteLength);
  w.u8(ENVELOPE_VERSION).u53(proposer).u53(sequence).raw(command);
  return w.finish();
}

/** decodeEnvelope reads an envelope; entries come from our own log, so a bad one throws. */
export function decodeEnvelope(data: Uint8Array): Envelope {
  const r = new BinaryReader(data);
  const version = r.u8('envelope version');
  if (version !== ENVELOPE_VERSION) throw new Error(`unknown proposal envelope version ${version}`);
  const proposer = r.u53('proposer') as NodeId;
  const sequence = r.u53('sequence');
  return { proposer, sequence, command: data.subarray(HEADER_BYTES) };
}

export function proposalId(proposer: NodeId, sequence: number): ProposalId {
  return `${proposer}:${sequence}`;
}
