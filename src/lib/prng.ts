/**
 * Prng is the injected source of randomness for pure code (election timeouts, simulator faults).
 * `nextUint32` is the only primitive; everything else is derived from it so two runs from the
 * same seed draw identical sequences.
 */
export interface Prng {
  /** nextUint32 returns a uniformly distributed integer in [0, 2^32). */
  nextUint32(): number;
}

/**
 * Xoshiro128 is xoshiro128** (Blackman and Vigna): small state, fast, good statistical quality,
 * and trivially reproducible from a 32-bit seed (expanded with splitmix32).
 */
export class Xoshiro128 implements Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** randomInt returns an integer in [0, bound) drawn from `prng`; `bound` must be in [1, 2^32]. */
export function randomInt(prng: Prng, bound: number): number {
  if (!(bound >= 1 && bound <= 0x1_0000_0000 && Number.isInteger(bound))) {
    throw new RangeError(`randomInt bound out of range: ${bound}`);
  }
  // Multiply-shift maps a 32-bit draw onto [0, bound) with negligible bias for small bounds.
  return Math.floor((prng.nextUint32() / 0x1_0000_0000) * bound);
}

/** randomFloat returns a float in [0, 1) drawn from `prng`. */
export function randomFloat(prng: Prng): number {
  return prng.nextUint32() / 0x1_0000_0000;
}

/** randomChance returns true with probability `p` (0..1). */
export function randomChance(prng: Prng, p: number): boolean {
  return p > 0 && randomFloat(prng) < p;
}
