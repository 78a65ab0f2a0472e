import { isValidSession, SESSION_CLIENT_ID_BYTES_MAX, type CommandSession } from '../../kv/index.js';
import type { Metadata } from '../grpc/method.js';
import { GrpcError, GrpcStatus } from '../grpc/status.js';

/**
 * Exactly-once retries (docs/sessions.md): gRPC metadata (or HTTP headers on the gateway) that
 * make a mutating request part of a client session. All four travel into the replicated command;
 * the state machine answers a retried seq from its record instead of applying it twice.
 */
export const SESSION_HEADER = 'x-concord-session';
/** SESSION_LEASE_HEADER is the lease id (decimal int64 > 0) the session is bound to. */
export const SESSION_LEASE_HEADER = 'x-concord-session-lease';
/** SEQ_HEADER is the request's sequence number in its session (decimal, 1 .. 2^53 - 1). */
export const SEQ_HEADER = 'x-concord-seq';
/** ACK_HEADER says every seq <= it has its response at the client (decimal, default 0, < seq). */
export const ACK_HEADER = 'x-concord-ack';

const DECIMAL = /^(0|[1-9][0-9]*)$/;

function one(metadata: Metadata, name: string): string | undefined {
  const raw = metadata[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return value === undefined || value === '' ? undefined : value.trim();
}

function bad(message: string): GrpcError {
  return new GrpcError(GrpcStatus.INVALID_ARGUMENT, `concord: ${message}`);
}

/**
 * sessionOf reads a call's session metadata: undefined when there is none (plain etcd clients),
 * the envelope when it is complete and valid, else INVALID_ARGUMENT naming the header.
 */
export function sessionOf(metadata: Metadata): CommandSession | undefined {
  const clientId = one(metadata, SESSION_HEADER);
  const lease = one(metadata, SESSION_LEASE_HEADER);
  const seq = one(metadata, SEQ_HEADER);
  const ack = one(metadata, ACK_HEADER);
  if (clientId === undefined) {
    if (lease !== undefined || seq !== undefined || ack !== undefined) {
      throw bad(`${SESSION_LEASE_HEADER}, ${SEQ_HEADER} and ${ACK_HEADER} need ${SESSION_HEADER}`);
    }
    return undefined;
  }
  if (Buffer.byteLength(clientId) > SESSION_CLIENT_ID_BYTES_MAX) throw bad(`${SESSION_HEADER} is longer than ${SESSION_CLIENT_ID_BYTES_MAX} bytes`);
  if (lease === undefined || !DECIMAL.test(lease) || BigInt(lease) <= 0n || BigInt(lease) > 0x7fffffffffffffffn) {
    throw bad(`${SESSION_HEADER} needs ${SESSION_LEASE_HEADER}: a granted lease id in decimal`);
  }
  if (seq === undefined || !DECIMAL.test(seq) || !Number.isSafeInteger(Number(seq)) || Number(seq) < 1) {
    throw bad(`${SESSION_HEADER} needs ${SEQ_HEADER}: a decimal integer in 1..2^53-1`);
  }
  if (ack !== undefined && (!DECIMAL.test(ack) || !Number.isSafeInteger(Number(ack)))) {
    throw bad(`${ACK_HEADER} must be a decimal integer`);
  }
  const session: CommandSession = { clientId, lease: BigInt(lease), seq: Number(seq), ack: ack === undefined ? 0 : Number(ack) };
  if (session.ack >= session.seq) throw bad(`${ACK_HEADER} (${session.ack}) must be below ${SEQ_HEADER} (${session.seq})`);
  if (!isValidSession(session)) throw bad('invalid session metadata');
  return session;
}

/** withSession adds the call's session (if any) to a command. */
export function withSession<C extends object>(command: C, metadata: Metadata): C | (C & { session: CommandSession }) {
  const session = sessionOf(metadata);
  return session === undefined ? command : { ...command, session };
}
