import { Duplex } from 'node:stream';
import type net from 'node:net';
import type { Logger } from '../../lib/logger.js';
import {
  AuthorityFixError,
  AuthorityRewriter,
  FrameFlag,
  frameBytesMax,
  frameHeaderBlock,
  frameHeaderBytes,
  FrameType,
  headerBlockBytesMax,
  headerBlockOf,
  http2PrefaceBytes,
  type HeaderBlock,
} from './authority-rewrite.js';

/**
 * ClientFrameFilter rewrites the client→server bytes of one HTTP/2 connection (preface first):
 * every header block (HEADERS + CONTINUATION, buffered whole, at most headerBlockBytesMax) goes
 * through an AuthorityRewriter and is re-framed if it changed; the first `settingsAcksToDrop`
 * empty SETTINGS ACKs are removed (they answer the sniffer's SETTINGS, which node never sent);
 * every other frame passes through byte for byte, streamed without being buffered whole.
 * After a framing or HPACK error it stops interpreting and passes everything on, so node's
 * own checks see the same bytes and answer as they would have (GOAWAY). Pure.
 */
export class ClientFrameFilter {
  readonly rewriter = new AuthorityRewriter();
  private prefaceBytesLeft = http2PrefaceBytes;
  private readonly frameHeader = Buffer.allocUnsafe(frameHeaderBytes);
  private frameHeaderFill = 0;
  /** passBytesLeft: payload bytes of the current pass-through frame still to come. */
  private passBytesLeft = 0;
  /** frame: the HEADERS/CONTINUATION frame being assembled (header included), and its fill. */
  private frame: Buffer | undefined;
  private frameFill = 0;
  /** blockFrames: the complete frames of the header block in progress; blockBytes their size. */
  private blockFrames: Buffer[] = [];
  private blockBytes = 0;
  private passThrough = false;

  constructor(private settingsAcksToDrop: number) {}

  /** transform returns the bytes to forward for `chunk` (often `chunk` itself). Throws AuthorityFixError. */
  transform(chunk: Buffer): Buffer {
    if (this.passThrough) return chunk;
    const out = new Output(chunk);
    const n = chunk.length;
    let pos = 0;
    while (pos < n) {
      if (this.passThrough) {
        out.range(pos, n);
        break;
      }
      if (this.prefaceBytesLeft > 0 || this.passBytesLeft > 0) {
        const preface = this.prefaceBytesLeft > 0;
        const take = Math.min(n - pos, preface ? this.prefaceBytesLeft : this.passBytesLeft);
        out.range(pos, pos + take);
        pos += take;
        if (preface) this.prefaceBytesLeft -= take;
        else this.passBytesLeft -= take;
        continue;
      }
      if (this.frame !== undefined) {
        const take = Math.min(n - pos, this.frame.length - this.frameFill);
        chunk.copy(this.frame, this.frameFill, pos, pos + take);
        this.frameFill += take;
        pos += take;
        if (this.frameFill === this.frame.length) {
          const frame = this.frame;
          this.frame = undefined;
          this.onHeaderFrame(frame, out);
        }
        continue;
      }
      // A frame header: from the chunk when it is all there, else assembled across chunks.
      let header: Buffer;
      const headerStart = pos;
      const headerInChunk = this.frameHeaderFill === 0 && n - pos >= frameHeaderBytes;
      if (headerInChunk) {
        header = chunk.subarray(pos, pos + frameHeaderBytes);
        pos += frameHeaderBytes;
      } else {
        const take = Math.min(n - pos, frameHeaderBytes - this.frameHeaderFill);
        chunk.copy(this.frameHeader, this.frameHeaderFill, pos, pos + take);
        this.frameHeaderFill += take;
        pos += take;
        if (this.frameHeaderFill < frameHeaderBytes) break;
        this.frameHeaderFill = 0;
        header = Buffer.from(this.frameHeader);
      }
      const length = header.readUIntBE(0, 3);
      const type = header[3]!;
      const flags = header[4]!;
      const isBlockFrame = type === FrameType.headers || type === FrameType.continuation;
      if ((this.blockFrames.length > 0 && type !== FrameType.continuation) || (isBlockFrame && length > frameBytesMax)) {
        this.stop(out); // framing error: node reports it
        if (headerInChunk) out.range(headerStart, pos);
        else out.buffer(header);
        continue;
      }
      if (isBlockFrame) {
        if (this.blockBytes + frameHeaderBytes + length > headerBlockBytesMax) {
          throw new AuthorityFixError(`header block larger than ${headerBlockBytesMax} bytes`);
        }
        if (headerInChunk && n - pos >= length) {
          const frame = chunk.subarray(headerStart, pos + length);
          pos += length;
          this.onHeaderFrame(frame, out);
        } else {
          this.frame = Buffer.allocUnsafe(frameHeaderBytes + length);
          header.copy(this.frame, 0);
          this.frameFill = frameHeaderBytes;
          if (length === 0) {
            const frame = this.frame;
            this.frame = undefined;
            this.onHeaderFrame(frame, out);
          }
        }
        continue;
      }
      if (type === FrameType.settings && flags & FrameFlag.ack && length === 0 && this.settingsAcksToDrop > 0) {
        this.settingsAcksToDrop--;
        continue;
      }
      if (headerInChunk) out.range(headerStart, pos);
      else out.buffer(header);
      this.passBytesLeft = length;
    }
    return out.result();
  }

