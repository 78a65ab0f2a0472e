import net from 'node:net';
import {
  H2ErrorCode, H2Flag, H2FrameType, H2Setting, h2DefaultFrameBytesMax, h2DefaultWindowBytes, h2FrameHeaderBytes,
  h2Preface, h2WindowBytesMax, pingFrame, rstStreamFrame, settingsAckFrame, settingsFrame, windowUpdateFrame, writeFrameHeader,
} from '../../src/api/grpc/h2-frames.js';
import { forEachHeaderField, HpackDynamicTable } from '../../src/api/grpc/hpack-decode.js';
import { encodeHeaderFields } from '../../src/api/grpc/hpack-encode.js';
import { IdTable } from '../../src/lib/id-table.js';

/**
 * The client side of one HTTP/2 connection (RFC 9113, cleartext with prior knowledge) for the
 * benchmark's load generator: gRPC calls as streams, written with the project's frame builders
 * and HPACK coder (src/api/grpc), open streams in an IdTable.
 *
 * Why not node:http2: its client keeps open streams in a Map, and with one stream id added and
 * one removed per call, V8 rebuilds that Map's table every few dozen calls; the dead tables keep
 * finished streams reachable, so every scavenge of a busy load generator promoted megabytes and
 * paused it for 8–27 ms (`--trace-gc` at 64 clients), which a call in flight was timed through.
 * Here a call is a few small objects that die young, and a turn's frames go out in one write.
 *
 * Flow control is kept both ways: a request's DATA waits for send window (connection and stream)
 * and is cut to the peer's frame size; received DATA is granted back with WINDOW_UPDATE once half
 * of a window is used. The peer's SETTINGS_MAX_CONCURRENT_STREAMS is honoured by queueing streams
 * before their HEADERS are sent. PING is answered; GOAWAY fails the streams it did not process
 * and every call after it; a closed socket fails every stream.
 */

/** Receive windows: what grpc-go's clients (etcdctl, clientv3) grow theirs to by BDP estimation. */
export const CLIENT_STREAM_WINDOW_BYTES = 1 << 20;
export const CLIENT_CONNECTION_WINDOW_BYTES = 8 << 20;

/** StreamEnd says how a stream ended: `grpcStatus` from its trailers, or a transport failure. */
export interface StreamEnd {
  /** grpcStatus is the trailers' grpc-status, or undefined when the stream ended without one. */
  readonly grpcStatus: number | undefined;
  readonly grpcMessage: string;
  /** transportError describes a reset, GOAWAY or closed connection (grpcStatus is then undefined or CANCELLED). */
  readonly transportError: string | undefined;
}

/** StreamSink receives a stream's response DATA (views of network chunks: copy to keep) and its end. */
export interface StreamSink {
  onData(bytes: Uint8Array): void;
  onEnd(end: StreamEnd): void;
}

/** ClientH2Stream is one call's stream: send request bytes, end the request side, or cancel. */
export class ClientH2Stream {
  /** id is 0 until the HEADERS frame is sent (streams may wait for the peer's concurrency limit). */
  id = 0;
  sendWindow = 0;
  /** receivedUngranted: DATA bytes received on this stream not yet granted back. */
  receivedUngranted = 0;
  /** queued request bytes not yet sent for lack of window; `endQueued`: END_STREAM follows them. */
  queued: Uint8Array[] = [];
  queuedOffset = 0;
  endQueued = false;
  headersSeen = false;
  grpcStatus: number | undefined;
  grpcMessage = '';
  httpStatus = '';
  /** endSent: END_STREAM went out; ended: the stream is over for us (its end was or is being reported). */
  endSent = false;
  ended = false;

  constructor(readonly connection: H2ClientConnection, readonly headerBlock: Buffer, readonly sink: StreamSink) {}

  /** write sends request bytes (a gRPC-framed message); `end` also closes the request side. */
  write(bytes: Uint8Array, end: boolean): void {
    this.connection.send(this, bytes, end);
  }

  /** cancel resets the stream (RST_STREAM CANCEL) and ends it with CANCELLED. */
  cancel(): void {
    this.connection.cancel(this);
  }
}

const headerBlocks = new Map<string, Buffer>();

