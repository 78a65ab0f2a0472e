import type { IncomingHttpHeaders } from 'node:http';
import type { GrpcError } from './status.js';

/** MethodKind is a gRPC method's streaming kind. */
export type MethodKind = 'unary' | 'server-stream' | 'client-stream' | 'bidi';

/**
 * MethodDef describes one gRPC method for the serving layer: its path (`/package.Service/Method`),
 * its streaming kind and the binary codecs of its messages (responses straight into gRPC frames). The codec layer (src/api/codec)
 * provides one per etcd method; tests build them by hand. `decodeRequest` throws on malformed
 * bytes (the call ends with INTERNAL, as grpc-go does); it must not keep `bytes` beyond the call
 * unless it copies them (the buffer may be a view of a shared network chunk).
 */
export interface MethodDef<Req, Res> {
  readonly path: string;
  readonly kind: MethodKind;
  decodeRequest(bytes: Uint8Array): Req;
  /** encodeResponseFrame serializes a response as a gRPC length-prefixed message (5-byte prefix, then the message). */
  encodeResponseFrame(response: Res): Buffer;
}

/**
 * Metadata is the request's header block as node delivers it: lowercase names, HTTP/2
 * pseudo-headers (`:path`, ...) included, `-bin` values still base64. On the JSON gateway it is
 * the HTTP request's headers.
 */
export type Metadata = IncomingHttpHeaders;

/**
 * CallContext is what every handler receives besides its request(s); one per call, owned by the
 * serving layer. The same interface is implemented by the gRPC server and the JSON gateway, so a
 * handler is written once.
 */
export interface CallContext {
  /** path is the gRPC method path (`/etcdserverpb.KV/Range`), also on the gateway. */
  readonly path: string;
  /** transport tells how the call arrived. */
  readonly transport: 'grpc' | 'gateway';
  /** metadata is the request's headers; see `Metadata`. */
  readonly metadata: Metadata;
  /**
   * signal fires when the call ends before the handler finished: client cancel (RST_STREAM or
   * a closed HTTP connection), deadline, or server shutdown. Its `reason` is a GrpcError
   * (CANCELLED `context canceled` or DEADLINE_EXCEEDED `context deadline exceeded`).
   */
  readonly signal: AbortSignal;
  /** deadlineMs is the call's deadline as a `Date.now()` value, if the client sent grpc-timeout. */
  readonly deadlineMs: number | undefined;
  /** requestBytes is the size of the last received request message (before decompression: after). */
  readonly requestBytes: number;
  /** setHeader adds response metadata; ignored once headers are sent (the first message). */
  setHeader(name: string, value: string): void;
  /** setTrailer adds trailing metadata, sent with the status. */
  setTrailer(name: string, value: string): void;
}

/**
 * ResponseStream is the sending half of a server-streaming or bidi call. `send` encodes and
 * writes one message; the promise resolves at once while the transport accepts more, or when it
 * drains (backpressure: await it). After the call ended `send` rejects with the call's end
 * reason. `end` finishes the call with OK, or with `error`'s status; later sends reject, and the
 * handler's own completion is then ignored.
 */
export interface ResponseStream<Res> extends CallContext {
  send(message: Res): Promise<void>;
  end(error?: GrpcError): void;
  /** ended is true once the call finished (status sent or client gone). */
  readonly ended: boolean;
}

/** UnaryHandler answers one request with one response (or throws a GrpcError). */
export type UnaryHandler<Req, Res> = (request: Req, call: CallContext) => Res | Promise<Res>;
/** ServerStreamHandler answers one request with a stream; the call ends when it settles. */
export type ServerStreamHandler<Req, Res> = (request: Req, call: ResponseStream<Res>) => void | Promise<void>;
/** ClientStreamHandler reads a stream of requests and answers with one response. */
export type ClientStreamHandler<Req, Res> = (requests: AsyncIterable<Req>, call: CallContext) => Res | Promise<Res>;
/**
 * BidiHandler reads requests and sends responses independently; the call ends when it settles
 * (or on `call.end`). The request iterable ending (client half-close) does not end the call. A
 * cancelled call makes the iterable throw the abort reason.
 */
export type BidiHandler<Req, Res> = (requests: AsyncIterable<Req>, call: ResponseStream<Res>) => void | Promise<void>;

/** MethodBinding is a method definition bound to its handler, discriminated on `kind`. */
export type MethodBinding<Req = any, Res = any> =
  | { readonly kind: 'unary'; readonly def: MethodDef<Req, Res>; readonly handler: UnaryHandler<Req, Res> }
  | { readonly kind: 'server-stream'; readonly def: MethodDef<Req, Res>; readonly handler: ServerStreamHandler<Req, Res> }
  | { readonly kind: 'client-stream'; readonly def: MethodDef<Req, Res>; readonly handler: ClientStreamHandler<Req, Res> }
  | { readonly kind: 'bidi'; readonly def: MethodDef<Req, Res>; readonly handler: BidiHandler<Req, Res> };
