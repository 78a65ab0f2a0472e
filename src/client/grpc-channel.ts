/**
 * GrpcChannel is gRPC over node:http2 to one endpoint: HTTP/2 cleartext with prior knowledge,
 * one session reused by every call, re-dialed after it fails. It carries unary, server-streaming
 * and bidirectional calls; the caller (EndpointPool) decides retries and failover.
 *
 * Every failure is a ConcordClientError whose `sent` detail (see CallFailure) says whether the
 * request may have reached the server, which is what decides if a write may be retried.
 */
import http2 from 'node:http2';
import { ClientErrorCode, ConcordClientError, errorFromStatus } from './errors.js';

/** Metadata is gRPC request metadata (lower-case ASCII names). */
export type Metadata = Readonly<Record<string, string>>;

/** CallOptions apply to one call. */
export interface CallOptions {
  /** timeoutMs bounds the call; sent as `grpc-timeout` so the server gives up too. */
  readonly timeoutMs?: number;
  readonly metadata?: Metadata;
  readonly signal?: AbortSignal;
}

/**
 * CallFailure is a transport-level failure. `sent: false` means the request certainly did not
 * reach the server (no connection, stream refused), so even a write may be retried elsewhere.
 */
export class CallFailure extends ConcordClientError {
  override name = 'CallFailure';
  constructor(code: ClientErrorCode, message: string, readonly sent: boolean, endpoint: string, cause?: unknown) {
    super(code, message, cause === undefined ? { endpoint } : { endpoint, cause });
  }
}

/** GRPC_FRAME_BYTES_MAX bounds one received message (etcd's default max receive size is larger; ours is 16 MiB). */
export const GRPC_FRAME_BYTES_MAX = 16 * 1024 * 1024;

/** PING_INTERVAL_MS is how often a session with open streams is pinged; no answer within PING_TIMEOUT_MS drops it. */
export const PING_INTERVAL_MS = 2_000;
export const PING_TIMEOUT_MS = 3_000;

/** GrpcChannel is the connection to one endpoint (`http://host:port`). */
export class GrpcChannel {
  private session: http2.ClientHttp2Session | undefined;
  private connecting: Promise<http2.ClientHttp2Session> | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(readonly endpoint: string, private readonly dialTimeoutMs: number) {}

  /** connect returns a connected session, dialing if needed. Rejects with CallFailure (sent: false). */
  connect(): Promise<http2.ClientHttp2Session> {
    if (this.closed) return Promise.reject(new CallFailure(ClientErrorCode.Closed, 'client closed', false, this.endpoint));
    const s = this.session;
    if (s && !s.closed && !s.destroyed && s.socket !== undefined) return Promise.resolve(s);
    this.connecting ??= this.dial().finally(() => { this.connecting = undefined; });
    return this.connecting;
  }

  private dial(): Promise<http2.ClientHttp2Session> {
    return new Promise((resolve, reject) => {
      const session = http2.connect(this.endpoint);
      const timer = setTimeout(() => fail(new Error(`dial timeout after ${this.dialTimeoutMs} ms`)), this.dialTimeoutMs);
      const fail = (error: Error): void => {
        clearTimeout(timer);
        session.destroy();
        reject(new CallFailure(ClientErrorCode.Unavailable, `cannot connect to ${this.endpoint}: ${error.message}`, false, this.endpoint, error));
      };
      session.once('error', fail);
      session.once('connect', () => {
        clearTimeout(timer);
        session.off('error', fail);
        session.on('error', () => this.drop(session));
        session.once('close', () => this.drop(session));
        session.once('goaway', () => this.drop(session));
        if (this.closed) {
          session.destroy();
          reject(new CallFailure(ClientErrorCode.Closed, 'client closed', false, this.endpoint));
          return;
        }
        this.session = session;
        this.startPings(session);
        resolve(session);
      });
    });
  }

