import { assert } from '../lib/assert.js';

/**
 * ByteSlab keeps the store's keys and values packed into shared chunks: `copy` returns a view of
 * a fresh copy of its input inside the current chunk. A value of its own Uint8Array costs an
 * ArrayBuffer object and a malloc'd backing store besides its bytes (about 400 B of overhead for
 * a 256 B value); a view into a chunk costs only the view.
 *
 * A chunk lives as long as any view into it, so the slab counts each chunk's bytes still held
 * (`release` subtracts what the store let go of) and `isSparse` tells the store which views sit
 * in chunks that are mostly garbage: the store copies those survivors again (`copy`), after which
 * the old chunk is unreachable and freed. Counting is by bytes released, not by identity: a view
 * released twice only makes its chunk look sparser (an extra copy, never a lost byte).
 * Inputs larger than `largeBytes` get a right-sized buffer of their own (never counted).
 */
export class ByteSlab {
  private chunk: SlabChunk | undefined;
  /** chunks maps each chunk's buffer to its counters (weakly: a chunk nobody views is freed). */
  private readonly chunks = new WeakMap<ArrayBufferLike, SlabChunk>();

  /**
   * @param chunkBytes the size of each chunk.
   * @param largeBytes inputs above this size are copied into their own buffer.
   */
  constructor(readonly chunkBytes = SLAB_CHUNK_BYTES, readonly largeBytes = SLAB_LARGE_BYTES) {
    assert(Number.isSafeInteger(chunkBytes) && chunkBytes > 0, 'slab chunk size must be a positive integer');
    assert(Number.isSafeInteger(largeBytes) && largeBytes >= 0 && largeBytes <= chunkBytes, 'slab large-input bound within a chunk');
  }

  /**
   * placedIn is where the last `place` put its input: the whole view of the chunk (shared by every
   * input in it), the input's own copy when it was large, or the shared empty array.
   */
  placedIn: Uint8Array = EMPTY_BYTES;

  /**
   * place copies `bytes` into the slab and returns the offset of the copy in `placedIn`: a caller
   * that keeps (placedIn, offset, length) holds no view of its own.
   */
  place(bytes: Uint8Array): number {
    const length = bytes.length;
    if (length === 0) {
      this.placedIn = EMPTY_BYTES;
      return 0;
    }
    if (length > this.largeBytes) {
      this.placedIn = Uint8Array.prototype.slice.call(bytes);
      return 0;
    }
    let chunk = this.chunk;
    if (chunk === undefined || chunk.used + length > chunk.buffer.byteLength) {
      const buffer = new ArrayBuffer(this.chunkBytes);
      chunk = { buffer, view: new Uint8Array(buffer), used: 0, held: 0 };
      this.chunks.set(buffer, chunk);
      this.chunk = chunk;
    }
    const at = chunk.used;
    chunk.view.set(bytes, at);
    chunk.used += length;
    chunk.held += length;
    this.placedIn = chunk.view;
    return at;
  }

  /** copy returns a view of a copy of `bytes` (the shared empty array for no bytes). */
  copy(bytes: Uint8Array): Uint8Array {
    const at = this.place(bytes);
    const container = this.placedIn;
    return at === 0 && container.length === bytes.length ? container : container.subarray(at, at + bytes.length);
  }

  /** release records that the store no longer holds `view` (a view `copy` returned). */
  release(view: Uint8Array): void {
    this.releaseBytes(view, view.length);
  }

  /** releaseBytes records that the store no longer holds `length` bytes placed in `container`. */
  releaseBytes(container: Uint8Array, length: number): void {
    const chunk = this.chunks.get(container.buffer);
    if (chunk !== undefined) chunk.held = Math.max(0, chunk.held - length);
  }

  /**
   * isSparse is true when `view` sits in a full chunk (not the one being filled) of which at most
   * a quarter is still held: copying it again lets that chunk go.
   */
  isSparse(view: Uint8Array): boolean {
    const chunk = this.chunks.get(view.buffer);
    return chunk !== undefined && chunk !== this.chunk && chunk.held * 4 <= chunk.used;
  }

  /** heldBytes is what the store still holds of the chunk holding `view` (for tests), or undefined. */
  heldBytes(view: Uint8Array): number | undefined {
    return this.chunks.get(view.buffer)?.held;
  }
}

interface SlabChunk {
  readonly buffer: ArrayBuffer;
  /** view is the whole chunk, the container `place` reports. */
  readonly view: Uint8Array;
  /** used is how far the chunk is filled. */
  used: number;
  /** held counts the bytes of views the store has not released. */
  held: number;
}

/** SLAB_CHUNK_BYTES is the default chunk size. */
export const SLAB_CHUNK_BYTES = 64 * 1024;
/** SLAB_LARGE_BYTES is the default size above which an input gets its own buffer. */
export const SLAB_LARGE_BYTES = 4 * 1024;

const EMPTY_BYTES = new Uint8Array(0);
