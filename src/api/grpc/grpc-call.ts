import zlib from 'node:zlib';
import type { Logger } from '../../lib/logger.js';
import { grpcOkTrailers, type CallTransport, type TransportSink } from './call-transport.js';
import { MessageDeframer, messagePrefixBytes, type MessageSink } from './deframer.js';
import type { ServingLimits } from './limits.js';
import type { Metadata, ResponseStream } from './method.js';
import type { RegisteredMethod } from './method-registry.js';
import { RequestQueue } from './request-queue.js';
import { GrpcError, GrpcStatus, encodeGrpcMessage, type GrpcStatusCode } from './status.js';

/** CallHost is what a call needs from its server: limits, logging, error mapping, accounting. */
export interface CallHost {
  readonly limits: ServingLimits;
  readonly logger: Logger;
  /** mapError turns a non-GrpcError thrown by a handler into a status (e.g. ConcordError → etcd's). */
  readonly mapError: ((err: unknown) => GrpcError | undefined) | undefined;
  readonly stats: { grpcCompressedMessages: number };
  callEnded(call: GrpcCall): void;
}

const RESOLVED: Promise<void> = Promise.resolve();
const statusStrings: readonly string[] = Array.from({ length: 17 }, (_, i) => String(i));


/** canceledReason / deadlineReason mirror Go's context errors, which etcd reports as-is. */
export const canceledMessage = 'context canceled';
export const deadlineMessage = 'context deadline exceeded';

/** Phase of a call; transitions only forward. */
const Phase = { Receiving: 0, Running: 1, Done: 2 } as const;
type Phase = (typeof Phase)[keyof typeof Phase];

const noRequest: unique symbol = Symbol('noRequest');

/**
 * respondTrailersOnly ends a stream at once with a status and no messages (the gRPC
 * "Trailers-Only" response): used for unknown methods and refusals before any handler runs.
 */
export function respondTrailersOnly(transport: CallTransport, code: GrpcStatusCode, message: string): void {
  if (transport.gone || transport.headersSent) return;
  transport.trailersOnly(message === '' ? { 'grpc-status': statusStrings[code]! } : { 'grpc-status': statusStrings[code]!, 'grpc-message': encodeGrpcMessage(message) });
  // The client may still be sending; stop it once the status is out.
  transport.stopReading();
}

/**
 * GrpcCall is the server side of one gRPC call on one HTTP/2 stream: it deframes and decodes the
 * request messages, runs the handler, frames responses with backpressure, and sends exactly one
 * status. Owned by the GrpcServer; lives until the stream closes.
 *
 * Order: request headers → (messages → handler) → response headers → messages → trailers. A
 * status decided before any response message goes out as a trailers-only response. The call is
 * `Done` once its status is decided (sent, or the stream is gone); after that, handler results
 * are ignored, sends reject, and late request data is dropped.
 */
export class GrpcCall implements ResponseStream<unknown>, MessageSink, TransportSink {
  readonly transport = 'grpc' as const;
  readonly path: string;
  requestBytes = 0;

  private phase: Phase = Phase.Receiving;
  private readonly deframer: MessageDeframer;
  private request: unknown = noRequest;
  private queue: RequestQueue<unknown> | undefined;
  private controller: AbortController | undefined;
  private abortReason: GrpcError | undefined;
  private timer: NodeJS.Timeout | undefined;
  private userHeaders: Record<string, string> | undefined;
  private userTrailers: Record<string, string> | undefined;
  private drain: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | undefined;
  /** startedAtMs is when the call's stream opened (performance.now()), for its handling time. */
  private readonly startedAtMs: number;
  /** statusCode is the final status once Done (for tests and logs). */
  statusCode: GrpcStatusCode | undefined;

  constructor(
    private readonly host: CallHost,
    private readonly method: RegisteredMethod,
    private readonly h2: CallTransport,
    readonly metadata: Metadata,
    private readonly gzip: boolean,
    readonly deadlineMs: number | undefined,
    timeoutMs: number | undefined,
  ) {
    this.path = method.binding.def.path;
    this.deframer = new MessageDeframer(host.limits.receiveMessageBytesMax);
    method.stats.started++;
    this.startedAtMs = performance.now();
    h2.bind(this);
    if (timeoutMs !== undefined) this.timer = setTimeout(onDeadline, timeoutMs, this);
    const kind = method.binding.kind;
    if (kind === 'client-stream' || kind === 'bidi') {
      this.queue = new RequestQueue(host.limits.requestQueueMessagesMax, (paused) => {
        if (paused) h2.pause();
        else h2.resume();
      });
      this.run(this.queue);
    }
  }

  // ---- CallContext ----

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  get ended(): boolean {
    return this.phase === Phase.Done;
  }

  setHeader(name: string, value: string): void {
    if (this.h2.headersSent) return;
    (this.userHeaders ??= {})[name.toLowerCase()] = value;
  }

  setTrailer(name: string, value: string): void {
    (this.userTrailers ??= {})[name.toLowerCase()] = value;
  }

