import { assert } from '../../lib/assert.js';
import type { LogIndex } from '../types.js';

/**
 * Inflights is the window of MsgApps sent to one follower and not yet acknowledged, bounded by
 * count (`countMax`) and by entry bytes (`bytesMax`, 0 = unbounded). It is a ring buffer of
 * (last index of the message, bytes of the message), oldest first.
 */
export class Inflights {
  private start = 0;
  private countNow = 0;
  private bytesNow = 0;
  private readonly indexes: LogIndex[];
  private readonly sizes: number[];

  constructor(readonly countMax: number, readonly bytesMax: number) {
    assert(countMax > 0, 'inflights countMax must be > 0');
    this.indexes = new Array<LogIndex>(countMax).fill(0);
    this.sizes = new Array<number>(countMax).fill(0);
  }

  get count(): number {
    return this.countNow;
  }

  get bytes(): number {
    return this.bytesNow;
  }

  /** full is true when no further MsgApp may be sent (count or bytes limit reached). */
  full(): boolean {
    return this.countNow === this.countMax || (this.bytesMax !== 0 && this.bytesNow >= this.bytesMax);
  }

  /** add records a MsgApp whose last entry is `index`; indexes must increase. */
  add(index: LogIndex, bytes: number): void {
    assert(!this.full(), 'cannot add into full inflights');
    if (this.countNow > 0) {
      const last = this.indexes[(this.start + this.countNow - 1) % this.countMax]!;
      assert(index > last, () => `inflight index ${index} not above ${last}`);
    }
    const slot = (this.start + this.countNow) % this.countMax;
    this.indexes[slot] = index;
    this.sizes[slot] = bytes;
    this.countNow++;
    this.bytesNow += bytes;
  }

  /** freeLE frees every message whose last index is <= `to` (they were acknowledged). */
  freeLE(to: LogIndex): void {
    while (this.countNow > 0 && this.indexes[this.start]! <= to) {
      this.bytesNow -= this.sizes[this.start]!;
      this.start = (this.start + 1) % this.countMax;
      this.countNow--;
    }
    if (this.countNow === 0) this.start = 0;
  }

  /** reset forgets every message (the follower left the replicate state). */
  reset(): void {
    this.start = 0;
    this.countNow = 0;
    this.bytesNow = 0;
  }
}
