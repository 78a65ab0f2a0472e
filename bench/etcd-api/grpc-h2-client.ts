import { H2ClientConnection, type StreamEnd, type StreamSink } from './h2-client-connection.js';

/**
 * A minimal gRPC client for the benchmark's load generator: a few HTTP/2 connections to one
 * endpoint (h2-client-connection.ts, not node:http2: see there why), many concurrent calls
 * multiplexed over them, gRPC framing done by hand (5-byte prefix, `content-type:
 * application/grpc`, `te: trailers`, `grpc-status` read from the trailers or from a trailers-only
 * response). It does only what the benchmark needs (unary calls and bidi streams for Watch and
 * LeaseKeepAlive, no TLS, no compression, no retries), so that a call costs the client little
 * CPU and garbage, and the client is not what is measured.
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
  /** cancel resets the stream (RST_STREAM CANCEL); onEnd follows with CANCELLED (code 1). */
  cancel(): void;
}

/** endError turns a stream's end into the call's error (undefined for grpc-status 0). */
function endError(end: StreamEnd): GrpcCallError | undefined {
  if (end.grpcStatus === 0) return undefined;
  if (end.grpcStatus !== undefined) return new GrpcCallError(end.grpcStatus, decodeURIComponentSafe(end.grpcMessage || (end.transportError ?? '')));
  return new GrpcCallError(GRPC_CODE_TRANSPORT, end.transportError ?? 'stream ended without grpc-status');
}

/** UnaryCall collects one unary answer and settles its promise when the stream ends. */
class UnaryCall implements StreamSink {
  private body: Uint8Array | undefined;
  private chunks: Uint8Array[] | undefined;

  constructor(private readonly resolve: (bytes: Uint8Array) => void, private readonly reject: (error: GrpcCallError) => void) {}

  onData(bytes: Uint8Array): void {
    if (this.body === undefined) this.body = bytes;
    else (this.chunks ??= [this.body]).push(bytes);
  }

  onEnd(end: StreamEnd): void {
    const error = endError(end);
    if (error !== undefined) {
      this.reject(error);
      return;
    }
    const all = this.chunks === undefined ? this.body : Buffer.concat(this.chunks);
    if (all === undefined || all.length < PREFIX_BYTES || readUInt32BE(all, 1) !== all.length - PREFIX_BYTES) {
      this.reject(new GrpcCallError(13, 'bad response framing'));
    } else {
      this.resolve(all.subarray(PREFIX_BYTES));
    }
  }
}

function readUInt32BE(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) + bytes[at + 3]!;
}

/**
 * GrpcEndpointClient owns `connectionCount` HTTP/2 connections to one endpoint and spreads calls
 * over them round-robin. One per endpoint per load generator.
 */
export class GrpcEndpointClient {
  private nextConnection = 0;

  private constructor(readonly authority: string, private readonly connections: H2ClientConnection[]) {}

  /** connect opens the connections and waits until every one is established. */
  static async connect(host: string, port: number, connectionCount: number): Promise<GrpcEndpointClient> {
    const connections = await Promise.all(Array.from({ length: connectionCount }, () => H2ClientConnection.connect(host, port)));
    return new GrpcEndpointClient(`${host}:${port}`, connections);
  }

  private connection(): H2ClientConnection {
    const connection = this.connections[this.nextConnection]!;
    this.nextConnection = (this.nextConnection + 1) % this.connections.length;
    return connection;
  }

  /**
   * unary sends one framed request (from `codec.encodeFrame`) on `path` and resolves with the
   * response message bytes (without the prefix; a view: decode or copy before the next turn's
   * reads matter); rejects with a GrpcCallError.
   */
  unary(path: string, frame: Uint8Array): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      this.connection().openStream(path, new UnaryCall(resolve, reject)).write(frame, true);
    });
  }

  /** stream opens a streaming call on `path`; `handler` gets every response message and the end. */
  stream(path: string, handler: StreamHandler): ClientStream {
    const deframer = new ResponseDeframer();
    const stream = this.connection().openStream(path, {
      onData: (bytes) => deframer.push(bytes, handler),
      onEnd: (end) => handler.onEnd(endError(end)),
    });
    return {
      write: (frame) => stream.write(frame, false),
      cancel: () => stream.cancel(),
    };
  }

  /** close ends every connection at once; calls still running fail with a transport error. */
  close(): void {
    for (const connection of this.connections) connection.close();
  }
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

  push(chunk: Uint8Array, handler: StreamHandler): void {
    let buf = this.pending === undefined ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length) : Buffer.concat([this.pending, chunk]);
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
