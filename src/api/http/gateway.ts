import type { Logger } from '../../lib/logger.js';
import { canceledMessage, deadlineMessage } from '../grpc/grpc-call.js';
import type { HttpRequest, HttpResponse } from '../grpc/grpc-server.js';
import type { ServingLimits } from '../grpc/limits.js';
import type { Metadata, MethodBinding, ResponseStream } from '../grpc/method.js';
import { RequestQueue } from '../grpc/request-queue.js';
import { GrpcError, GrpcStatus, type GrpcStatusCode } from '../grpc/status.js';
import { parseGrpcTimeout } from '../grpc/timeout.js';
import { httpStatusFromGrpc, streamErrorChunk, unaryErrorBody } from './gateway-errors.js';
import type { HttpRouter } from './http-router.js';
import { JsonValueSplitter } from './json-splitter.js';

/**
 * JsonCodec is the JSON form of one method for the gateway, provided by the codec layer with
 * etcd's conventions (int64 as strings, bytes as base64, zero values omitted, enum names).
 * `decodeJson` gets the raw text of one request object (`{}` for an empty body) so 64-bit
 * numbers are never squeezed through a JS number; a throw becomes INVALID_ARGUMENT.
 */
export interface JsonCodec<Req, Res> {
  decodeJson(json: string): Req;
  encodeJson(response: Res): string;
}

/** GatewayOptions are shared by every gateway route. */
export interface GatewayOptions {
  readonly limits: ServingLimits;
  readonly logger: Logger;
  readonly mapError?: ((err: unknown) => GrpcError | undefined) | undefined;
}

/**
 * addGatewayRoute serves `binding` (the same handler the gRPC server runs) at `POST httpPath`
 * with JSON bodies, as grpc-gateway v1 does for etcd: unary → one JSON body; streaming responses
 * → chunked `{"result":...}` lines; streaming requests → concatenated JSON objects in the body.
 */
export function addGatewayRoute<Req, Res>(
  router: HttpRouter,
  httpPath: string,
  binding: MethodBinding<Req, Res>,
  codec: JsonCodec<Req, Res>,
  options: GatewayOptions,
): void {
  router.route('POST', httpPath, (req, res) => {
    new GatewayCall(req, res, binding as MethodBinding, codec as JsonCodec<unknown, unknown>, options).start();
  });
}

const RESOLVED: Promise<void> = Promise.resolve();
const streamHeaders = { 'content-type': 'application/json' } as const;

/**
 * GatewayCall runs one gateway request through a handler; it implements the same
 * ResponseStream the gRPC server gives handlers. One per request; Done once a response ended.
 */
class GatewayCall implements ResponseStream<unknown> {
  readonly transport = 'gateway' as const;
  readonly path: string;
  readonly metadata: Metadata;
  readonly deadlineMs: number | undefined;
  requestBytes = 0;
  private done = false;
  private streaming: boolean;
  private controller: AbortController | undefined;
  private abortReason: GrpcError | undefined;
  private timer: NodeJS.Timeout | undefined;
  private queue: RequestQueue<unknown> | undefined;
  private drainWaiters: (() => void)[] = [];

