/**
 * Bitset is the set of operations linearized so far, one bit per operation of a partition, with
 * an incrementally maintained Zobrist hash (XOR of a fixed pseudo-random word per member) so the
 * memo can key on it in O(1) per step.
 */
import { mix32 } from './model.js';

/** bitZobrist returns the fixed hash word of member `index`. */
export function bitZobrist(index: number): number {
  return mix32((Math.imul(index + 1, 0x9e3779b1) + 0x7f4a7c15) >>> 0) || 1;
}

/** Bitset owns its words; `hash` always equals the XOR of bitZobrist over the members. */
export class Bitset {
  readonly words: Uint32Array;
  hash = 0;

  constructor(readonly size: number) {
    this.words = new Uint32Array(Math.max(1, Math.ceil(size / 32)));
  }

  has(index: number): boolean {
    return ((this.words[index >>> 5]! >>> (index & 31)) & 1) === 1;
  }

  /** set adds `index`, which must not be a member. */
  set(index: number): void {
    const w = index >>> 5;
    this.words[w] = this.words[w]! | (1 << (index & 31));
    this.hash ^= bitZobrist(index);
  }

  /** clear removes `index`, which must be a member. */
  clear(index: number): void {
    const w = index >>> 5;
    this.words[w] = this.words[w]! & ~(1 << (index & 31));
    this.hash ^= bitZobrist(index);
  }

  /** equalsWords tells whether `other` (a snapshot of a bitset of the same size) has the same members. */
  equalsWords(other: Uint32Array): boolean {
    const words = this.words;
    for (let i = 0; i < words.length; i++) if (words[i] !== other[i]) return false;
    return true;
  }

  /** count returns the number of members. */
  count(): number {
    let n = 0;
    for (const word of this.words) {
      let v = word;
      v = v - ((v >>> 1) & 0x55555555);
      v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
      n += (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
    }
    return n;
  }
}
