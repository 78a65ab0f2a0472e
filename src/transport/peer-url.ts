import { TransportError, TransportErrorCode } from './errors.js';

/** PeerAddress is where a peer's transport listens. */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * parsePeerUrl reads a peer url as etcd writes them (`http://host:port`) or `tcp://host:port`.
 * The peer protocol is framed TCP in both cases; TLS (`https:`) is not supported yet. Throws
 * TransportError(TRANSPORT_BAD_PEER_URL).
 */
export function parsePeerUrl(url: string | URL): PeerAddress {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch (cause) {
    throw new TransportError(TransportErrorCode.BadPeerUrl, `bad peer url ${JSON.stringify(url)}`, { cause });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'tcp:') {
    throw new TransportError(TransportErrorCode.BadPeerUrl, `peer url ${parsed.href}: scheme ${parsed.protocol} is not supported (use http: or tcp:)`);
  }
  const port = Number(parsed.port);
  if (parsed.port === '' || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new TransportError(TransportErrorCode.BadPeerUrl, `peer url ${parsed.href} has no port`);
  }
  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  return { host, port };
}
