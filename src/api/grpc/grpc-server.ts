import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { nullLogger, type Logger } from '../../lib/logger.js';
import { sniffFirstHeaders } from './authority-fix.js';
import { NodeCallTransport, type CallTransport } from './call-transport.js';
import { isGrpcContentType } from './content-type.js';
import { GrpcCall, respondTrailersOnly, type CallHost } from './grpc-call.js';
import { H2Connection } from './h2-connection.js';
import { h2Preface } from './h2-frames.js';
import type { H2Stream } from './h2-stream.js';
import { resolveServingLimits, type ServingLimits } from './limits.js';
import type { Metadata } from './method.js';
import type { MethodRegistry } from './method-registry.js';
import { GrpcError, GrpcStatus } from './status.js';
import { parseGrpcTimeout } from './timeout.js';

/** HttpRequest / HttpResponse are node's request/response pair of either HTTP version. */
export type HttpRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type HttpResponse = http.ServerResponse | http2.Http2ServerResponse;
/** HttpRequestHandler serves every non-gRPC request on the client port (gateway, /health, ...). */
export type HttpRequestHandler = (req: HttpRequest, res: HttpResponse) => void;

/** ClientPortServerOptions configure a ClientPortServer. */
export interface ClientPortServerOptions {
  /** registry holds the gRPC methods; looked up per call, so it may be filled after construction. */
  readonly registry: MethodRegistry;
  /** http serves non-gRPC requests (HTTP/1.1, and HTTP/2 without a gRPC content-type). Default: 404. */
  readonly http?: HttpRequestHandler;
  readonly logger?: Logger;
  readonly limits?: Partial<ServingLimits>;
  /** mapError maps a non-GrpcError thrown by a handler to a status; undefined → UNKNOWN (logged). */
  readonly mapError?: (err: unknown) => GrpcError | undefined;
}

/** ServerStats are the server's connection-level counters (plain numbers; read by metrics). */
export interface ServerStats {
  connectionsAccepted: number;
  sessionsOpened: number;
  sessionsClosedIdle: number;
  sessionsClosedKeepalive: number;
  pingsReceived: number;
  grpcCallsActive: number;
  grpcUnknownMethod: number;
  grpcCompressedMessages: number;
  httpRequests: number;
  /** authorityRewrittenConnections: HTTP/2 connections served through the :authority fix (authority-fix.ts). */
  authorityRewrittenConnections: number;
  /** ownHttp2Connections: connections whose first request was gRPC, served by Concord's own HTTP/2 framing (h2-connection.ts). */
  ownHttp2Connections: number;
}

const kSessionState = Symbol('concord.grpc.sessionState');
interface SessionState {
  openStreams: number;
  pingTimer: NodeJS.Timeout | undefined;
  pingPending: boolean;
}
type TrackedSession = http2.ServerHttp2Session & { [kSessionState]?: SessionState };
type TrackedStream = http2.ServerHttp2Stream & { [kSessionState]?: SessionState };

/**
 * ClientPortServer serves the client port: gRPC (HTTP/2 cleartext with prior knowledge, as gRPC
 * clients speak on http:// endpoints) and, on the same port, HTTP/1.1 and non-gRPC HTTP/2
 * requests through one `http` handler. gRPC streams are handled directly on node:http2's
 * stream API (no compatibility-layer objects); see docs/serving.md for the protocol subset.
 */
export { isGrpcContentType };

export class ClientPortServer implements CallHost {
  /** server is the listening socket server; connections are sniffed, then handed to h2 or h1. */
  readonly server: net.Server;
  private readonly h2: http2.Http2Server;
  private readonly h1: http.Server;
  readonly limits: ServingLimits;
  readonly logger: Logger;
  readonly mapError: ((err: unknown) => GrpcError | undefined) | undefined;
  readonly stats: ServerStats = {
    connectionsAccepted: 0,
    sessionsOpened: 0,
    sessionsClosedIdle: 0,
    sessionsClosedKeepalive: 0,
    pingsReceived: 0,
    grpcCallsActive: 0,
    grpcUnknownMethod: 0,
    grpcCompressedMessages: 0,
    httpRequests: 0,
    authorityRewrittenConnections: 0,
    ownHttp2Connections: 0,
  };
  private readonly registry: MethodRegistry;
  private readonly http: HttpRequestHandler;
  private readonly sessions = new Set<TrackedSession>();
  private readonly connections = new Set<H2Connection>();
  private readonly sockets = new Set<net.Socket>();
  private closing = false;

