import type net from 'node:net';
import type { Logger } from '../../lib/logger.js';
import {
  H2ErrorCode,
  H2Flag,
  H2FrameType,
  H2ProtocolError,
  H2Setting,
  goawayFrame,
  h2DefaultFrameBytesMax,
  h2DefaultWindowBytes,
  h2FrameBytesLimit,
  h2FrameHeaderBytes,
  h2Preface,
  h2PrefaceBytes,
  h2WindowBytesMax,
  pingFrame,
  rstStreamFrame,
  settingsAckFrame,
  settingsFrame,
  windowUpdateFrame,
} from './h2-frames.js';
import { IdTable } from '../../lib/id-table.js';
import { H2Stream, type StreamOwner } from './h2-stream.js';
import { HpackDynamicTable, HpackError, forEachHeaderField } from './hpack-decode.js';
import { hpackTableSizeZero } from './hpack-encode.js';
import type { ServingLimits } from './limits.js';
import type { Metadata } from './method.js';

/** H2ConnectionOptions configure an H2Connection. */
export interface H2ConnectionOptions {
  readonly limits: ServingLimits;
  readonly logger: Logger;
  /**
   * onStream receives each new request stream with its header list (lowercase names,
   * pseudo-headers included, repeated names joined with ", "). Called synchronously while the
   * frame is read; the stream's data and end follow.
   */
  readonly onStream: (stream: H2Stream, headers: Metadata) => void;
  /** onPing counts a PING from the client. */
  readonly onPing: () => void;
  /** onIdle is called each time the last open stream closes. */
  readonly onIdle: () => void;
}

/**
 * writevBytesMin: a turn's output of at least this many bytes is written as a vector (the socket's
 * writev) rather than copied into one buffer first; below it one copy is cheaper than the vector.
 */
const writevBytesMin = 32 * 1024;
/** hpackDefaultTableBytes is SETTINGS_HEADER_TABLE_SIZE's initial value (both directions). */
const hpackDefaultTableBytes = 4096;
/** headerBlockBytesMax bounds one received header block (HEADERS + CONTINUATION payloads). */
const headerBlockBytesMaxFloor = 16 * 1024;

/**
 * H2Connection is the server side of one HTTP/2 connection carrying gRPC (RFC 9113), Concord's
 * own framing instead of node:http2 for connections whose first request is gRPC (see
 * docs/serving.md, "Own HTTP/2 framing for gRPC"). It reads frames off the socket, keeps the
 * client's HPACK table, applies SETTINGS, answers PING, enforces and grants flow control, opens
 * H2Streams for request HEADERS and frames what they send. Output of one turn of the event loop
 * is written in one socket write after the turn's microtasks (`process.nextTick`).
 *
 * Limits: SETTINGS_MAX_CONCURRENT_STREAMS (excess streams are refused with REFUSED_STREAM),
 * SETTINGS_INITIAL_WINDOW_SIZE and a connection window from ServingLimits, header blocks bounded
 * by `headerListBytesMax`, and reading stops while the socket holds more than
 * `sessionMemoryMbMax` of unsent output. A protocol violation ends the connection with GOAWAY and
 * the RFC's error code; the server keeps serving other connections.
 */
export class H2Connection implements StreamOwner {
  sendWindow = h2DefaultWindowBytes;
  peerFrameBytesMax = h2DefaultFrameBytesMax;
  headerBlockPrefix: number | undefined;
  /** openStreams counts streams not yet closed. */
  openStreams = 0;
  /** closed: the socket is gone (or going); no more frames in either direction. */
  closed = false;
  private peerInitialWindow = h2DefaultWindowBytes;
  /** streams: the open streams by id (an IdTable, not a Map: see lib/id-table.ts). */
  private readonly streams = new IdTable<H2Stream>();
  private lastStreamId = 0;
  private readonly decoderTable = new HpackDynamicTable(hpackDefaultTableBytes);
  private receiveWindow: number;
  private receivedBytes = 0;
  private readonly receiveWindowBytes: number;
  private readonly streamWindowBytes: number;
  private readonly concurrentStreamsMax: number;
  private readonly headerBlockBytesMax: number;
  private readonly outputBytesMax: number;
  private prefaceSeen = false;
  private input: Buffer | undefined;
  // A header block in progress (HEADERS without END_HEADERS, then CONTINUATION).
  private blockStreamId = 0;
  private blockFragments: Buffer[] = [];
  private blockBytes = 0;
  private blockEndStream = false;
  private output: Buffer[] = [];
  private outputBytes = 0;
  private flushScheduled = false;
  private readonly waiting = new IdTable<H2Stream>();
  private goawaySent = false;
  private readPaused = false;
  private pingAck: ((ok: boolean) => void) | undefined;
  /** closeListeners run once when the connection ends. */
  private readonly closeListeners: Array<() => void> = [];