/** H2ClientConnection is one HTTP/2 connection, created with connect(). Not shared across processes. */
export class H2ClientConnection {
  private readonly streams = new IdTable<ClientH2Stream>();
  /** waitingToOpen: streams whose HEADERS wait for the peer's concurrency limit, in order. */
  private readonly waitingToOpen: ClientH2Stream[] = [];
  /** blocked: open streams with request bytes waiting for send window. */
  private blocked: ClientH2Stream[] = [];
  private nextStreamId = 1;
  private connectionSendWindow = h2DefaultWindowBytes;
  private peerInitialWindow = h2DefaultWindowBytes;
  private peerFrameBytesMax = h2DefaultFrameBytesMax;
  private peerConcurrentStreamsMax = Number.POSITIVE_INFINITY;
  private connectionReceivedUngranted = 0;
  private readonly decodeTable = new HpackDynamicTable(4096);
  /** failure is set once the connection can take no new streams (GOAWAY, socket closed). */
  private failure: string | undefined;
  private goawayLastStreamId = h2WindowBytesMax;

  // Incoming frames: unparsed bytes, and a header block continued in CONTINUATION frames.
  private pendingInput: Buffer | undefined;
  private headerBlockStream = 0;
  private headerBlockEndStream = false;
  private headerBlockParts: Buffer[] = [];
  private decodingStream: ClientH2Stream | undefined;

  // Outgoing frames of this turn: small ones packed into `out`, large payloads as views.
  private out: Buffer = Buffer.allocUnsafe(16 * 1024);
  private outLength = 0;
  private outChunks: Uint8Array[] = [];
  private flushScheduled = false;

  private constructor(private readonly socket: net.Socket, private readonly authority: string) {
    socket.on('data', (chunk: Buffer) => this.onInput(chunk));
    socket.on('error', (error) => this.fail(`connection error: ${error.message}`));
    socket.on('close', () => this.fail('connection closed'));
  }

