import type { CallTransport, TransportSink } from './call-transport.js';
import { grpcOkTrailers, grpcResponseHeaders } from './call-transport.js';
import { H2ErrorCode, H2Flag, H2FrameType, h2FrameHeaderBytes, rstStreamFrame, writeFrameHeader } from './h2-frames.js';
import { encodeHeaderFields } from './hpack-encode.js';

/** StreamOwner is what an H2Stream needs from its connection (h2-connection.ts). */
export interface StreamOwner {
  /** sendWindow is the connection's send window (bytes of DATA the client accepts now). */
  sendWindow: number;
  /** peerFrameBytesMax is the client's SETTINGS_MAX_FRAME_SIZE. */
  readonly peerFrameBytesMax: number;
  /** congested: the socket holds more unsent bytes than the connection allows; writers wait. */
  readonly congested: boolean;
  /**
   * headerBlockPrefix is a dynamic table size update (to 0) to put first in every header block
   * once the client announced a table smaller than HPACK's default (our encoder never uses the
   * table, so repeating it is always valid); undefined before.
   */
  readonly headerBlockPrefix: number | undefined;
  /** queue appends bytes to the connection's output (written after the current microtasks). */
  queue(bytes: Buffer): void;
  /** blocked registers a stream that waits for send window or for the socket to drain. */
  blocked(stream: H2Stream): void;
  /** grantReceive sends a WINDOW_UPDATE of `bytes` for the stream. */
  grantReceive(stream: H2Stream, bytes: number): void;
  /** streamClosed removes a closed stream. */
  streamClosed(stream: H2Stream): void;
}

/** writeHighWaterBytes: a stream whose unsent data exceeds this asks its writer to wait (drain). */
const writeHighWaterBytes = 64 * 1024;
/** dataCopyBytesMax: DATA payloads below this are copied behind their frame header, larger ones queued as views. */
const dataCopyBytesMax = 4096;

const okFixedHeaderBlock = encodeHeaderFields(Object.entries(grpcResponseHeaders).map(([n, v]) => [n, String(v)]));
const okTrailerBlock = encodeHeaderFields(Object.entries(grpcOkTrailers));

/**
 * H2Stream is one request stream of an H2Connection, implementing CallTransport for a GrpcCall:
 * request DATA goes to the sink (held while paused; our WINDOW_UPDATEs stop with it), responses
 * are framed here and queued on the connection within the client's flow-control windows, the
 * rest waits for WINDOW_UPDATE. A unary response (headers, one message, trailers) that fits the
 * windows is one buffer and one socket write.
 *
 * States (RFC 9113 §5.1): open → half-closed (remote) once the client's END_STREAM arrived, or
 * half-closed (local) once our END_STREAM is queued; closed when both happened, or on RST_STREAM
 * either way, or when the connection ends. `onClose` reaches the sink exactly once.
 */
export class H2Stream implements CallTransport {
  headersSent = false;
  remoteEnded = false;
  /** endsWithHeaders: the request's HEADERS carried END_STREAM (delivered right after onStream). */
  endsWithHeaders = false;
  /** localEnded: our END_STREAM is queued (possibly behind data waiting for window). */
  localEnded = false;
  closed = false;
  /** sendWindow: bytes of DATA the client accepts on this stream now (may go negative on SETTINGS). */
  sendWindow: number;
  /** receiveWindow: bytes of DATA the client may still send before our next WINDOW_UPDATE. */
  receiveWindow: number;
  private sink: TransportSink | undefined;
  private paused = false;
  private held: Buffer[] | undefined;
  private heldEnd = false;
  /** consumedBytes: DATA delivered to the sink since the last WINDOW_UPDATE. */
  private consumedBytes = 0;
  /** pending: response DATA payload not yet framed (waiting for window), then trailers. */
  private pending: Buffer[] | undefined;
  private pendingBytes = 0;
  private pendingTrailers: Buffer | undefined;
  private wantsDrain = false;
  /** stopAfterStatus: the call wants the client stopped (RST_STREAM NO_ERROR) once the trailers are out. */
  private stopAfterStatus = false;

  constructor(
    readonly id: number,
    private readonly owner: StreamOwner,
    sendWindow: number,
    private readonly receiveWindowBytes: number,
  ) {
    this.sendWindow = sendWindow;
    this.receiveWindow = receiveWindowBytes;
  }

  get gone(): boolean {
    return this.closed;
  }

  bind(sink: TransportSink): void {
    this.sink = sink;
  }

  // ---- from the connection ----

  /** onPeerData delivers a DATA payload (`flowBytes` counts padding too). */
  onPeerData(data: Buffer, flowBytes: number): void {
    if (this.paused) {
      (this.held ??= []).push(data);
      this.consumedLater(flowBytes);
      return;
    }
    this.consumed(flowBytes);
    if (data.length > 0) this.sink?.onData(data);
  }