  /** Pings detect a peer that stopped answering without closing the socket (SIGSTOP, a partition). */
  private startPings(session: http2.ClientHttp2Session): void {
    clearInterval(this.pingTimer);
    let outstanding = false;
    this.pingTimer = setInterval(() => {
      if (session !== this.session || session.destroyed) return;
      if (outstanding) return;
      outstanding = true;
      const deadline = setTimeout(() => {
        this.drop(session, new Error(`no ping answer within ${PING_TIMEOUT_MS} ms`));
      }, PING_TIMEOUT_MS);
      try {
        session.ping((err) => {
          outstanding = false;
          clearTimeout(deadline);
          if (err) this.drop(session, err);
        });
      } catch (error) {
        clearTimeout(deadline);
        this.drop(session, error as Error);
      }
    }, PING_INTERVAL_MS);
    this.pingTimer.unref();
  }

  /** drop forgets a failed session; its streams see the failure and the next call dials again. */
  drop(session: http2.ClientHttp2Session, error?: Error): void {
    if (this.session === session) {
      this.session = undefined;
      clearInterval(this.pingTimer);
      this.pingTimer = undefined;
    }
    if (!session.destroyed) session.destroy(error);
  }

  /** close ends every call and the session; later calls fail with CONCORD_CLIENT_CLOSED. */
  close(): void {
    this.closed = true;
    if (this.session) this.drop(this.session);
  }

  /** open starts a call: it connects, sends the headers and returns the raw call. */
  async open(path: string, options: CallOptions, endStream: boolean, firstFrame?: Uint8Array): Promise<RawCall> {
    const session = await this.connect();
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...options.metadata,
    };
    if (options.timeoutMs !== undefined) headers['grpc-timeout'] = grpcTimeout(options.timeoutMs);
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(headers, { endStream: false });
    } catch (error) {
      this.drop(session);
      throw new CallFailure(ClientErrorCode.Unavailable, `cannot start a call on ${this.endpoint}: ${(error as Error).message}`, false, this.endpoint, error);
    }
    const call = new RawCall(stream, this.endpoint, path, options);
    if (firstFrame) call.write(firstFrame);
    if (endStream) call.end();
    return call;
  }
}

/**
 * RawCall is one gRPC call on an HTTP/2 stream: it writes frames, deframes responses into a
 * queue and ends with the status from the trailers (or headers, for a trailers-only answer).
 */
export class RawCall {
  private readonly queue: Uint8Array[] = [];
  private pending: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private failure: ConcordClientError | undefined;
  private done = false;
  private gotResponse = false;
  private status: { code: number; message: string } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly onAbort: () => void;