  /** connect opens a connection and waits until the peer's first SETTINGS arrived. */
  static connect(host: string, port: number): Promise<H2ClientConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, noDelay: true });
      const onError = (error: Error): void => reject(error);
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        const connection = new H2ClientConnection(socket, `${host}:${port}`);
        connection.onSettled = () => resolve(connection);
        connection.onFailed = (why) => reject(new Error(why));
        connection.start();
      });
    });
  }

  private onSettled: (() => void) | undefined;
  private onFailed: ((why: string) => void) | undefined;

  private start(): void {
    this.pushFrame(h2Preface);
    this.pushFrame(settingsFrame([
      [H2Setting.enablePush, 0],
      [H2Setting.initialWindowSize, CLIENT_STREAM_WINDOW_BYTES],
    ]));
    this.pushFrame(windowUpdateFrame(0, CLIENT_CONNECTION_WINDOW_BYTES - h2DefaultWindowBytes));
    this.flush();
  }

  /** openStream starts a call on `path`; its HEADERS go out with this turn's frames. */
  openStream(path: string, sink: StreamSink): ClientH2Stream {
    const stream = new ClientH2Stream(this, this.headerBlockFor(path), sink);
    if (this.failure !== undefined) {
      const why = this.failure;
      queueMicrotask(() => this.finish(stream, { grpcStatus: undefined, grpcMessage: '', transportError: why }));
      return stream;
    }
    if (this.streams.size < this.peerConcurrentStreamsMax && this.waitingToOpen.length === 0) this.sendHeaders(stream);
    else this.waitingToOpen.push(stream);
    return stream;
  }

  /** close ends the connection at once; streams still open fail with a transport error. */
  close(): void {
    this.fail('connection closed by the client');
    this.socket.destroy();
  }

  send(stream: ClientH2Stream, bytes: Uint8Array, end: boolean): void {
    if (stream.ended || stream.endQueued || this.failure !== undefined) return;
    if (bytes.length > 0) stream.queued.push(bytes);
    stream.endQueued = end;
    if (stream.id !== 0) this.drain(stream);
  }

  cancel(stream: ClientH2Stream): void {
    if (stream.ended) return;
    if (stream.id !== 0) {
      this.streams.delete(stream.id);
      this.pushFrame(rstStreamFrame(stream.id, H2ErrorCode.cancel));
      this.openWaiting();
    } else {
      const at = this.waitingToOpen.indexOf(stream);
      if (at >= 0) this.waitingToOpen.splice(at, 1);
    }
    this.finish(stream, { grpcStatus: 1, grpcMessage: 'cancelled by the client', transportError: undefined });
  }

  private headerBlockFor(path: string): Buffer {
    const key = `${this.authority}\0${path}`;
    let block = headerBlocks.get(key);
    if (block === undefined) {
      block = encodeHeaderFields([
        [':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', this.authority],
        ['content-type', 'application/grpc'], ['te', 'trailers'],
      ]);
      headerBlocks.set(key, block);
    }
    return block;
  }

  private sendHeaders(stream: ClientH2Stream): void {
    if (this.nextStreamId > h2WindowBytesMax) {
      this.finish(stream, { grpcStatus: undefined, grpcMessage: '', transportError: 'stream ids exhausted on this connection' });
      return;
    }
    stream.id = this.nextStreamId;
    this.nextStreamId += 2;
    stream.sendWindow = this.peerInitialWindow;
    this.streams.set(stream.id, stream);
    const block = stream.headerBlock;
    const at = this.reserve(h2FrameHeaderBytes + block.length);
    writeFrameHeader(this.out, at, block.length, H2FrameType.headers, H2Flag.endHeaders, stream.id);
    block.copy(this.out, at + h2FrameHeaderBytes);
    this.drain(stream);
  }

  /** drain sends as much of a stream's queued request bytes as the windows allow. */
  private drain(stream: ClientH2Stream): boolean {
    while (stream.queued.length > 0) {
      const head = stream.queued[0]!;
      const left = head.length - stream.queuedOffset;
      const n = Math.min(left, this.connectionSendWindow, stream.sendWindow, this.peerFrameBytesMax);
      if (n <= 0) {
        if (!this.blocked.includes(stream)) this.blocked.push(stream);
        return false;
      }
      const last = n === left && stream.queued.length === 1;
      this.pushData(stream.id, head.subarray(stream.queuedOffset, stream.queuedOffset + n), last && stream.endQueued);
      if (last && stream.endQueued) stream.endSent = true;
      this.connectionSendWindow -= n;
      stream.sendWindow -= n;
      if (n === left) {
        stream.queued.shift();
        stream.queuedOffset = 0;
      } else {
        stream.queuedOffset += n;
      }
      if (last && stream.endQueued) return true;
    }
    if (stream.endQueued && !stream.endSent) {
      this.pushData(stream.id, EMPTY, true);
      stream.endSent = true;
    }
    return true;
  }

  private pushData(streamId: number, payload: Uint8Array, endStream: boolean): void {
    if (payload.length <= 1024) {
      const at = this.reserve(h2FrameHeaderBytes + payload.length);
      writeFrameHeader(this.out, at, payload.length, H2FrameType.data, endStream ? H2Flag.endStream : 0, streamId);
      this.out.set(payload, at + h2FrameHeaderBytes);
    } else {
      const at = this.reserve(h2FrameHeaderBytes);
      writeFrameHeader(this.out, at, payload.length, H2FrameType.data, endStream ? H2Flag.endStream : 0, streamId);
      this.cutOut();
      this.outChunks.push(payload);
    }
  }

  private pushFrame(frame: Uint8Array): void {
    const at = this.reserve(frame.length);
    this.out.set(frame, at);
  }

  /** reserve makes room for `bytes` in this turn's buffer and returns where they go. */
  private reserve(bytes: number): number {
    if (this.outLength + bytes > this.out.length) {
      this.cutOut();
      if (bytes > this.out.length) this.out = Buffer.allocUnsafe(Math.max(bytes, 16 * 1024));
    }
    const at = this.outLength;
    this.outLength += bytes;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => this.flush());
    }
    return at;
  }

  /** cutOut moves what this turn's buffer holds into the chunks to write and starts a fresh one. */
  private cutOut(): void {
    if (this.outLength === 0) return;
    this.outChunks.push(this.out.subarray(0, this.outLength));
    this.out = this.out.length - this.outLength >= 4096 ? this.out.subarray(this.outLength) : Buffer.allocUnsafe(16 * 1024);
    this.outLength = 0;
  }

  private flush(): void {
    this.flushScheduled = false;
    this.cutOut();
    const chunks = this.outChunks;
    if (chunks.length === 0 || this.socket.destroyed) {
      this.outChunks = [];
      return;
    }
    this.outChunks = [];
    if (chunks.length === 1) {
      this.socket.write(chunks[0]!);
    } else {
      this.socket.cork();
      for (const c of chunks) this.socket.write(c);
      this.socket.uncork();
    }
  }

  // ---- incoming ----

  private onInput(chunk: Buffer): void {
    let buf = this.pendingInput === undefined ? chunk : Buffer.concat([this.pendingInput, chunk]);
    this.pendingInput = undefined;
    let offset = 0;
    try {
      while (buf.length - offset >= h2FrameHeaderBytes) {
        const length = (buf[offset]! << 16) | (buf[offset + 1]! << 8) | buf[offset + 2]!;
        if (buf.length - offset - h2FrameHeaderBytes < length) break;
        const type = buf[offset + 3]!;
        const flags = buf[offset + 4]!;
        const streamId = buf.readUInt32BE(offset + 5) & 0x7fffffff;
        const start = offset + h2FrameHeaderBytes;
        offset = start + length;
        this.onFrame(type, flags, streamId, buf, start, offset);
      }
    } catch (error) {
      this.fail(`protocol error from the server: ${error instanceof Error ? error.message : String(error)}`);
      this.socket.destroy();
      return;
    }
    if (offset < buf.length) {
      buf = buf.subarray(offset);
      this.pendingInput = buf;
    }
  }

  private onFrame(type: number, flags: number, streamId: number, buf: Buffer, start: number, end: number): void {
    if (this.headerBlockStream !== 0 && type !== H2FrameType.continuation) throw new Error('expected CONTINUATION');
    switch (type) {
      case H2FrameType.data: return this.onData(flags, streamId, buf, start, end);
      case H2FrameType.headers: {
        let s = start;
        let e = end;
        if (flags & H2Flag.padded) e -= buf[s++]!;
        if (flags & H2Flag.priority) s += 5;
        if (s > e) throw new Error('HEADERS padding or priority longer than the frame');
        this.headerBlockEndStream = (flags & H2Flag.endStream) !== 0;
        if (flags & H2Flag.endHeaders) this.onHeaderBlock(streamId, buf.subarray(s, e));
        else {
          this.headerBlockStream = streamId;
          this.headerBlockParts = [Buffer.from(buf.subarray(s, e))];
        }
        return;
      }
      case H2FrameType.continuation: {
        if (streamId !== this.headerBlockStream) throw new Error('CONTINUATION on another stream');
        this.headerBlockParts.push(Buffer.from(buf.subarray(start, end)));
        if (flags & H2Flag.endHeaders) {
          const block = Buffer.concat(this.headerBlockParts);
          this.headerBlockParts = [];
          this.headerBlockStream = 0;
          this.onHeaderBlock(streamId, block);
        }
        return;
      }
      case H2FrameType.rstStream: {
        const stream = this.streams.get(streamId);
        if (stream === undefined) return;
        const code = buf.readUInt32BE(start);
        this.closeStream(stream, {
          grpcStatus: code === H2ErrorCode.cancel ? 1 : undefined,
          grpcMessage: '',
          transportError: `stream reset by the server (HTTP/2 error ${code})`,
        });
        return;
      }
      case H2FrameType.settings: {
        if (flags & H2Flag.ack) return;
        for (let o = start; o + 6 <= end; o += 6) this.applySetting(buf.readUInt16BE(o), buf.readUInt32BE(o + 2));
        this.pushFrame(settingsAckFrame);
        this.drainBlocked();
        this.openWaiting();
        const settled = this.onSettled;
        this.onSettled = undefined;
        this.onFailed = undefined;
        settled?.();
        return;
      }
      case H2FrameType.ping:
        if (!(flags & H2Flag.ack)) this.pushFrame(pingFrame(buf.subarray(start, end), true));
        return;
      case H2FrameType.goaway: {
        const lastStreamId = buf.readUInt32BE(start) & 0x7fffffff;
        const code = buf.readUInt32BE(start + 4);
        this.goawayLastStreamId = Math.min(this.goawayLastStreamId, lastStreamId);
        const why = `server sent GOAWAY (HTTP/2 error ${code}, last stream ${lastStreamId})`;
        this.failure ??= why;
        for (const stream of [...this.streams.values()]) {
          if (stream.id > this.goawayLastStreamId) this.closeStream(stream, { grpcStatus: undefined, grpcMessage: '', transportError: why });
        }
        for (const stream of this.waitingToOpen.splice(0)) this.finish(stream, { grpcStatus: undefined, grpcMessage: '', transportError: why });
        return;
      }
      case H2FrameType.windowUpdate: {
        const increment = buf.readUInt32BE(start) & 0x7fffffff;
        if (streamId === 0) {
          this.connectionSendWindow += increment;
          this.drainBlocked();
        } else {
          const stream = this.streams.get(streamId);
          if (stream !== undefined) {
            stream.sendWindow += increment;
            if (stream.queued.length > 0) this.drainBlocked();
          }
        }
        return;
      }
      case H2FrameType.pushPromise:
        throw new Error('PUSH_PROMISE although push is disabled');
      default:
        return; // PRIORITY and unknown types are ignored (§5.5)
    }
  }

  private onData(flags: number, streamId: number, buf: Buffer, start: number, end: number): void {
    const frameBytes = end - start;
    this.connectionReceivedUngranted += frameBytes;
    if (this.connectionReceivedUngranted >= CLIENT_CONNECTION_WINDOW_BYTES / 2) {
      this.pushFrame(windowUpdateFrame(0, this.connectionReceivedUngranted));
      this.connectionReceivedUngranted = 0;
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) return; // a stream we cancelled: its bytes only count for the connection
    let s = start;
    let e = end;
    if (flags & H2Flag.padded) e -= buf[s++]!;
    if (s > e) throw new Error('DATA padding longer than the frame');
    if (s < e) stream.sink.onData(buf.subarray(s, e));
    if (flags & H2Flag.endStream) {
      this.closeStream(stream, { grpcStatus: undefined, grpcMessage: '', transportError: 'response ended without grpc-status trailers' });
      return;
    }
    stream.receivedUngranted += frameBytes;
    if (stream.receivedUngranted >= CLIENT_STREAM_WINDOW_BYTES / 2) {
      this.pushFrame(windowUpdateFrame(streamId, stream.receivedUngranted));
      stream.receivedUngranted = 0;
    }
  }

  private onHeaderBlock(streamId: number, block: Uint8Array): void {
    const stream = this.streams.get(streamId);
    this.decodingStream = stream;
    // Decoded even for a stream we no longer track: the block changes the HPACK table.
    forEachHeaderField(block, this.decodeTable, this.visitField);
    this.decodingStream = undefined;
    if (stream === undefined) return;
    stream.headersSeen = true;
    if (stream.httpStatus !== '' && stream.httpStatus !== '200' && stream.grpcStatus === undefined) {
      this.cancelAfterError(stream, `HTTP status ${stream.httpStatus}`);
      return;
    }
    if (this.headerBlockEndStream) {
      this.closeStream(stream, {
        grpcStatus: stream.grpcStatus,
        grpcMessage: stream.grpcMessage,
        transportError: stream.grpcStatus === undefined ? 'trailers without grpc-status' : undefined,
      });
    }
  }

  private readonly visitField = (name: string, value: string): void => {
    const stream = this.decodingStream;
    if (stream === undefined) return;
    if (name === 'grpc-status') stream.grpcStatus = Number(value);
    else if (name === 'grpc-message') stream.grpcMessage = value;
    else if (name === ':status') stream.httpStatus = value;
  };

  private cancelAfterError(stream: ClientH2Stream, why: string): void {
    this.streams.delete(stream.id);
    this.pushFrame(rstStreamFrame(stream.id, H2ErrorCode.cancel));
    this.finish(stream, { grpcStatus: undefined, grpcMessage: '', transportError: why });
    this.openWaiting();
  }

  private applySetting(id: number, value: number): void {
    switch (id) {
      case H2Setting.initialWindowSize: {
        if (value > h2WindowBytesMax) throw new Error('SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1');
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const stream of this.streams.values()) stream.sendWindow += delta;
        return;
      }
      case H2Setting.maxFrameSize:
        this.peerFrameBytesMax = value;
        return;
      case H2Setting.maxConcurrentStreams:
        this.peerConcurrentStreamsMax = value;
        return;
      default:
        return; // the table size: our encoder uses no dynamic table; the rest do not bind a client
    }
  }

  private drainBlocked(): void {
    if (this.blocked.length === 0) return;
    const blocked = this.blocked;
    this.blocked = [];
    for (const stream of blocked) if (!stream.ended) this.drain(stream);
  }

  private openWaiting(): void {
    while (this.waitingToOpen.length > 0 && this.streams.size < this.peerConcurrentStreamsMax && this.failure === undefined) {
      this.sendHeaders(this.waitingToOpen.shift()!);
    }
  }

  private closeStream(stream: ClientH2Stream, end: StreamEnd): void {
    this.streams.delete(stream.id);
    this.finish(stream, end);
    this.openWaiting();
  }

  /** finish reports a stream's end once. */
  private finish(stream: ClientH2Stream, end: StreamEnd): void {
    if (stream.ended) return;
    stream.ended = true;
    stream.queued = [];
    stream.sink.onEnd(end);
  }

  private fail(why: string): void {
    this.failure ??= why;
    const failed = this.onFailed;
    this.onFailed = undefined;
    this.onSettled = undefined;
    failed?.(why);
    const open = [...this.streams.values()];
    this.streams.clear();
    for (const stream of [...open, ...this.waitingToOpen.splice(0)]) {
      this.finish(stream, { grpcStatus: undefined, grpcMessage: '', transportError: why });
    }
  }
}

const EMPTY = new Uint8Array(0);
