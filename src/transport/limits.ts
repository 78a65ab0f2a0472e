import { assert } from '../lib/assert.js';

/**
 * TransportLimits are every bound of the peer transport, in one place. Units come last in each
 * name. A TcpTransport takes a partial override (tests shrink them); `resolveTransportLimits`
 * checks the relationships between them.
 */
export interface TransportLimits {
  /** frameBytesMax bounds one frame (type byte + payload, the u32 length prefix excluded). */
  readonly frameBytesMax: number;
  /** handshakeFrameBytesMax bounds frames before the handshake completes (garbage is refused fast). */
  readonly handshakeFrameBytesMax: number;
  /** peerQueueMessagesMax bounds the messages waiting for one peer's next flush. */
  readonly peerQueueMessagesMax: number;
  /** peerQueueBytesMax bounds the entry bytes (see `entriesBytes`) waiting for one peer's flush. */
  readonly peerQueueBytesMax: number;
  /** socketBufferedBytesMax: above this many unsent socket bytes a batch is dropped, not queued. */
  readonly socketBufferedBytesMax: number;
  /** snapshotChunkBytes is the data carried by one snapshot chunk frame. */
  readonly snapshotChunkBytes: number;
  /** snapshotsQueuedMax bounds the snapshots waiting to be streamed to one peer. */
  readonly snapshotsQueuedMax: number;
  /** snapshotReceiveBytesMax bounds the bytes of all snapshots being reassembled at once. */
  readonly snapshotReceiveBytesMax: number;
  /** snapshotAckTimeoutMs: a streamed snapshot not acknowledged within this is a failure. */
  readonly snapshotAckTimeoutMs: number;
  /** reconnectBackoffMsMin / Max bound the delay before reconnecting (exponential, jittered). */
  readonly reconnectBackoffMsMin: number;
  readonly reconnectBackoffMsMax: number;
  /** connectTimeoutMs bounds TCP connect plus handshake of an outbound connection. */
  readonly connectTimeoutMs: number;
  /** handshakeTimeoutMs: an inbound connection that has not said hello within this is closed. */
  readonly handshakeTimeoutMs: number;
  /** inboundConnectionsMax bounds accepted connections (handshaking or established). */
  readonly inboundConnectionsMax: number;
  /** clusterIdBytesMax bounds the cluster id string in the handshake. */
  readonly clusterIdBytesMax: number;
  /** refusalReasonBytesMax bounds the reason text of a refusal or a failed snapshot ack. */
  readonly refusalReasonBytesMax: number;
}

const MiB = 1024 * 1024;

/** TRANSPORT_LIMITS are the defaults. */
export const TRANSPORT_LIMITS: TransportLimits = {
  frameBytesMax: 16 * MiB,
  handshakeFrameBytesMax: 4096,
  peerQueueMessagesMax: 16_384,
  peerQueueBytesMax: 64 * MiB,
  socketBufferedBytesMax: 64 * MiB,
  snapshotChunkBytes: 1 * MiB,
  snapshotsQueuedMax: 64,
  snapshotReceiveBytesMax: 1024 * MiB,
  snapshotAckTimeoutMs: 30_000,
  reconnectBackoffMsMin: 50,
  reconnectBackoffMsMax: 2_000,
  connectTimeoutMs: 5_000,
  handshakeTimeoutMs: 5_000,
  inboundConnectionsMax: 1024,
  clusterIdBytesMax: 256,
  refusalReasonBytesMax: 1024,
};

/** SNAPSHOT_CHUNK_HEADER_BYTES is the frame overhead of a chunk beyond its data (type + group id). */
export const SNAPSHOT_CHUNK_HEADER_BYTES = 1 + 8;

/** resolveTransportLimits merges overrides into the defaults and asserts their relationships. */
export function resolveTransportLimits(overrides: Partial<TransportLimits> = {}): TransportLimits {
  const limits: TransportLimits = { ...TRANSPORT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    assert(Number.isSafeInteger(value) && value > 0, `transport limit ${name} must be a positive integer: ${value}`);
  }
  assert(limits.frameBytesMax <= 0xffff_ffff, 'frameBytesMax must fit the u32 length prefix');
  assert(limits.handshakeFrameBytesMax <= limits.frameBytesMax, 'handshakeFrameBytesMax <= frameBytesMax');
  assert(
    limits.handshakeFrameBytesMax >= limits.clusterIdBytesMax + limits.refusalReasonBytesMax + 64,
    'handshakeFrameBytesMax must hold a hello or a refusal',
  );
  assert(limits.snapshotChunkBytes + SNAPSHOT_CHUNK_HEADER_BYTES <= limits.frameBytesMax, 'a snapshot chunk must fit a frame');
  assert(limits.reconnectBackoffMsMin <= limits.reconnectBackoffMsMax, 'reconnectBackoffMsMin <= reconnectBackoffMsMax');
  return limits;
}

resolveTransportLimits();