  /** onPeerEnd: the client's END_STREAM. */
  onPeerEnd(): void {
    this.remoteEnded = true;
    if (this.paused) {
      this.heldEnd = true;
      if (this.localEnded && this.pendingTrailers === undefined && this.pending === undefined) this.close();
      return;
    }
    this.sink?.onEnd();
    if (this.localEnded && this.pendingTrailers === undefined && this.pending === undefined) this.close();
  }

  /** onReset: RST_STREAM from the client, or the connection ended. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = undefined;
    this.pendingTrailers = undefined;
    this.held = undefined;
    this.owner.streamClosed(this);
    this.sink?.onClose();
  }

  /** flush sends what waited for window or for the socket; called by the connection. */
  flush(): void {
    if (this.closed) return;
    this.sendPending();
    if (this.wantsDrain && this.pending === undefined && !this.owner.congested) {
      this.wantsDrain = false;
      this.sink?.onDrain();
    }
  }

  // ---- CallTransport ----

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused || this.closed) return;
    this.paused = false;
    const held = this.held;
    this.held = undefined;
    if (held !== undefined) {
      for (const data of held) {
        if (this.paused || this.closed) {
          (this.held ??= []).push(data);
          continue;
        }
        if (data.length > 0) this.sink?.onData(data);
      }
    }
    if (this.paused || this.closed) return;
    this.grantConsumed();
    if (this.heldEnd) {
      this.heldEnd = false;
      this.sink?.onEnd();
      if (this.localEnded && this.pendingTrailers === undefined && this.pending === undefined) this.close();
    }
  }

  sendHeaders(extra: Readonly<Record<string, string>> | undefined): void {
    if (this.headersSent || this.closed) return;
    this.headersSent = true;
    this.owner.queue(this.headerFrame(this.headerBlock(extra), false));
  }

  write(frame: Buffer): boolean {
    if (this.closed || this.localEnded) return false;
    this.enqueueData(frame);
    this.sendPending();
    if (this.pendingBytes > writeHighWaterBytes || this.owner.congested) {
      this.wantsDrain = true;
      this.owner.blocked(this);
      return false;
    }
    return true;
  }

  respondUnary(extra: Readonly<Record<string, string>> | undefined, frame: Buffer, trailers: Readonly<Record<string, string>>): void {
    if (this.closed || this.localEnded) return;
    let trailerBlock = trailers === grpcOkTrailers ? okTrailerBlock : encodeTrailers(trailers);
    const owner = this.owner;
    const fits =
      !this.headersSent &&
      this.pending === undefined &&
      frame.length <= owner.peerFrameBytesMax &&
      frame.length <= this.sendWindow &&
      frame.length <= owner.sendWindow;
    if (!fits) {
      this.sendHeaders(extra);
      this.enqueueData(frame);
      this.endWith(trailerBlock);
      return;
    }
    // One buffer: HEADERS, DATA, HEADERS (END_STREAM).
    const prefix = owner.headerBlockPrefix;
    const headerBlock = extra === undefined && prefix === undefined ? okFixedHeaderBlock : this.headerBlock(extra, prefix);
    if (prefix !== undefined) trailerBlock = this.withPrefix(trailerBlock);
    const total = 3 * h2FrameHeaderBytes + headerBlock.length + frame.length + trailerBlock.length;
    const out = Buffer.allocUnsafe(total);
    let o = 0;
    writeFrameHeader(out, o, headerBlock.length, H2FrameType.headers, H2Flag.endHeaders, this.id);
    o += h2FrameHeaderBytes;
    o += headerBlock.copy(out, o);
    writeFrameHeader(out, o, frame.length, H2FrameType.data, 0, this.id);
    o += h2FrameHeaderBytes;
    o += frame.copy(out, o);
    writeFrameHeader(out, o, trailerBlock.length, H2FrameType.headers, H2Flag.endHeaders | H2Flag.endStream, this.id);
    o += h2FrameHeaderBytes;
    trailerBlock.copy(out, o);
    this.headersSent = true;
    this.localEnded = true;
    this.sendWindow -= frame.length;
    owner.sendWindow -= frame.length;
    owner.queue(out);
    if (this.remoteEnded) this.close();
  }

  endWithTrailers(trailers: Readonly<Record<string, string>>): void {
    if (this.closed || this.localEnded) return;
    this.endWith(encodeTrailers(trailers));
  }

  trailersOnly(fields: Readonly<Record<string, string | number>>): void {
    if (this.closed || this.headersSent) return;
    this.headersSent = true;
    this.localEnded = true;
    const block = encodeWithPrefix(Object.entries({ ...grpcResponseHeaders, ...fields }).map(([n, v]) => [n, String(v)]), this.owner.headerBlockPrefix);
    this.owner.queue(this.headerFrame(block, true));
    if (this.remoteEnded) this.close();
  }

  stopReading(): void {
    if (this.closed || this.remoteEnded || this.endsWithHeaders) return;
    if (this.pending !== undefined || this.pendingTrailers !== undefined) {
      this.stopAfterStatus = true; // once the status is out
      return;
    }
    this.reset(H2ErrorCode.noError);
  }

  /** reset sends RST_STREAM and closes the stream. */
  reset(code: H2ErrorCode): void {
    if (this.closed) return;
    this.owner.queue(rstStreamFrame(this.id, code));
    this.close();
  }

  // ---- internals ----

  private endWith(trailerBlock: Buffer): void {
    this.localEnded = true;
    this.pendingTrailers = this.headerFrame(this.withPrefix(trailerBlock), true);
    this.sendPending();
  }

  private enqueueData(payload: Buffer): void {
    (this.pending ??= []).push(payload);
    this.pendingBytes += payload.length;
  }

  /** sendPending frames queued DATA within both windows, then the trailers once no data waits. */
  private sendPending(): void {
    const owner = this.owner;
    const pending = this.pending;
    if (pending !== undefined) {
      while (pending.length > 0) {
        const window = Math.min(this.sendWindow, owner.sendWindow);
        if (window <= 0 || owner.congested) {
          owner.blocked(this);
          return;
        }
        const head = pending[0]!;
        const take = Math.min(head.length, window, owner.peerFrameBytesMax);
        if (take < dataCopyBytesMax) {
          // A small payload goes out in one buffer with its frame header (one copy).
          const out = Buffer.allocUnsafe(h2FrameHeaderBytes + take);
          writeFrameHeader(out, 0, take, H2FrameType.data, 0, this.id);
          head.copy(out, h2FrameHeaderBytes, 0, take);
          owner.queue(out);
        } else {
          // A large one is queued as a view after its 9-byte header: no copy (the connection
          // writes a turn's large output as a vector).
          const header = Buffer.allocUnsafe(h2FrameHeaderBytes);
          writeFrameHeader(header, 0, take, H2FrameType.data, 0, this.id);
          owner.queue(header);
          owner.queue(take === head.length ? head : head.subarray(0, take));
        }
        if (take === head.length) pending.shift();
        else pending[0] = head.subarray(take);
        this.pendingBytes -= take;
        this.sendWindow -= take;
        owner.sendWindow -= take;
      }
      this.pending = undefined;
    }
    const trailers = this.pendingTrailers;
    if (trailers !== undefined) {
      this.pendingTrailers = undefined;
      owner.queue(trailers);
      if (this.remoteEnded) this.close(); // request data still held (paused) no longer matters
      else if (this.stopAfterStatus) this.reset(H2ErrorCode.noError);
    }
  }

  private headerBlock(extra: Readonly<Record<string, string>> | undefined, prefix = this.owner.headerBlockPrefix): Buffer {
    if (extra === undefined && prefix === undefined) return okFixedHeaderBlock;
    const fields = Object.entries(extra === undefined ? grpcResponseHeaders : { ...grpcResponseHeaders, ...extra }).map(
      ([n, v]): [string, string] => [n, String(v)],
    );
    return encodeWithPrefix(fields, prefix);
  }

  private withPrefix(block: Buffer): Buffer {
    const prefix = this.owner.headerBlockPrefix;
    return prefix === undefined ? block : Buffer.concat([Buffer.from([prefix]), block]);
  }

  /** headerFrame frames a block as HEADERS (+ CONTINUATION) within the client's frame size. */
  private headerFrame(block: Buffer, endStream: boolean): Buffer {
    const max = this.owner.peerFrameBytesMax;
    const frames = Math.max(1, Math.ceil(block.length / max));
    const out = Buffer.allocUnsafe(block.length + frames * h2FrameHeaderBytes);
    let o = 0;
    for (let f = 0, b = 0; f < frames; f++) {
      const take = Math.min(max, block.length - b);
      const last = f === frames - 1;
      const type = f === 0 ? H2FrameType.headers : H2FrameType.continuation;
      const flags = (last ? H2Flag.endHeaders : 0) | (f === 0 && endStream ? H2Flag.endStream : 0);
      writeFrameHeader(out, o, take, type, flags, this.id);
      o += h2FrameHeaderBytes;
      o += block.copy(out, o, b, b + take);
      b += take;
    }
    return out;
  }

  private consumed(flowBytes: number): void {
    this.consumedBytes += flowBytes;
    if (this.consumedBytes >= this.receiveWindowBytes / 2 && !this.remoteEnded) this.grantConsumed();
  }

  private consumedLater(flowBytes: number): void {
    this.consumedBytes += flowBytes;
  }

  private grantConsumed(): void {
    const bytes = this.consumedBytes;
    if (bytes === 0 || this.remoteEnded || this.closed) return;
    this.consumedBytes = 0;
    this.receiveWindow += bytes;
    this.owner.grantReceive(this, bytes);
  }
}

function encodeTrailers(trailers: Readonly<Record<string, string>>): Buffer {
  return encodeHeaderFields(Object.entries(trailers));
}

function encodeWithPrefix(fields: ReadonlyArray<readonly [string, string]>, prefix: number | undefined): Buffer {
  const block = encodeHeaderFields(fields);
  return prefix === undefined ? block : Buffer.concat([Buffer.from([prefix]), block]);
}