  constructor(
    readonly socket: net.Socket,
    private readonly options: H2ConnectionOptions,
  ) {
    const limits = options.limits;
    this.streamWindowBytes = limits.streamWindowBytes;
    this.receiveWindowBytes = limits.connectionWindowBytes;
    this.receiveWindow = limits.connectionWindowBytes;
    this.concurrentStreamsMax = limits.concurrentStreamsMax;
    this.headerBlockBytesMax = Math.max(headerBlockBytesMaxFloor, limits.headerListBytesMax);
    this.outputBytesMax = limits.sessionMemoryMbMax * 1024 * 1024;
    this.queue(
      settingsFrame([
        [H2Setting.maxConcurrentStreams, limits.concurrentStreamsMax],
        [H2Setting.initialWindowSize, limits.streamWindowBytes],
        [H2Setting.maxHeaderListSize, limits.headerListBytesMax],
        [H2Setting.enablePush, 0],
      ]),
    );
    if (limits.connectionWindowBytes > h2DefaultWindowBytes) {
      this.queue(windowUpdateFrame(0, limits.connectionWindowBytes - h2DefaultWindowBytes));
    }
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onSocketDrain());
    socket.once('close', () => this.onSocketClose());
  }

  /** start feeds the bytes read before the connection was handed over (preface included). */
  start(initial: Buffer): void {
    if (initial.length > 0) this.onData(initial);
  }

  /** onClose registers `listener` for the end of the connection. */
  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  get congested(): boolean {
    return this.socket.writableLength > this.outputBytesMax;
  }

  /** goaway stops new streams (GOAWAY NO_ERROR); running streams finish, then the socket ends. */
  goaway(): void {
    if (this.closed || this.goawaySent) return;
    this.goawaySent = true;
    this.queue(goawayFrame(this.lastStreamId, H2ErrorCode.noError));
    if (this.openStreams === 0) this.endSoon();
  }

  /** destroy drops the connection at once; open streams close (their calls see CANCELLED). */
  destroy(): void {
    this.socket.destroy();
  }

  /** ping sends a PING; `done(true)` on its ACK. False when one is in flight or the connection ended. */
  ping(done: (ok: boolean) => void): boolean {
    if (this.closed || this.pingAck !== undefined) return false;
    this.pingAck = done;
    this.queue(pingFrame(Buffer.alloc(8), false));
    return true;
  }

  // ---- StreamOwner ----

  queue(bytes: Buffer): void {
    if (this.closed) return;
    this.output.push(bytes);
    this.outputBytes += bytes.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(flushConnection, this);
    }
  }

  blocked(stream: H2Stream): void {
    this.waiting.set(stream.id, stream);
  }

  grantReceive(stream: H2Stream, bytes: number): void {
    this.queue(windowUpdateFrame(stream.id, bytes));
  }

  streamClosed(stream: H2Stream): void {
    if (this.streams.delete(stream.id)) this.openStreams--;
    this.waiting.delete(stream.id);
    if (this.openStreams > 0) return;
    if (this.goawaySent) this.endSoon();
    else if (!this.closed) this.options.onIdle();
  }

  /** flush writes the queued output in one socket write. */
  flush(): void {
    this.flushScheduled = false;
    const output = this.output;
    if (output.length === 0 || this.closed) return;
    this.output = [];
    const outputBytes = this.outputBytes;
    this.outputBytes = 0;
    if (output.length === 1) {
      this.socket.write(output[0]!);
    } else if (outputBytes < writevBytesMin) {
      this.socket.write(Buffer.concat(output, outputBytes));
    } else {
      // Large output (DATA payloads queued as views): one vectored write, no copy into one buffer.
      this.socket.cork();
      for (const bytes of output) this.socket.write(bytes);
      this.socket.uncork();
    }
    if (this.congested && !this.readPaused) {
      this.readPaused = true; // a client that does not read cannot make us buffer more
      this.socket.pause();
    }
  }

  // ---- reading ----

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    const buf = this.input === undefined ? chunk : Buffer.concat([this.input, chunk]);
    let pos = 0;
    try {
      if (!this.prefaceSeen) {
        if (buf.length < h2PrefaceBytes) {
          this.input = buf;
          return;
        }
        if (!buf.subarray(0, h2PrefaceBytes).equals(h2Preface)) throw new H2ProtocolError(H2ErrorCode.protocolError, 'invalid connection preface');
        this.prefaceSeen = true;
        pos = h2PrefaceBytes;
      }
      while (buf.length - pos >= h2FrameHeaderBytes && !this.closed) {
        const length = (buf[pos]! << 16) | (buf[pos + 1]! << 8) | buf[pos + 2]!;
        if (length > h2DefaultFrameBytesMax) throw new H2ProtocolError(H2ErrorCode.frameSizeError, `frame of ${length} bytes above SETTINGS_MAX_FRAME_SIZE`);
        const end = pos + h2FrameHeaderBytes + length;
        if (end > buf.length) break;
        const type = buf[pos + 3]!;
        const flags = buf[pos + 4]!;
        const streamId = buf.readUInt32BE(pos + 5) & 0x7fffffff;
        const payload = buf.subarray(pos + h2FrameHeaderBytes, end);
        pos = end;
        this.onFrame(type, flags, streamId, payload);
      }
    } catch (err) {
      this.failConnection(err);
      return;
    }
    if (pos === buf.length) this.input = undefined;
    else this.input = pos === 0 ? buf : Buffer.from(buf.subarray(pos)); // copy: do not pin the chunk
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.blockStreamId !== 0 && type !== H2FrameType.continuation) {
      throw new H2ProtocolError(H2ErrorCode.protocolError, 'header block interrupted by another frame');
    }
    switch (type) {
      case H2FrameType.data:
        return this.onDataFrame(flags, streamId, payload);
      case H2FrameType.headers:
        return this.onHeadersFrame(flags, streamId, payload);
      case H2FrameType.priority:
        if (streamId === 0) throw new H2ProtocolError(H2ErrorCode.protocolError, 'PRIORITY on stream 0');
        if (payload.length !== 5) this.resetStream(streamId, H2ErrorCode.frameSizeError);
        return;
      case H2FrameType.rstStream:
        return this.onRstStream(streamId, payload);
      case H2FrameType.settings:
        return this.onSettings(flags, streamId, payload);
      case H2FrameType.pushPromise:
        throw new H2ProtocolError(H2ErrorCode.protocolError, 'PUSH_PROMISE from a client');
      case H2FrameType.ping:
        return this.onPing(flags, streamId, payload);
      case H2FrameType.goaway:
        if (streamId !== 0) throw new H2ProtocolError(H2ErrorCode.protocolError, 'GOAWAY on a stream');
        this.goaway();
        return;
      case H2FrameType.windowUpdate:
        return this.onWindowUpdate(streamId, payload);
      case H2FrameType.continuation:
        return this.onContinuation(flags, streamId, payload);
      default:
        return; // unknown frame types are ignored (§4.1)
    }
  }

  private onDataFrame(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new H2ProtocolError(H2ErrorCode.protocolError, 'DATA on stream 0');
    const flowBytes = payload.length;
    if (flowBytes > this.receiveWindow) throw new H2ProtocolError(H2ErrorCode.flowControlError, 'DATA beyond the connection window');
    this.receiveWindow -= flowBytes;
    this.receivedBytes += flowBytes;
    if (this.receivedBytes >= this.receiveWindowBytes / 2) {
      this.queue(windowUpdateFrame(0, this.receivedBytes));
      this.receiveWindow += this.receivedBytes;
      this.receivedBytes = 0;
    }
    let data = payload;
    if (flags & H2Flag.padded) {
      const padBytes = payload[0];
      if (padBytes === undefined || padBytes >= payload.length) throw new H2ProtocolError(H2ErrorCode.protocolError, 'DATA padding exceeds the payload');
      data = payload.subarray(1, payload.length - padBytes);
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      if (streamId > this.lastStreamId) throw new H2ProtocolError(H2ErrorCode.protocolError, 'DATA on an idle stream');
      return; // a stream we closed or refused: its data was in flight
    }
    if (stream.remoteEnded) {
      stream.reset(H2ErrorCode.streamClosed);
      return;
    }
    if (flowBytes > stream.receiveWindow) {
      stream.reset(H2ErrorCode.flowControlError);
      return;
    }
    stream.receiveWindow -= flowBytes;
    stream.onPeerData(data, flowBytes);
    if (flags & H2Flag.endStream && !stream.closed) stream.onPeerEnd();
  }

  private onHeadersFrame(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new H2ProtocolError(H2ErrorCode.protocolError, 'HEADERS on stream 0');
    let fragment = payload;
    if (flags & H2Flag.padded) {
      const padBytes = fragment[0];
      if (padBytes === undefined || padBytes >= fragment.length) throw new H2ProtocolError(H2ErrorCode.protocolError, 'HEADERS padding exceeds the payload');
      fragment = fragment.subarray(1, fragment.length - padBytes);
    }
    if (flags & H2Flag.priority) {
      if (fragment.length < 5) throw new H2ProtocolError(H2ErrorCode.frameSizeError, 'HEADERS too short for its priority fields');
      fragment = fragment.subarray(5);
    }
    const endStream = (flags & H2Flag.endStream) !== 0;
    if (flags & H2Flag.endHeaders) {
      this.onHeaderBlock(streamId, fragment, endStream);
      return;
    }
    this.blockStreamId = streamId;
    this.blockFragments = [Buffer.from(fragment)];
    this.blockBytes = fragment.length;
    this.blockEndStream = endStream;
    this.checkBlockBytes();
  }

  private onContinuation(flags: number, streamId: number, payload: Buffer): void {
    if (this.blockStreamId === 0 || streamId !== this.blockStreamId) {
      throw new H2ProtocolError(H2ErrorCode.protocolError, 'CONTINUATION without a header block in progress on its stream');
    }
    this.blockFragments.push(Buffer.from(payload));
    this.blockBytes += payload.length;
    this.checkBlockBytes();
    if (flags & H2Flag.endHeaders) {
      const block = Buffer.concat(this.blockFragments, this.blockBytes);
      this.blockStreamId = 0;
      this.blockFragments = [];
      this.blockBytes = 0;
      this.onHeaderBlock(streamId, block, this.blockEndStream);
    }
  }

  private checkBlockBytes(): void {
    if (this.blockBytes > this.headerBlockBytesMax) {
      throw new H2ProtocolError(H2ErrorCode.enhanceYourCalm, `header block above ${this.headerBlockBytesMax} bytes`);
    }
  }

  private onHeaderBlock(streamId: number, block: Buffer, endStream: boolean): void {
    let headers: Metadata;
    let listBytes: number;
    let malformed: boolean;
    try {
      [headers, listBytes, malformed] = decodeHeaders(block, this.decoderTable);
    } catch (err) {
      if (err instanceof HpackError) throw new H2ProtocolError(H2ErrorCode.compressionError, err.message);
      throw err;
    }
    const existing = this.streams.get(streamId);
    if (existing !== undefined) {
      // Trailers from the client: they must end the stream (gRPC clients send none).
      if (!endStream || existing.remoteEnded) existing.reset(H2ErrorCode.protocolError);
      else existing.onPeerEnd();
      return;
    }
    if (streamId % 2 === 0 || streamId <= this.lastStreamId) {
      throw new H2ProtocolError(H2ErrorCode.protocolError, `HEADERS opening stream ${streamId} after ${this.lastStreamId} (or an even id)`);
    }
    this.lastStreamId = streamId;
    if (this.goawaySent) {
      this.queue(rstStreamFrame(streamId, H2ErrorCode.refusedStream));
      return;
    }
    if (this.openStreams >= this.concurrentStreamsMax) {
      this.queue(rstStreamFrame(streamId, H2ErrorCode.refusedStream));
      return;
    }
    const stream = new H2Stream(streamId, this, this.peerInitialWindow, this.streamWindowBytes);
    stream.endsWithHeaders = endStream;
    this.streams.set(streamId, stream);
    this.openStreams++;
    if (malformed || headers[':path'] === undefined || headers[':method'] === undefined) {
      stream.reset(H2ErrorCode.protocolError);
      return;
    }
    if (listBytes > this.options.limits.headerListBytesMax) {
      stream.trailersOnly({ 'grpc-status': '8', 'grpc-message': `grpc: header list of ${listBytes} bytes above the limit (${this.options.limits.headerListBytesMax})` });
      if (endStream) stream.onPeerEnd();
      else stream.stopReading();
      return;
    }
    this.options.onStream(stream, headers);
    if (endStream && !stream.closed) stream.onPeerEnd();
  }

  private onRstStream(streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new H2ProtocolError(H2ErrorCode.protocolError, 'RST_STREAM on stream 0');
    if (payload.length !== 4) throw new H2ProtocolError(H2ErrorCode.frameSizeError, 'RST_STREAM of the wrong length');
    if (streamId > this.lastStreamId) throw new H2ProtocolError(H2ErrorCode.protocolError, 'RST_STREAM on an idle stream');
    this.streams.get(streamId)?.close();
  }

  private onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new H2ProtocolError(H2ErrorCode.protocolError, 'SETTINGS on a stream');
    if (flags & H2Flag.ack) {
      if (payload.length !== 0) throw new H2ProtocolError(H2ErrorCode.frameSizeError, 'SETTINGS ACK with a payload');
      return;
    }
    if (payload.length % 6 !== 0) throw new H2ProtocolError(H2ErrorCode.frameSizeError, 'SETTINGS payload not a multiple of 6');
    for (let o = 0; o < payload.length; o += 6) {
      const id = payload.readUInt16BE(o);
      const value = payload.readUInt32BE(o + 2);
      switch (id) {
        case H2Setting.headerTableSize:
          if (value < hpackDefaultTableBytes) this.headerBlockPrefix = hpackTableSizeZero;
          break;
        case H2Setting.enablePush:
          if (value > 1) throw new H2ProtocolError(H2ErrorCode.protocolError, 'SETTINGS_ENABLE_PUSH not 0 or 1');
          break;
        case H2Setting.initialWindowSize: {
          if (value > h2WindowBytesMax) throw new H2ProtocolError(H2ErrorCode.flowControlError, 'SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1');
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          for (const stream of this.streams.values()) {
            stream.sendWindow += delta;
            if (stream.sendWindow > h2WindowBytesMax) throw new H2ProtocolError(H2ErrorCode.flowControlError, 'stream window above 2^31-1');
          }
          if (delta > 0) this.wakeWaiting();
          break;
        }
        case H2Setting.maxFrameSize:
          if (value < h2DefaultFrameBytesMax || value > h2FrameBytesLimit) throw new H2ProtocolError(H2ErrorCode.protocolError, 'SETTINGS_MAX_FRAME_SIZE out of range');
          this.peerFrameBytesMax = value;
          break;
        default:
          break; // maxConcurrentStreams, maxHeaderListSize (advisory), unknown: nothing to do
      }
    }
    this.queue(settingsAckFrame);
  }

  private onPing(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new H2ProtocolError(H2ErrorCode.protocolError, 'PING on a stream');
    if (payload.length !== 8) throw new H2ProtocolError(H2ErrorCode.frameSizeError, 'PING of the wrong length');
    if (flags & H2Flag.ack) {
      const done = this.pingAck;
      this.pingAck = undefined;
      done?.(true);
      return;
    }
    this.options.onPing();
    this.queue(pingFrame(payload, true));
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new H2ProtocolError(H2ErrorCode.frameSizeError, 'WINDOW_UPDATE of the wrong length');
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (streamId === 0) {
      if (increment === 0) throw new H2ProtocolError(H2ErrorCode.protocolError, 'WINDOW_UPDATE of 0 on the connection');
      this.sendWindow += increment;
      if (this.sendWindow > h2WindowBytesMax) throw new H2ProtocolError(H2ErrorCode.flowControlError, 'connection window above 2^31-1');
      this.wakeWaiting();
      return;
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      if (streamId > this.lastStreamId) throw new H2ProtocolError(H2ErrorCode.protocolError, 'WINDOW_UPDATE on an idle stream');
      return;
    }
    if (increment === 0) {
      stream.reset(H2ErrorCode.protocolError);
      return;
    }
    stream.sendWindow += increment;
    if (stream.sendWindow > h2WindowBytesMax) {
      stream.reset(H2ErrorCode.flowControlError);
      return;
    }
    this.waiting.delete(stream.id);
    stream.flush();
  }

  private resetStream(streamId: number, code: H2ErrorCode): void {
    const stream = this.streams.get(streamId);
    if (stream !== undefined) stream.reset(code);
    else this.queue(rstStreamFrame(streamId, code));
  }

  private wakeWaiting(): void {
    if (this.waiting.size === 0) return;
    const waiting = this.waiting.values();
    this.waiting.clear();
    for (const stream of waiting) stream.flush();
  }

  private onSocketDrain(): void {
    if (this.readPaused && !this.congested) {
      this.readPaused = false;
      this.socket.resume();
    }
    this.wakeWaiting();
  }

  private failConnection(err: unknown): void {
    const code = err instanceof H2ProtocolError ? err.h2Code : H2ErrorCode.internalError;
    const message = err instanceof Error ? err.message : String(err);
    if (!(err instanceof H2ProtocolError)) this.options.logger.error('http2 connection failed', { cause: err });
    else this.options.logger.debug('http2 protocol error from client', { code, message });
    this.queue(goawayFrame(this.lastStreamId, code, message));
    this.flush();
    this.closed = true;
    this.socket.end();
    this.closeStreams();
  }

  private endSoon(): void {
    // After the queued output (GOAWAY, last responses) is written.
    process.nextTick(endConnection, this);
  }

  /** endNow ends the socket after the queued output. */
  endNow(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.socket.end();
  }

  private onSocketClose(): void {
    this.closed = true;
    this.closeStreams();
    for (const listener of this.closeListeners.splice(0)) listener();
    const done = this.pingAck;
    this.pingAck = undefined;
    done?.(false);
  }

  private closeStreams(): void {
    for (const stream of this.streams.values()) stream.close();
  }
}

function flushConnection(connection: H2Connection): void {
  connection.flush();
}

function endConnection(connection: H2Connection): void {
  if (connection.openStreams === 0) connection.endNow();
}

/**
 * decodeHeaders turns a request header block into node's header-object shape, with the header
 * list size (§6.5.2: name + value + 32 per field) and whether the list is malformed (an upper-case name or
 * a repeated pseudo-header, §8.2.1, §8.3).
 */
function decodeHeaders(block: Buffer, table: HpackDynamicTable): [Metadata, number, boolean] {
  const headers: Record<string, string | string[] | undefined> = Object.create(null) as Record<string, string>;
  let listBytes = 0;
  let malformed = false;
  forEachHeaderField(block, table, (name, value) => {
    listBytes += name.length + value.length + 32;
    if (name !== name.toLowerCase()) malformed = true;
    const prior = headers[name];
    if (prior === undefined) headers[name] = value;
    else if (name.startsWith(':')) malformed = true; // a repeated pseudo-header is malformed too
    else if (name === 'set-cookie') headers[name] = Array.isArray(prior) ? [...prior, value] : [prior, value];
    else headers[name] = `${String(prior)}, ${value}`;
  });
  return [headers as Metadata, listBytes, malformed];
}