  // ---- ResponseStream ----

  send(message: unknown): Promise<void> {
    if (this.phase === Phase.Done) return Promise.reject(this.abortReason ?? new GrpcError(GrpcStatus.CANCELLED, 'grpc: the call has ended'));
    if (this.h2.gone) {
      const gone = new GrpcError(GrpcStatus.CANCELLED, 'context canceled');
      this.finish(GrpcStatus.CANCELLED, gone.message, gone);
      return Promise.reject(gone);
    }
    const frame = this.encode(message);
    if (frame === undefined) return Promise.reject(this.abortReason);
    this.method.stats.messagesSent++;
    try {
      this.h2.sendHeaders(this.userHeaders);
      if (this.h2.write(frame)) return RESOLVED;
    } catch (err) {
      const gone = new GrpcError(GrpcStatus.CANCELLED, 'context canceled', { cause: err });
      this.finish(GrpcStatus.CANCELLED, gone.message, gone);
      return Promise.reject(gone);
    }
    if (this.drain === undefined) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.drain = { promise, resolve, reject };
    }
    return this.drain.promise;
  }

  end(error?: GrpcError): void {
    if (error === undefined) this.finish(GrpcStatus.OK, '');
    else this.finish(error.code, error.message);
  }

  // ---- transport events ----

  onData(chunk: Buffer): void {
    if (this.phase === Phase.Done) return;
    const error = this.deframer.push(chunk, this);
    if (error !== undefined) this.finishWith(error);
  }

  onMessage(compressed: boolean, bytes: Uint8Array): void {
    if (this.phase === Phase.Done) return;
    this.method.stats.messagesReceived++;
    let plain = bytes;
    if (compressed) {
      this.host.stats.grpcCompressedMessages++;
      if (!this.gzip) {
        this.finishWith(new GrpcError(GrpcStatus.INTERNAL, 'grpc: compressed flag set with identity or empty encoding'));
        return;
      }
      const max = this.host.limits.receiveMessageBytesMax;
      try {
        plain = zlib.gunzipSync(bytes, { maxOutputLength: max });
      } catch (err) {
        const tooLarge = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
        this.finishWith(
          tooLarge
            ? new GrpcError(GrpcStatus.RESOURCE_EXHAUSTED, `grpc: received message after decompression larger than max (${max})`)
            : new GrpcError(GrpcStatus.INTERNAL, `grpc: failed to decompress the received message: ${(err as Error).message}`),
        );
        return;
      }
    }
    this.requestBytes = plain.length;
    let request: unknown;
    try {
      request = this.method.binding.def.decodeRequest(plain);
    } catch (err) {
      this.finishWith(new GrpcError(GrpcStatus.INTERNAL, `grpc: error unmarshalling request: ${(err as Error).message}`, { cause: err }));
      return;
    }
    if (this.queue !== undefined) {
      this.queue.push(request);
    } else if (this.request === noRequest) {
      this.request = request;
    } else {
      this.finishWith(new GrpcError(GrpcStatus.INTERNAL, `grpc: more than one request message for ${this.method.binding.kind} method`));
    }
  }

  onEnd(): void {
    if (this.phase === Phase.Done) return;
    if (this.deframer.midMessage) {
      this.finishWith(new GrpcError(GrpcStatus.INTERNAL, 'grpc: request ended inside a message (unexpected EOF)'));
      return;
    }
    if (this.queue !== undefined) {
      this.queue.close();
      return;
    }
    if (this.request === noRequest) {
      this.finishWith(new GrpcError(GrpcStatus.INTERNAL, 'grpc: request stream ended without a message'));
      return;
    }
    const request = this.request;
    this.request = noRequest;
    this.run(request);
  }

  /** onClose: the stream is gone; if the call was still running, the client cancelled it. */
  onClose(): void {
    if (this.phase !== Phase.Done) {
      this.method.stats.handled[GrpcStatus.CANCELLED]!++;
      this.method.stats.observeHandling((performance.now() - this.startedAtMs) / 1000);
      this.statusCode = GrpcStatus.CANCELLED;
      this.settle(new GrpcError(GrpcStatus.CANCELLED, canceledMessage));
    }
    const drain = this.drain;
    if (drain !== undefined) {
      this.drain = undefined;
      drain.reject(this.abortReason ?? new GrpcError(GrpcStatus.CANCELLED, canceledMessage));
    }
    this.host.callEnded(this);
  }

  onDeadline(): void {
    this.timer = undefined;
    if (this.phase === Phase.Done) return;
    this.finishWith(new GrpcError(GrpcStatus.DEADLINE_EXCEEDED, deadlineMessage));
  }

  onDrain(): void {
    const drain = this.drain;
    this.drain = undefined;
    drain?.resolve();
  }

  // ---- internals ----

  private run(request: unknown): void {
    this.phase = Phase.Running;
    const binding = this.method.binding;
    let result: unknown;
    try {
      result = binding.handler(request as never, this);
    } catch (err) {
      this.fail(err);
      return;
    }
    if (isThenable(result)) {
      if (binding.kind === 'unary' || binding.kind === 'client-stream') {
        result.then((response) => this.respondUnary(response), (err) => this.fail(err));
      } else {
        result.then(() => this.end(), (err) => this.fail(err));
      }
    } else if (binding.kind === 'unary' || binding.kind === 'client-stream') {
      this.respondUnary(result);
    } else {
      this.end();
    }
  }

  /** respondUnary sends the only response, then OK, in as few writes as possible. */
  private respondUnary(response: unknown): void {
    if (this.phase === Phase.Done) return;
    if (this.h2.gone) {
      // The client went away (its connection dropped) while the handler ran: nobody to answer.
      this.markDone(GrpcStatus.CANCELLED);
      this.settle(undefined);
      return;
    }
    const frame = this.encode(response);
    if (frame === undefined) return;
    this.method.stats.messagesSent++;
    this.markDone(GrpcStatus.OK);
    this.settle(undefined);
    const trailers = this.userTrailers === undefined ? grpcOkTrailers : { ...grpcOkTrailers, ...this.userTrailers };
    try {
      this.h2.respondUnary(this.userHeaders, frame, trailers);
    } catch (err) {
      // The session closed between the check and the write (ERR_HTTP2_INVALID_STREAM): the
      // response is lost with the connection; the server keeps serving.
      this.host.logger.debug('grpc response dropped: stream closed', { method: this.path, cause: err });
      return;
    }
    this.afterStatus();
  }

  private encode(message: unknown): Buffer | undefined {
    let frame: Buffer;
    try {
      frame = this.method.binding.def.encodeResponseFrame(message);
    } catch (err) {
      this.host.logger.error('grpc response encoding failed', { method: this.path, cause: err });
      this.finishWith(new GrpcError(GrpcStatus.INTERNAL, `grpc: error while marshaling: ${(err as Error).message}`, { cause: err }));
      return undefined;
    }
    const max = this.host.limits.sendMessageBytesMax;
    const length = frame.length - messagePrefixBytes;
    if (length > max) {
      this.finishWith(new GrpcError(GrpcStatus.RESOURCE_EXHAUSTED, `grpc: trying to send message larger than max (${length} vs. ${max})`));
      return undefined;
    }
    return frame;
  }

  /** fail ends the call after a handler threw or rejected. */
  private fail(err: unknown): void {
    if (this.phase === Phase.Done) {
      if (err !== this.abortReason && !(err instanceof GrpcError)) {
        this.host.logger.debug('grpc handler failed after its call ended', { method: this.path, cause: err });
      }
      return;
    }
    let status = err instanceof GrpcError ? err : this.host.mapError?.(err);
    if (status === undefined) {
      this.host.logger.error('grpc handler failed', { method: this.path, cause: err });
      status = new GrpcError(GrpcStatus.UNKNOWN, err instanceof Error ? err.message : String(err), { cause: err });
    }
    this.finishWith(status);
  }

  private finishWith(error: GrpcError): void {
    this.finish(error.code, error.message, error);
  }

  /** finish decides the call's status and sends it (trailers-only if no message went out). */
  private finish(code: GrpcStatusCode, message: string, reason?: GrpcError): void {
    if (this.phase === Phase.Done) return;
    this.markDone(code);
    // Abort the handler's signal unless the handler itself ended the call normally.
    this.settle(reason ?? (code === GrpcStatus.OK ? undefined : new GrpcError(code, message)));
    const transport = this.h2;
    if (transport.gone) return;
    const trailers: Record<string, string> = { 'grpc-status': statusStrings[code]! };
    if (message !== '') trailers['grpc-message'] = encodeGrpcMessage(message);
    if (this.userTrailers !== undefined) Object.assign(trailers, this.userTrailers);
    try {
      if (!transport.headersSent) transport.trailersOnly({ ...this.userHeaders, ...trailers });
      else transport.endWithTrailers(trailers);
    } catch (err) {
      this.host.logger.debug('grpc status dropped: stream closed', { method: this.path, cause: err });
      return;
    }
    this.afterStatus();
  }

  private markDone(code: GrpcStatusCode): void {
    this.phase = Phase.Done;
    this.statusCode = code;
    this.method.stats.handled[code]!++;
    this.method.stats.observeHandling((performance.now() - this.startedAtMs) / 1000);
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** settle fails the request queue and fires the signal, when the call ended abnormally. */
  private settle(reason: GrpcError | undefined): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (reason === undefined) {
      this.queue?.fail(new GrpcError(GrpcStatus.CANCELLED, 'grpc: the call has ended'));
      return;
    }
    this.abortReason = reason;
    this.queue?.fail(reason);
    this.controller?.abort(reason);
  }

  /** afterStatus stops a client that is still sending once our status is on its way. */
  private afterStatus(): void {
    if (!this.h2.remoteEnded && !this.h2.gone) this.h2.stopReading();
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function onDeadline(call: GrpcCall): void {
  call.onDeadline();
}
