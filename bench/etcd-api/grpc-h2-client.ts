import http2 from 'node:http2';
import net from 'node:net';

/**
 * A minimal gRPC client over node:http2 for the benchmark's load generator: a few HTTP/2
 * connections to one endpoint, many concurrent calls multiplexed over them, gRPC framing done by
 * hand (5-byte prefix, `content-type: application/grpc`, `te: trailers`, `grpc-status` read from
 * the trailers or from a trailers-only response). It does only what the benchmark needs (unary
 * calls and a bidi stream for Watch, no TLS, no compression, no retries), so that a call costs the
 * client far less CPU than @grpc/grpc-js would and the client is not what is measured.
 */

/** GrpcCallError is a call that ended with a non-OK `grpc-status`, or a transport failure (`code` -1). */
export class GrpcCallError extends Error {
  readonly code: number;
  constructor(code: number, message: string, options?: { cause?: unknown }) {
    super(`grpc ${code}: ${message}`, options);
    this.name = 'GrpcCallError';
    this.code = code;
  }
}

/** GRPC_CODE_TRANSPORT is the code of a GrpcCallError raised by a broken stream or connection. */
export const GRPC_CODE_TRANSPORT = -1;

const PREFIX_BYTES = 5;
/**
 * Receive windows: what grpc-go's clients (etcd's clientv3, etcdctl) grow theirs to by BDP
 * estimation. Node's default of 64 KiB would make every large answer (a range of 1,000 keys is
 * ≈ 280 KB) wait for about nine WINDOW_UPDATE round trips, and the generator's CPU go to them.
 */
const STREAM_WINDOW_BYTES = 1 << 20;
const CONNECTION_WINDOW_BYTES = 8 << 20;