  private onHeaderFrame(frame: Buffer, out: Output): void {
    this.blockFrames.push(frame);
    this.blockBytes += frame.length;
    if ((frame[4]! & FrameFlag.endHeaders) === 0) return;
    const frames = this.blockFrames;
    this.blockFrames = [];
    this.blockBytes = 0;
    let h: HeaderBlock;
    let rewritten: Buffer;
    try {
      h = headerBlockOf(frames);
      rewritten = this.rewriter.rewriteBlock(h.block);
    } catch {
      for (const f of frames) out.frame(f);
      this.passThrough = true; // node's decoder fails on the same bytes and closes the connection
      return;
    }
    if (rewritten === h.block) for (const f of frames) out.frame(f);
    else out.buffer(frameHeaderBlock(h, rewritten));
  }

  private stop(out: Output): void {
    for (const f of this.blockFrames) out.frame(f);
    this.blockFrames = [];
    this.passThrough = true;
  }
}

/** Output collects the bytes to forward for one chunk, merging adjacent ranges of the chunk. */
class Output {
  private readonly pieces: Buffer[] = [];
  private runStart = -1;
  private runEnd = -1;
  constructor(private readonly chunk: Buffer) {}

  range(start: number, end: number): void {
    if (start === this.runEnd) {
      this.runEnd = end;
      return;
    }
    this.flush();
    this.runStart = start;
    this.runEnd = end;
  }

  buffer(bytes: Buffer): void {
    this.flush();
    this.pieces.push(bytes);
  }

  /** frame forwards a complete frame: as a range when it lies in this chunk, else its bytes. */
  frame(frame: Buffer): void {
    const start = frame.byteOffset - this.chunk.byteOffset;
    if (frame.buffer === this.chunk.buffer && start >= 0 && start + frame.length <= this.chunk.length) this.range(start, start + frame.length);
    else this.buffer(frame);
  }

  result(): Buffer {
    this.flush();
    if (this.pieces.length === 1) return this.pieces[0]!;
    return this.pieces.length === 0 ? empty : Buffer.concat(this.pieces);
  }

  private flush(): void {
    if (this.runStart < 0) return;
    this.pieces.push(this.runStart === 0 && this.runEnd === this.chunk.length ? this.chunk : this.chunk.subarray(this.runStart, this.runEnd));
    this.runStart = -1;
    this.runEnd = -1;
  }
}

const empty = Buffer.alloc(0);

/**
 * AuthorityFixStream is the connection node:http2 gets instead of a socket whose client sends
 * authorities nghttp2 refuses: reads are the socket's bytes through a ClientFrameFilter
 * (starting with `initial`, the bytes already read), writes go to the socket unchanged.
 * Backpressure both ways (socket paused while node's side is full; writes wait for 'drain'),
 * end and close/error propagate both ways. node wraps it in its JSStreamSocket.
 */
export class AuthorityFixStream extends Duplex {
  readonly frameFilter: ClientFrameFilter;
  private socketPaused = false;

  constructor(
    private readonly socket: net.Socket,
    initial: Buffer,
    settingsAcksToDrop: number,
    private readonly logger: Logger,
  ) {
    super({ allowHalfOpen: false });
    this.frameFilter = new ClientFrameFilter(settingsAcksToDrop);
    socket.on('data', (chunk: Buffer) => this.onSocketData(chunk));
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
    this.onSocketData(initial);
  }

  override _read(): void {
    if (this.socketPaused) {
      this.socketPaused = false;
      this.socket.resume();
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.socket.write(chunk)) callback();
    else this.socket.once('drain', () => callback());
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.socket.cork();
    let ok = true;
    for (const { chunk } of chunks) ok = this.socket.write(chunk);
    this.socket.uncork();
    if (ok) callback();
    else this.socket.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }

  private onSocketData(chunk: Buffer): void {
    let bytes: Buffer;
    try {
      bytes = this.frameFilter.transform(chunk);
    } catch (err) {
      this.logger.info('closing connection: authority rewrite refused its input', { cause: err });
      this.destroy();
      return;
    }
    if (bytes.length > 0 && !this.push(bytes) && !this.socketPaused) {
      this.socketPaused = true;
      this.socket.pause();
    }
  }
}
