import http2 from 'node:http2';

/**
 * CallTransport is what a GrpcCall needs from the HTTP/2 stream under it. Two implementations:
 * `H2Stream` (h2-stream.ts: Concord's own HTTP/2 framing, used for every connection whose first
 * request is gRPC) and `NodeCallTransport` below (node:http2, for gRPC calls on a connection
 * node serves because its first request was not gRPC). One shared test suite runs against both
 * (grpc-server.test.ts).
 */
export interface CallTransport {
  /** headersSent: the response headers went out (or a trailers-only response did). */
  readonly headersSent: boolean;
  /** gone: the stream is closed or reset; nothing more can be sent. */
  readonly gone: boolean;
  /** remoteEnded: the client half-closed (all of its data was delivered). */
  readonly remoteEnded: boolean;
  /** bind routes the stream's events to `sink`, once. */
  bind(sink: TransportSink): void;
  /** pause / resume stop and restart delivering request data (flow control pushes back). */
  pause(): void;
  resume(): void;
  /** sendHeaders sends the response headers (`:status: 200`, gRPC content-type, extras). */
  sendHeaders(extra: Readonly<Record<string, string>> | undefined): void;
  /** write sends one framed message; false: wait for `sink.onDrain` before writing more. */
  write(frame: Buffer): boolean;
  /** respondUnary sends headers (unless sent), `frame` and `trailers`, ending the stream, in as few writes as it can. */
  respondUnary(extra: Readonly<Record<string, string>> | undefined, frame: Buffer, trailers: Readonly<Record<string, string>>): void;
  /** endWithTrailers ends the stream with trailers after headers (and messages) went out. */
  endWithTrailers(trailers: Readonly<Record<string, string>>): void;
  /** trailersOnly ends the stream with one header block holding status and trailers (no messages). */
  trailersOnly(fields: Readonly<Record<string, string | number>>): void;
  /** stopReading ends a stream whose client is still sending, once our status is on its way (RST_STREAM NO_ERROR). */
  stopReading(): void;
}

/** TransportSink receives a CallTransport's events (a GrpcCall). */
export interface TransportSink {
  onData(chunk: Buffer): void;
  onEnd(): void;
  /** onClose: the stream is gone (ended normally, reset by the client, or its connection died). Called once. */
  onClose(): void;
  onDrain(): void;
}

const kSink = Symbol('concord.grpc.sink');
type SinkStream = http2.ServerHttp2Stream & { [kSink]?: TransportSink; [kTrailers]?: Readonly<Record<string, string>> };
const kTrailers = Symbol('concord.grpc.trailers');

/** grpcContentType is the content-type of every gRPC response. */
export const grpcContentType = 'application/grpc';
/** grpcResponseHeaders are the fixed response headers of every gRPC response. */
export const grpcResponseHeaders = Object.freeze({
  ':status': 200,
  'content-type': grpcContentType,
  'grpc-accept-encoding': 'identity,gzip',
});
/** grpcOkTrailers are the trailers of a call that ended OK without trailers of its own (compared by identity). */
export const grpcOkTrailers: Readonly<Record<string, string>> = Object.freeze({ 'grpc-status': '0' });
const respondWithTrailers = Object.freeze({ waitForTrailers: true });
const respondEndStream = Object.freeze({ endStream: true });

/** NodeCallTransport adapts a node:http2 server stream to CallTransport. */
export class NodeCallTransport implements CallTransport {
  constructor(private readonly stream: http2.ServerHttp2Stream) {}

  get headersSent(): boolean {
    return this.stream.headersSent;
  }
  get gone(): boolean {
    return this.stream.destroyed || this.stream.closed;
  }
  get remoteEnded(): boolean {
    return this.stream.readableEnded;
  }

  bind(sink: TransportSink): void {
    const stream = this.stream as SinkStream;
    stream[kSink] = sink;
    stream.on('data', onStreamData);
    stream.on('end', onStreamEnd);
    stream.on('close', onStreamClose);
    stream.on('error', onStreamError);
    stream.on('wantTrailers', onWantTrailers);
    stream.on('drain', onStreamDrain);
  }

  pause(): void {
    this.stream.pause();
  }
  resume(): void {
    if (!this.stream.destroyed) this.stream.resume();
  }

  sendHeaders(extra: Readonly<Record<string, string>> | undefined): void {
    if (this.stream.headersSent) return;
    this.stream.respond(extra === undefined ? grpcResponseHeaders : { ...grpcResponseHeaders, ...extra }, respondWithTrailers);
  }

  write(frame: Buffer): boolean {
    return this.stream.write(frame);
  }

  respondUnary(extra: Readonly<Record<string, string>> | undefined, frame: Buffer, trailers: Readonly<Record<string, string>>): void {
    (this.stream as SinkStream)[kTrailers] = trailers;
    this.sendHeaders(extra);
    this.stream.end(frame);
  }

  endWithTrailers(trailers: Readonly<Record<string, string>>): void {
    (this.stream as SinkStream)[kTrailers] = trailers;
    this.stream.end();
  }

  trailersOnly(fields: Readonly<Record<string, string | number>>): void {
    this.stream.respond({ ...grpcResponseHeaders, ...fields }, respondEndStream);
  }

  stopReading(): void {
    if (!this.stream.readableEnded && !this.stream.destroyed) this.stream.close(http2.constants.NGHTTP2_NO_ERROR);
  }
}

// Shared listeners: one function each for all streams (no per-call closures).
function onStreamData(this: SinkStream, chunk: Buffer): void {
  this[kSink]?.onData(chunk);
}
function onStreamEnd(this: SinkStream): void {
  this[kSink]?.onEnd();
}
function onStreamClose(this: SinkStream): void {
  this[kSink]?.onClose();
}
function onStreamError(this: SinkStream, err: Error): void {
  // A stream error (RST, session teardown) is followed by 'close', which settles the call.
  void err;
}
function onWantTrailers(this: SinkStream): void {
  this.sendTrailers(this[kTrailers] ?? grpcOkTrailers);
}
function onStreamDrain(this: SinkStream): void {
  this[kSink]?.onDrain();
}
