import { CodecError } from '../lib/binary.js';
import { FRAME_PREFIX_BYTES } from './frame-codec.js';

/** RawFrame is one length-delimited frame cut from a byte stream: its type byte and payload. */
export interface RawFrame {
  readonly type: number;
  readonly payload: Uint8Array;
}

/**
 * FrameReader cuts a TCP byte stream into frames. It owns the chunks pushed into it until their
 * frames are returned. A frame whose declared length exceeds `frameBytesMax` (or is zero) throws
 * a CodecError as soon as its length prefix arrives, before any of it is buffered. Payloads are
 * views of the pushed chunks when a frame lies within one chunk, otherwise one copy.
 */
export class FrameReader {
  private readonly chunks: Uint8Array[] = [];
  private headOffset = 0;
  private buffered = 0;
  /** frameLength is the declared length of the frame being received, or -1 before its prefix. */
  private frameLength = -1;
  /** streamOffset counts bytes consumed, for error messages. */
  private streamOffset = 0;

  /** frameBytesMax may be raised after the handshake. */
  constructor(public frameBytesMax: number) {}

  /** bufferedBytes is what has been pushed but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    // A node Buffer's slice() is a view, not a copy: hold plain Uint8Array views so the decoders'
    // BinaryReader.bytes() copies out (and decoded data never pins a socket chunk).
    this.chunks.push(Buffer.isBuffer(chunk) ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength) : chunk);
    this.buffered += chunk.byteLength;
  }

  /** next returns the next complete frame, or undefined until more bytes arrive. */
  next(): RawFrame | undefined {
    if (this.frameLength < 0) {
      if (this.buffered < FRAME_PREFIX_BYTES) return undefined;
      const prefix = this.take(FRAME_PREFIX_BYTES);
      const length = new DataView(prefix.buffer, prefix.byteOffset, 4).getUint32(0, true);
      if (length === 0) throw new CodecError('empty frame', this.streamOffset - 4);
      if (length > this.frameBytesMax) {
        throw new CodecError(`frame of ${length} bytes exceeds the limit of ${this.frameBytesMax}`, this.streamOffset - 4);
      }
      this.frameLength = length;
    }
    if (this.buffered < this.frameLength) return undefined;
    const bytes = this.take(this.frameLength);
    this.frameLength = -1;
    return { type: bytes[0] as number, payload: bytes.subarray(1) };
  }

  private take(n: number): Uint8Array {
    this.buffered -= n;
    this.streamOffset += n;
    const first = this.chunks[0] as Uint8Array;
    if (first.byteLength - this.headOffset >= n) {
      const out = first.subarray(this.headOffset, this.headOffset + n);
      this.advance(first, n);
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0] as Uint8Array;
      const count = Math.min(chunk.byteLength - this.headOffset, n - filled);
      out.set(chunk.subarray(this.headOffset, this.headOffset + count), filled);
      filled += count;
      this.advance(chunk, count);
    }
    return out;
  }

  private advance(chunk: Uint8Array, n: number): void {
    this.headOffset += n;
    if (this.headOffset === chunk.byteLength) {
      this.chunks.shift();
      this.headOffset = 0;
    }
  }
}
