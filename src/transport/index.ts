/**
 * The peer transport's public entry point (docs/transport.md): the Transport interface, the TCP
 * implementation and the in-memory one for tests.
 */
export type { GroupId, Transport, TransportHandler } from './transport.js';
export { TcpTransport, type TcpTransportOptions } from './tcp-transport.js';
export { MemoryNetwork, MemoryTransport, type MemoryTransportOptions } from './memory-transport.js';
export { TRANSPORT_LIMITS, resolveTransportLimits, type TransportLimits } from './limits.js';
export { TransportError, TransportErrorCode } from './errors.js';
export { newTransportStats, type TransportStats } from './stats.js';
export { PEER_PROTOCOL_VERSION } from './frame-codec.js';
export { parsePeerUrl, type PeerAddress } from './peer-url.js';
