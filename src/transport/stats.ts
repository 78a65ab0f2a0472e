/**
 * TransportStats are a transport's monotonically increasing counters (for tests, metrics and the
 * benchmark). `batchFramesSent` counts batch frames, so "many sends in one turn → one frame" can
 * be asserted.
 */
export interface TransportStats {
  messagesSent: number;
  messagesReceived: number;
  /** messagesDropped counts messages given to `send` that were never written to a connection. */
  messagesDropped: number;
  batchFramesSent: number;
  batchFramesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** socketWrites counts calls that hand bytes to a socket (a corked group counts once). */
  socketWrites: number;
  connectionsOpened: number;
  connectionsAccepted: number;
  /** connectionsRefused counts handshakes refused, by us or by the peer. */
  connectionsRefused: number;
  /** protocolErrors counts connections closed for a malformed or oversized frame. */
  protocolErrors: number;
  snapshotsSent: number;
  snapshotsFailed: number;
  snapshotsReceived: number;
}

/** newTransportStats returns zeroed counters. */
export function newTransportStats(): TransportStats {
  return {
    messagesSent: 0, messagesReceived: 0, messagesDropped: 0, batchFramesSent: 0, batchFramesReceived: 0,
    bytesSent: 0, bytesReceived: 0, socketWrites: 0, connectionsOpened: 0, connectionsAccepted: 0,
    connectionsRefused: 0, protocolErrors: 0, snapshotsSent: 0, snapshotsFailed: 0, snapshotsReceived: 0,
  };
}