  constructor(private readonly stream: http2.ClientHttp2Stream, readonly endpoint: string, private readonly path: string, private readonly options: CallOptions) {
    stream.on('response', (headers) => {
      this.gotResponse = true;
      const status = headers[':status'];
      if (status !== 200) {
        this.fail(new ConcordClientError(ClientErrorCode.Protocol, `${endpoint}${path}: HTTP status ${String(status)}`, { endpoint }));
        return;
      }
      if (headers['grpc-status'] !== undefined) this.status = statusOf(headers);
    });
    stream.on('trailers', (trailers) => { this.status = statusOf(trailers); });
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', (error) => this.onStreamEnd(error));
    stream.on('close', () => this.onStreamEnd(undefined));
    if (options.timeoutMs !== undefined) {
      this.timer = setTimeout(() => {
        this.fail(new CallFailure(ClientErrorCode.Timeout, `${path} on ${endpoint}: no answer within ${options.timeoutMs} ms`, true, endpoint));
        stream.close(http2.constants.NGHTTP2_CANCEL);
      }, options.timeoutMs);
    }
    this.onAbort = () => {
      this.fail(new ConcordClientError(ClientErrorCode.Aborted, `${path}: aborted`, { endpoint, cause: options.signal?.reason }));
      stream.close(http2.constants.NGHTTP2_CANCEL);
    };
    if (options.signal?.aborted) queueMicrotask(this.onAbort);
    else options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** write sends one length-prefixed message. */
  write(frame: Uint8Array): void {
    if (!this.done && !this.stream.destroyed && this.stream.writable) this.stream.write(frame);
  }

  /** end half-closes the request side. */
  end(): void {
    if (!this.stream.destroyed && this.stream.writable) this.stream.end();
  }

  /** cancel ends the call from the client side (RST_STREAM CANCEL). */
  cancel(): void {
    // The call is over for its owner: stop listening on its signal now, not when the stream's
    // 'close' comes (a stream on a connection to an unreachable member closes only when the
    // connection is dropped, and a lease's keep-alive retries would pile listeners up meanwhile).
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.fail(new ConcordClientError(ClientErrorCode.Aborted, `${this.path}: canceled by the client`, { endpoint: this.endpoint }));
    if (!this.stream.destroyed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }

  /**
   * next resolves with the next response message, or undefined when the call ended with status
   * OK; it rejects with the call's error (server status or transport failure).
   */
  async next(): Promise<Uint8Array | undefined> {
    for (;;) {
      const message = this.queue.shift();
      if (message) return message;
      if (this.failure) throw this.failure;
      if (this.done) return undefined;
      await new Promise<void>((resolve) => { this.waiter = resolve; });
    }
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 5) {
      const compressed = this.pending[0]!;
      const length = this.pending.readUInt32BE(1);
      if (compressed !== 0 || length > GRPC_FRAME_BYTES_MAX) {
        this.fail(new ConcordClientError(ClientErrorCode.Protocol, `${this.endpoint}${this.path}: bad gRPC frame (compressed ${compressed}, ${length} bytes)`, { endpoint: this.endpoint }));
        this.stream.close(http2.constants.NGHTTP2_PROTOCOL_ERROR);
        return;
      }
      if (this.pending.length < 5 + length) break;
      this.queue.push(new Uint8Array(this.pending.subarray(5, 5 + length)));
      this.pending = this.pending.subarray(5 + length);
    }
    this.wake();
  }

  private onStreamEnd(error: Error | undefined): void {
    if (this.done) return;
    clearTimeout(this.timer);
    this.options.signal?.removeEventListener('abort', this.onAbort);
    if (!this.failure) {
      if (this.status) {
        if (this.status.code !== 0) this.failure = errorFromStatus(this.status.code, this.status.message, this.endpoint);
      } else {
        const refused = this.stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM && !this.gotResponse;
        const why = error?.message ?? `stream closed (code ${this.stream.rstCode ?? 'none'}) without a gRPC status`;
        this.failure = new CallFailure(ClientErrorCode.Unavailable, `${this.path} on ${this.endpoint}: ${why}`, !refused, this.endpoint, error);
      }
    }
    this.done = true;
    this.wake();
  }

  private fail(error: ConcordClientError): void {
    if (this.failure || this.done) return;
    this.failure = error;
    this.wake();
  }
}

function statusOf(headers: http2.IncomingHttpHeaders): { code: number; message: string } {
  const raw = headers['grpc-status'];
  const code = Number(Array.isArray(raw) ? raw[0] : raw);
  const msg = headers['grpc-message'];
  const message = typeof msg === 'string' ? decodeGrpcMessage(msg) : '';
  return { code: Number.isInteger(code) ? code : 2, message };
}

function decodeGrpcMessage(message: string): string {
  if (!message.includes('%')) return message;
  try {
    return decodeURIComponent(message);
  } catch {
    return message;
  }
}

/** grpcTimeout formats a `grpc-timeout` value (at most 8 digits, so long waits go in seconds or hours). */
export function grpcTimeout(ms: number): string {
  const whole = Math.max(1, Math.ceil(ms));
  if (whole < 1e8) return `${whole}m`;
  const seconds = Math.ceil(whole / 1000);
  return seconds < 1e8 ? `${seconds}S` : `${Math.min(99_999_999, Math.ceil(seconds / 3600))}H`;
}