  constructor(
    private readonly req: HttpRequest,
    private readonly res: HttpResponse,
    private readonly binding: MethodBinding,
    private readonly codec: JsonCodec<unknown, unknown>,
    private readonly options: GatewayOptions,
  ) {
    this.path = binding.def.path;
    this.metadata = req.headers;
    this.streaming = binding.kind === 'server-stream' || binding.kind === 'bidi';
    const timeout = req.headers['grpc-timeout'];
    const timeoutMs = typeof timeout === 'string' ? parseGrpcTimeout(timeout) : undefined;
    this.deadlineMs = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    if (timeoutMs !== undefined) {
      this.timer = setTimeout(() => this.fail(new GrpcError(GrpcStatus.DEADLINE_EXCEEDED, deadlineMessage)), timeoutMs);
    }
    res.on('close', () => {
      if (!this.done) this.cancel(new GrpcError(GrpcStatus.CANCELLED, canceledMessage));
    });
    res.on('drain', () => {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    });
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  get ended(): boolean {
    return this.done;
  }

  setHeader(name: string, value: string): void {
    if (!this.res.headersSent) this.res.setHeader(`grpc-metadata-${name.toLowerCase()}`, value);
  }

  setTrailer(_name: string, _value: string): void {
    // grpc-gateway sends trailers only to clients that ask for them (TE: trailers); not supported.
  }

  start(): void {
    const kind = this.binding.kind;
    if (kind === 'client-stream' || kind === 'bidi') {
      this.queue = new RequestQueue(this.options.limits.requestQueueMessagesMax, (paused) => {
        if (paused) this.req.pause();
        else this.req.resume();
      });
      this.readStream(this.queue);
      this.run(this.queue);
    } else {
      this.readWhole();
    }
  }

  send(message: unknown): Promise<void> {
    if (this.done) return Promise.reject(this.abortReason ?? new GrpcError(GrpcStatus.CANCELLED, 'grpc: the call has ended'));
    let json: string;
    try {
      json = this.codec.encodeJson(message);
    } catch (err) {
      this.fail(new GrpcError(GrpcStatus.INTERNAL, `failed to marshal response: ${(err as Error).message}`, { cause: err }));
      return Promise.reject(this.abortReason);
    }
    if (!this.res.headersSent) this.res.writeHead(200, streamHeaders);
    if ((this.res.write as (chunk: string) => boolean)(`{"result":${json}}\n`)) return RESOLVED;
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  end(error?: GrpcError): void {
    if (error !== undefined) {
      this.fail(error);
      return;
    }
    if (this.done) return;
    this.finish();
    if (!this.res.headersSent && this.streaming) this.res.writeHead(200, streamHeaders);
    this.res.end();
  }

  private readWhole(): void {
    const max = this.options.limits.receiveMessageBytesMax;
    const chunks: Buffer[] = [];
    let total = 0;
    this.req.on('data', (chunk: Buffer) => {
      if (this.done) return;
      total += chunk.length;
      if (total > max) {
        this.res.setHeader('connection', 'close');
        this.fail(new GrpcError(GrpcStatus.RESOURCE_EXHAUSTED, `grpc: received message larger than max (${total} vs. ${max})`));
        return;
      }
      chunks.push(chunk);
    });
    this.req.on('end', () => {
      if (this.done) return;
      this.requestBytes = total;
      const text = Buffer.concat(chunks).toString('utf8');
      const request = this.decode(text.trim() === '' ? '{}' : text);
      if (request !== undefined) this.run(request.value);
    });
    this.req.on('error', () => {});
  }

  private readStream(queue: RequestQueue<unknown>): void {
    const splitter = new JsonValueSplitter(this.options.limits.receiveMessageBytesMax);
    this.req.setEncoding('utf8');
    this.req.on('data', (text: string) => {
      if (this.done) return;
      const error = splitter.push(text, (json) => {
        this.requestBytes = json.length;
        const request = this.decode(json);
        if (request !== undefined) queue.push(request.value);
      });
      if (error !== undefined) this.fail(new GrpcError(GrpcStatus.INVALID_ARGUMENT, error));
    });
    this.req.on('end', () => {
      if (this.done) return;
      if (splitter.midValue) this.fail(new GrpcError(GrpcStatus.INVALID_ARGUMENT, 'unexpected EOF'));
      else queue.close();
    });
    this.req.on('error', () => {});
  }

  private decode(json: string): { value: unknown } | undefined {
    try {
      return { value: this.codec.decodeJson(json) };
    } catch (err) {
      this.fail(err instanceof GrpcError ? err : new GrpcError(GrpcStatus.INVALID_ARGUMENT, (err as Error).message, { cause: err }));
      return undefined;
    }
  }

  private run(request: unknown): void {
    const binding = this.binding;
    let result: unknown;
    try {
      result = binding.handler(request as never, this);
    } catch (err) {
      this.fail(err);
      return;
    }
    const unaryResponse = binding.kind === 'unary' || binding.kind === 'client-stream';
    Promise.resolve(result).then(
      (response) => (unaryResponse ? this.respondUnary(response) : this.end()),
      (err) => this.fail(err),
    );
  }

  private respondUnary(response: unknown): void {
    if (this.done) return;
    let json: string;
    try {
      json = this.codec.encodeJson(response);
    } catch (err) {
      this.fail(new GrpcError(GrpcStatus.INTERNAL, `failed to marshal response: ${(err as Error).message}`, { cause: err }));
      return;
    }
    this.finish();
    this.res.writeHead(200, streamHeaders);
    this.res.end(json);
  }

  private fail(err: unknown): void {
    if (this.done) return;
    let status = err instanceof GrpcError ? err : this.options.mapError?.(err);
    if (status === undefined) {
      this.options.logger.error('gateway handler failed', { method: this.path, cause: err });
      status = new GrpcError(GrpcStatus.UNKNOWN, err instanceof Error ? err.message : String(err), { cause: err });
    }
    this.finish(status);
    const code: GrpcStatusCode = status.code;
    if (this.streaming && this.res.headersSent) {
      this.res.end(streamErrorChunk(code, status.message));
    } else if (this.streaming) {
      this.res.writeHead(httpStatusFromGrpc(code), streamHeaders);
      this.res.end(streamErrorChunk(code, status.message));
    } else {
      this.res.writeHead(httpStatusFromGrpc(code), streamHeaders);
      this.res.end(unaryErrorBody(code, status.message));
    }
  }

  private cancel(reason: GrpcError): void {
    this.finish(reason);
  }

  private finish(reason?: GrpcError): void {
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
    if (reason === undefined || reason.code === GrpcStatus.OK) {
      this.queue?.fail(new GrpcError(GrpcStatus.CANCELLED, 'grpc: the call has ended'));
      return;
    }
    this.abortReason = reason;
    this.queue?.fail(reason);
    this.controller?.abort(reason);
  }
}
