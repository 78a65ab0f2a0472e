/**
 * BinaryWriter / BinaryReader: little-endian framing helpers for the project's binary formats
 * (peer frames, WAL records, snapshots). Integers above 32 bits are safe integers written as
 * float64 (exact up to 2^53) and checked on read. Readers never trust lengths: every read is
 * bounds-checked and a violation throws a CodecError naming the offset.
 */

/** CodecError reports malformed input at a byte offset; raised only at I/O boundaries. */
export class CodecError extends Error {
  override name = 'CodecError';
  readonly code = 'CONCORD_CODEC';
  constructor(message: string, readonly offset: number) {
    super(`${message} (at byte ${offset})`);
  }
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** BinaryWriter appends values to a growable buffer. */
export class BinaryWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private at = 0;

  constructor(initialBytes = 256) {
    this.buffer = new Uint8Array(initialBytes);
    this.view = new DataView(this.buffer.buffer);
  }

  get length(): number {
    return this.at;
  }

  private reserve(bytes: number): void {
    if (this.at + bytes <= this.buffer.byteLength) return;
    let size = this.buffer.byteLength * 2;
    while (size < this.at + bytes) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buffer.subarray(0, this.at));
    this.buffer = next;
    this.view = new DataView(next.buffer);
  }

  u8(value: number): this {
    this.reserve(1);
    this.view.setUint8(this.at, value);
    this.at += 1;
    return this;
  }

  u16(value: number): this {
    this.reserve(2);
    this.view.setUint16(this.at, value, true);
    this.at += 2;
    return this;
  }

  u32(value: number): this {
    this.reserve(4);
    this.view.setUint32(this.at, value, true);
    this.at += 4;
    return this;
  }

  /** u53 writes a non-negative safe integer. */
  u53(value: number): this {
    this.reserve(8);
    this.view.setFloat64(this.at, value, true);
    this.at += 8;
    return this;
  }

  bool(value: boolean): this {
    return this.u8(value ? 1 : 0);
  }

  /** bytes writes a u32 length and the bytes. */
  bytes(value: Uint8Array): this {
    this.u32(value.byteLength);
    this.raw(value);
    return this;
  }

  /** raw writes bytes without a length. */
  raw(value: Uint8Array): this {
    this.reserve(value.byteLength);
    this.buffer.set(value, this.at);
    this.at += value.byteLength;
    return this;
  }

  /** string writes a u32 byte length and UTF-8. */
  string(value: string): this {
    return this.bytes(textEncoder.encode(value));
  }

  /** patchU32 overwrites a u32 written earlier at `offset` (for length prefixes). */
  patchU32(offset: number, value: number): void {
    this.view.setUint32(offset, value, true);
  }

  /** finish returns the written bytes (a view of the internal buffer; the writer must not be reused). */
  finish(): Uint8Array {
    return this.buffer.subarray(0, this.at);
  }
}

/**
 * BinaryReader reads values written by BinaryWriter, bounds-checking every read. By default
 * `bytes()` returns copies, so the input buffer may be reused; with `share: true` it returns views
 * of the input (no copy), for callers that hand each input its own memory (peer frames).
 */
export class BinaryReader {
  private readonly view: DataView;
  private at = 0;
  private readonly share: boolean;

  constructor(private readonly buffer: Uint8Array, options: { share?: boolean } = {}) {
    this.view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    this.share = options.share ?? false;
  }

  get offset(): number {
    return this.at;
  }

  get remaining(): number {
    return this.buffer.byteLength - this.at;
  }

  private need(bytes: number, what: string): void {
    if (this.at + bytes > this.buffer.byteLength) {
      throw new CodecError(`truncated ${what}: need ${bytes} bytes, have ${this.remaining}`, this.at);
    }
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.view.getUint8(this.at++);
  }

  u16(what = 'u16'): number {
    this.need(2, what);
    const v = this.view.getUint16(this.at, true);
    this.at += 2;
    return v;
  }

  u32(what = 'u32'): number {
    this.need(4, what);
    const v = this.view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }

  u53(what = 'integer'): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.at, true);
    if (!Number.isSafeInteger(v) || v < 0) throw new CodecError(`invalid ${what}: ${v}`, this.at);
    this.at += 8;
    return v;
  }

  bool(what = 'bool'): boolean {
    const v = this.u8(what);
    if (v > 1) throw new CodecError(`invalid ${what}: ${v}`, this.at - 1);
    return v === 1;
  }

  /** bytes reads a u32 length and that many bytes (a copy unless the reader shares its buffer). */
  bytes(what = 'bytes', bytesMax = Number.MAX_SAFE_INTEGER): Uint8Array {
    // The "<what> length" name is built only for the error (this runs for every key and value).
    const length = this.remaining >= 4 ? this.u32() : this.u32(`${what} length`);
    if (length > bytesMax) throw new CodecError(`${what} of ${length} bytes exceeds ${bytesMax}`, this.at - 4);
    this.need(length, what);
    // Uint8Array.prototype.slice copies even when the input is a Node Buffer (whose slice is a view).
    const out = this.share
      ? this.buffer.subarray(this.at, this.at + length)
      : Uint8Array.prototype.slice.call(this.buffer, this.at, this.at + length);
    this.at += length;
    return out;
  }

  string(what = 'string', bytesMax = Number.MAX_SAFE_INTEGER): string {
    const raw = this.bytes(what, bytesMax);
    try {
      return textDecoder.decode(raw);
    } catch {
      throw new CodecError(`invalid UTF-8 in ${what}`, this.at - raw.byteLength);
    }
  }

  /** end asserts every byte was consumed. */
  end(what = 'record'): void {
    if (this.remaining !== 0) throw new CodecError(`${this.remaining} trailing bytes after ${what}`, this.at);
  }
}
