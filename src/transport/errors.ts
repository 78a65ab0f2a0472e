/** TransportErrorCode lists the stable codes of the transport's operating errors. */
export const TransportErrorCode = {
  /** A peer url could not be used (bad syntax, unsupported scheme, no port). */
  BadPeerUrl: 'TRANSPORT_BAD_PEER_URL',
  /** A peer broke the frame protocol (malformed or oversized frame, unexpected frame type). */
  Protocol: 'TRANSPORT_PROTOCOL',
  /** A handshake was refused (cluster id, member id or version mismatch; removed member). */
  Refused: 'TRANSPORT_REFUSED',
} as const;
export type TransportErrorCode = (typeof TransportErrorCode)[keyof typeof TransportErrorCode];

/** TransportError is an operating error of the transport; `code` is stable, `cause` wraps the origin. */
export class TransportError extends Error {
  override name = 'TransportError';
  constructor(readonly code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