  constructor(options: ClientPortServerOptions) {
    this.registry = options.registry;
    this.logger = options.logger ?? nullLogger;
    this.limits = resolveServingLimits(options.limits);
    this.mapError = options.mapError;
    this.http = options.http ?? notFound;
    const limits = this.limits;
    this.h2 = http2.createServer({
      maxSessionMemory: limits.sessionMemoryMbMax,
      maxHeaderListPairs: 256,
      settings: {
        maxConcurrentStreams: limits.concurrentStreamsMax,
        initialWindowSize: limits.streamWindowBytes,
        maxHeaderListSize: limits.headerListBytesMax,
      },
    });
    this.h2.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) =>
      this.onStream(stream, headers, rawHeaders),
    );
    this.h2.on('session', (session: http2.ServerHttp2Session) => this.onSession(session));
    this.h2.on('sessionError', (err: Error) => this.logger.debug('http2 session error', { cause: err }));
    this.h1 = http.createServer({ requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => this.serveHttp(req, res));
    this.server = net.createServer((socket) => this.onConnection(socket));
    this.server.maxConnections = limits.connectionsMax;
  }

  /** listen binds the port (0: any) and resolves with the bound address. */
  listen(port: number, host = '127.0.0.1'): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  /**
   * close stops accepting connections, sends GOAWAY to every HTTP/2 connection so running calls
   * may finish, and after `graceMs` destroys whatever is left (running calls see CANCELLED).
   */
  close(graceMs = 2000): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const session of this.sessions) session.close();
    for (const connection of this.connections) connection.goaway();
    const timer = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, graceMs);
    // Idle HTTP/1.1 keep-alive sockets would hold close() open for the whole grace period.
    for (const socket of this.sockets) {
      if (!isHttp2Socket(socket)) socket.end();
    }
    return closed.finally(() => clearTimeout(timer));
  }

  /** callEnded is called by a GrpcCall once its stream closed. */
  callEnded(_call: GrpcCall): void {
    this.stats.grpcCallsActive--;
  }

  /**
   * onConnection reads the first bytes of a connection: the HTTP/2 client preface (gRPC clients
   * speak h2c with prior knowledge) goes to the HTTP/2 server, anything else to HTTP/1.1. The
   * bytes read are put back; node's HTTP/2 session takes buffered socket data on start. HTTP/2
   * connections are read on up to their first header block (sniffFirstHeaders): one whose
   * :authority nghttp2 would refuse (`http://host:port`, etcdctl) goes through the rewriting
   * AuthorityFixStream, any other is handed over as the raw socket.
   */
  private onConnection(socket: net.Socket): void {
    this.stats.connectionsAccepted++;
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', (err) => this.logger.debug('client connection error', { cause: err }));
    socket.setNoDelay(true);
    let seen: Buffer | undefined;
    const timer = setTimeout(() => socket.destroy(), prefaceTimeoutMs);
    const onData = (chunk: Buffer): void => {
      seen = seen === undefined ? chunk : Buffer.concat([seen, chunk]);
      const compared = Math.min(seen.length, h2Preface.length);
      const isH2Prefix = seen.subarray(0, compared).equals(h2Preface.subarray(0, compared));
      if (isH2Prefix && compared < h2Preface.length) return; // need more bytes to decide
      socket.off('data', onData);
      clearTimeout(timer);
      if (isH2Prefix) {
        const sniff = { idleMs: this.limits.sessionIdleMs, logger: this.logger, onIdleClose: () => this.stats.sessionsClosedIdle++ };
        sniffFirstHeaders(
          socket,
          seen,
          sniff,
          (connection, rewriting) => {
            (socket as { isHttp2?: boolean }).isHttp2 = true;
            if (rewriting) this.stats.authorityRewrittenConnections++;
            this.h2.emit('connection', connection);
          },
          (grpcSocket, bytes) => {
            (grpcSocket as { isHttp2?: boolean }).isHttp2 = true;
            this.openConnection(grpcSocket, bytes);
          },
        );
        return;
      }
      socket.pause();
      socket.unshift(seen);
      this.h1.emit('connection', socket);
      socket.resume();
    };
    socket.on('data', onData);
  }

  private onSession(session: TrackedSession): void {
    this.stats.sessionsOpened++;
    const state: SessionState = { openStreams: 0, pingTimer: undefined, pingPending: false };
    session[kSessionState] = state;
    this.sessions.add(session);
    if (this.closing) session.close();
    session.on('error', (err) => this.logger.debug('http2 session error', { cause: err }));
    session.on('ping', () => this.stats.pingsReceived++);
    session.once('close', () => {
      this.sessions.delete(session);
      if (state.pingTimer !== undefined) clearInterval(state.pingTimer);
    });
    session.once('connect', () => {
      try {
        session.setLocalWindowSize(this.limits.connectionWindowBytes);
      } catch (err) {
        this.logger.debug('http2 setLocalWindowSize failed', { cause: err });
      }
    });
    if (this.limits.sessionIdleMs > 0) {
      session.setTimeout(this.limits.sessionIdleMs, () => {
        if (state.openStreams === 0 && !session.closed) {
          this.stats.sessionsClosedIdle++;
          session.close();
        }
      });
    }
    const keepaliveMs = this.limits.keepaliveIntervalMs;
    if (keepaliveMs > 0) {
      state.pingTimer = setInterval(() => this.keepalivePing(session, state), keepaliveMs);
      state.pingTimer.unref();
    }
  }

  /** openConnection serves a connection whose first request is gRPC with Concord's own HTTP/2 framing. */
  private openConnection(socket: net.Socket, bytes: Buffer): void {
    this.stats.sessionsOpened++;
    this.stats.ownHttp2Connections++;
    const idleMs = this.limits.sessionIdleMs;
    let idleTimer: NodeJS.Timeout | undefined;
    let idleSinceMs = Date.now();
    const onIdleTimer = (): void => {
      idleTimer = undefined;
      if (connection.closed || connection.openStreams > 0) return; // re-armed when the last stream closes
      const idleForMs = Date.now() - idleSinceMs;
      if (idleForMs < idleMs) {
        idleTimer = setTimeout(onIdleTimer, idleMs - idleForMs).unref();
        return;
      }
      this.stats.sessionsClosedIdle++;
      connection.goaway();
    };
    const becameIdle = (): void => {
      idleSinceMs = Date.now();
      if (idleMs > 0 && idleTimer === undefined) idleTimer = setTimeout(onIdleTimer, idleMs).unref();
    };
    const connection = new H2Connection(socket, {
      limits: this.limits,
      logger: this.logger,
      onStream: (stream, headers) => this.onOwnStream(stream, headers),
      onPing: () => this.stats.pingsReceived++,
      onIdle: becameIdle,
    });
    this.connections.add(connection);
    if (this.closing) connection.goaway();
    becameIdle();
    let pingTimer: NodeJS.Timeout | undefined;
    const keepaliveMs = this.limits.keepaliveIntervalMs;
    if (keepaliveMs > 0) pingTimer = setInterval(() => this.keepalivePingOwn(connection), keepaliveMs).unref();
    connection.onClose(() => {
      this.connections.delete(connection);
      if (idleTimer !== undefined) clearTimeout(idleTimer);
      if (pingTimer !== undefined) clearInterval(pingTimer);
    });
    connection.start(bytes);
  }

  private keepalivePingOwn(connection: H2Connection): void {
    const timeout = this.keepaliveDeadline(() => connection.destroy());
    if (!connection.ping(() => clearTimeout(timeout))) clearTimeout(timeout);
  }

  /** keepaliveDeadline destroys a connection (`destroy`) whose keepalive PING is not acknowledged in time. */
  private keepaliveDeadline(destroy: () => void): NodeJS.Timeout {
    return setTimeout(() => {
      this.stats.sessionsClosedKeepalive++;
      this.logger.info('closing connection: keepalive ping not acknowledged', { timeoutMs: this.limits.keepaliveTimeoutMs });
      destroy();
    }, this.limits.keepaliveTimeoutMs).unref();
  }

  private onOwnStream(stream: H2Stream, headers: Metadata): void {
    if (!isGrpcContentType(headers['content-type'] as string | undefined)) {
      // As grpc-go answers a non-gRPC request on a gRPC connection.
      const contentType = String(headers['content-type'] ?? '');
      stream.trailersOnly({ ':status': 415, 'grpc-status': String(GrpcStatus.INVALID_ARGUMENT), 'grpc-message': `invalid gRPC request content-type "${contentType}"` });
      stream.stopReading();
      return;
    }
    this.serveGrpc(stream, headers);
  }

  private keepalivePing(session: TrackedSession, state: SessionState): void {
    if (state.pingPending || session.closed || session.destroyed) return;
    state.pingPending = true;
    const timeout = this.keepaliveDeadline(() => session.destroy());
    const sent = session.ping((err) => {
      clearTimeout(timeout);
      state.pingPending = false;
      if (err !== null) this.logger.debug('keepalive ping failed', { cause: err });
    });
    if (!sent) {
      clearTimeout(timeout);
      state.pingPending = false;
    }
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[]): void {
    const state = (stream.session as TrackedSession | undefined)?.[kSessionState];
    if (state !== undefined) {
      state.openStreams++;
      (stream as TrackedStream)[kSessionState] = state;
      stream.once('close', onTrackedStreamClose);
    }
    if (!isGrpcContentType(headers['content-type'])) {
      this.serveHttp(new http2.Http2ServerRequest(stream, headers, {}, rawHeaders), new http2.Http2ServerResponse(stream));
      return;
    }
    stream.on('error', ignoreStreamError);
    this.serveGrpc(new NodeCallTransport(stream), headers);
  }

  /** serveGrpc checks a gRPC request's headers and starts its call (or refuses it with a status). */
  private serveGrpc(transport: CallTransport, headers: Metadata): void {
    const path = String(headers[':path'] ?? '');
    if (headers[':method'] !== 'POST') {
      respondTrailersOnly(transport, GrpcStatus.UNIMPLEMENTED, `grpc: method ${String(headers[':method'] ?? '')} not allowed, use POST`);
      return;
    }
    const method = this.registry.lookup(path);
    if (method === undefined) {
      this.stats.grpcUnknownMethod++;
      respondTrailersOnly(transport, GrpcStatus.UNIMPLEMENTED, unknownMethodMessage(path));
      return;
    }
    const encoding = headers['grpc-encoding'];
    const gzip = encoding === 'gzip';
    if (encoding !== undefined && !gzip && encoding !== 'identity') {
      respondTrailersOnly(transport, GrpcStatus.UNIMPLEMENTED, `grpc: Decompressor is not installed for grpc-encoding "${String(encoding)}"`);
      return;
    }
    let timeoutMs: number | undefined;
    let deadlineMs: number | undefined;
    const timeoutHeader = headers['grpc-timeout'];
    if (timeoutHeader !== undefined) {
      timeoutMs = typeof timeoutHeader === 'string' ? parseGrpcTimeout(timeoutHeader) : undefined;
      if (timeoutMs === undefined) {
        respondTrailersOnly(transport, GrpcStatus.INTERNAL, `transport: malformed grpc-timeout: ${String(timeoutHeader)}`);
        return;
      }
      deadlineMs = Date.now() + timeoutMs;
    }
    this.stats.grpcCallsActive++;
    new GrpcCall(this, method, transport, headers, gzip, deadlineMs, timeoutMs);
  }

  private serveHttp(req: HttpRequest, res: HttpResponse): void {
    this.stats.httpRequests++;
    try {
      this.http(req, res);
    } catch (err) {
      this.logger.error('http handler failed', { url: req.url, cause: err });
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end('Internal Server Error\n');
      } else {
        res.destroy();
      }
    }
  }
}

function onTrackedStreamClose(this: TrackedStream): void {
  const state = this[kSessionState];
  if (state !== undefined) state.openStreams--;
}

function ignoreStreamError(): void {}

function notFound(_req: HttpRequest, res: HttpResponse): void {
  res.statusCode = 404;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end('404 page not found\n');
}

function isHttp2Socket(socket: net.Socket): boolean {
  return (socket as { isHttp2?: boolean }).isHttp2 === true;
}

/** prefaceTimeoutMs: a connection that sends no first bytes within this is closed. */
const prefaceTimeoutMs = 30_000;

/** unknownMethodMessage is grpc-go's text for an unregistered path. */
export function unknownMethodMessage(path: string): string {
  const slash = path.lastIndexOf('/');
  if (slash <= 0) return `malformed method name: "${path}"`;
  return `unknown method ${path.slice(slash + 1)} for service ${path.slice(1, slash)}`;
}