const headersByPath = new Map<string, http2.OutgoingHttpHeaders>();
function headersFor(path: string): http2.OutgoingHttpHeaders {
  let headers = headersByPath.get(path);
  if (headers === undefined) {
    headers = Object.freeze({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    headersByPath.set(path, headers);
  }
  return headers;
}

/** StreamHandler receives the messages and the end of a streaming call. */
export interface StreamHandler {
  /** onMessage gets each response message (a view; copy to keep). */
  onMessage(bytes: Uint8Array): void;
  /** onEnd is called once: `error` undefined when the server ended the call with OK. */
  onEnd(error: GrpcCallError | undefined): void;
}

/** ClientStream is an open streaming call: write framed messages, then end or cancel it. */
export interface ClientStream {
  write(frame: Uint8Array): void;
  /** cancel resets the stream (RST_STREAM CANCEL). */
  cancel(): void;
}

/**
 * GrpcEndpointClient owns `connectionCount` HTTP/2 connections to one endpoint and spreads calls
 * over them round-robin. Not thread-shared; one per endpoint per load generator.
 */
export class GrpcEndpointClient {
  private readonly sessions: http2.ClientHttp2Session[];
  private nextSession = 0;

  private constructor(readonly authority: string, sessions: http2.ClientHttp2Session[]) {
    this.sessions = sessions;
  }

  /** connect opens the connections and waits until every one is established. */
  static async connect(host: string, port: number, connectionCount: number): Promise<GrpcEndpointClient> {
    const authority = `http://${host}:${port}`;
    const sessions = await Promise.all(Array.from({ length: connectionCount }, () => openSession(authority, host, port)));
    return new GrpcEndpointClient(authority, sessions);
  }

  private session(): http2.ClientHttp2Session {
    const session = this.sessions[this.nextSession]!;
    this.nextSession = (this.nextSession + 1) % this.sessions.length;
    return session;
  }

  /**
   * unary sends one framed request (from `codec.encodeFrame`) on `path` and resolves with the
   * response message bytes (without the prefix); rejects with a GrpcCallError.
   */
  unary(path: string, frame: Uint8Array): Promise<Uint8Array> {
    const session = this.session();
    return new Promise<Uint8Array>((resolve, reject) => {
      let stream: http2.ClientHttp2Stream;
      try {
        stream = session.request(headersFor(path));
      } catch (error) {
        reject(new GrpcCallError(GRPC_CODE_TRANSPORT, 'cannot open stream', { cause: error }));
        return;
      }
      let body: Buffer | undefined;
      let chunks: Buffer[] | undefined;
      let status: string | undefined;
      let statusMessage: string | undefined;
      stream.on('response', (headers) => {
        const s = headers['grpc-status'];
        if (s !== undefined) { // trailers-only response
          status = String(s);
          statusMessage = headers['grpc-message'] === undefined ? '' : String(headers['grpc-message']);
        }
      });
      stream.on('trailers', (trailers) => {
        status = trailers['grpc-status'] === undefined ? undefined : String(trailers['grpc-status']);
        statusMessage = trailers['grpc-message'] === undefined ? '' : String(trailers['grpc-message']);
      });
      stream.on('data', (chunk: Buffer) => {
        if (body === undefined) body = chunk;
        else (chunks ??= [body]).push(chunk);
      });
      stream.on('error', () => { /* 'close' follows and reports */ });
      stream.on('close', () => {
        if (status === '0') {
          const all = chunks === undefined ? body : Buffer.concat(chunks);
          if (all === undefined || all.length < PREFIX_BYTES || all.readUInt32BE(1) !== all.length - PREFIX_BYTES) {
            reject(new GrpcCallError(13, 'bad response framing'));
          } else {
            resolve(all.subarray(PREFIX_BYTES));
          }
        } else if (status !== undefined) {
          reject(new GrpcCallError(Number(status), decodeURIComponentSafe(statusMessage ?? '')));
        } else {
          reject(new GrpcCallError(GRPC_CODE_TRANSPORT, `stream closed without grpc-status (rst code ${stream.rstCode ?? '?'})`));
        }
      });
      stream.end(frame);
    });
  }

  /** stream opens a streaming call on `path`; `handler` gets every response message and the end. */
  stream(path: string, handler: StreamHandler): ClientStream {
    const stream = this.session().request(headersFor(path));
    const deframer = new ResponseDeframer();
    let status: string | undefined;
    let statusMessage = '';
    stream.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) {
        status = String(headers['grpc-status']);
        statusMessage = String(headers['grpc-message'] ?? '');
      }
    });
    stream.on('trailers', (trailers) => {
      status = trailers['grpc-status'] === undefined ? undefined : String(trailers['grpc-status']);
      statusMessage = String(trailers['grpc-message'] ?? '');
    });
    stream.on('data', (chunk: Buffer) => deframer.push(chunk, handler));
    stream.on('error', () => { /* 'close' follows */ });
    stream.on('close', () => {
      if (status === '0') handler.onEnd(undefined);
      else if (status !== undefined) handler.onEnd(new GrpcCallError(Number(status), decodeURIComponentSafe(statusMessage)));
      else handler.onEnd(new GrpcCallError(GRPC_CODE_TRANSPORT, `stream closed without grpc-status (rst code ${stream.rstCode ?? '?'})`));
    });
    return {
      write: (frame) => { stream.write(frame); },
      cancel: () => { stream.close(http2.constants.NGHTTP2_CANCEL); },
    };
  }

  /** close ends every connection at once; calls still running fail with a transport error. */
  close(): void {
    for (const session of this.sessions) session.destroy();
  }
}

function openSession(authority: string, host: string, port: number): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(authority, {
      settings: { enablePush: false, initialWindowSize: STREAM_WINDOW_BYTES },
      createConnection: () => net.connect({ host, port, noDelay: true }),
    });
    const onError = (error: Error): void => reject(error);
    session.once('error', onError);
    session.once('connect', () => {
      session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
      session.off('error', onError);
      session.on('error', () => { /* streams report their own failure */ });
      resolve(session);
    });
  });
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** ResponseDeframer splits a response body into gRPC messages across chunk boundaries. */
class ResponseDeframer {
  private pending: Buffer | undefined;

  push(chunk: Buffer, handler: StreamHandler): void {
    let buf = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    let offset = 0;
    while (buf.length - offset >= PREFIX_BYTES) {
      const messageBytes = buf.readUInt32BE(offset + 1);
      if (buf.length - offset - PREFIX_BYTES < messageBytes) break;
      handler.onMessage(buf.subarray(offset + PREFIX_BYTES, offset + PREFIX_BYTES + messageBytes));
      offset += PREFIX_BYTES + messageBytes;
    }
    if (offset < buf.length) {
      buf = buf.subarray(offset);
      this.pending = Buffer.from(buf); // copy: the chunk's memory is not ours to keep
    }
  }
}
