import { assert } from '../lib/assert.js';
import type { KeyHistory, KeyWrite } from './key-history.js';

/**
 * RevisionLog lists the store's retained writes with main revision >= the compact revision, in
 * (main, sub) order, each with the key history it belongs to: what replaying history to watchers
 * walks. Writes arrive in revision order, so it is two parallel arrays (no object or tree node
 * per write) searched by bisection; compaction drops a prefix.
 * Invariant: `writes` is strictly increasing in (main, sub); `histories[i]` holds `writes[i]`.
 */
export class RevisionLog {
  private histories: KeyHistory[] = [];
  private writes: KeyWrite[] = [];

  /** length is the number of writes listed. */
  get length(): number {
    return this.writes.length;
  }

  /** append lists `write` of `history`; it must come after every listed write. */
  append(history: KeyHistory, write: KeyWrite): void {
    const last = this.writes[this.writes.length - 1];
    assert(last === undefined || write.main > last.main || (write.main === last.main && write.sub > last.sub),
      'revision log appended in revision order');
    this.histories.push(history);
    this.writes.push(write);
  }

  /** firstAtOrAbove is the index of the first write with main >= `main` (length if none). */
  firstAtOrAbove(main: number): number {
    let lo = 0;
    let hi = this.writes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.writes[mid]!.main < main) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  writeAt(index: number): KeyWrite {
    return this.writes[index]!;
  }

  historyAt(index: number): KeyHistory {
    return this.histories[index]!;
  }

  /** dropBelow forgets the writes with main < `main` (compaction). */
  dropBelow(main: number): void {
    const count = this.firstAtOrAbove(main);
    if (count === 0) return;
    this.histories.splice(0, count);
    this.writes.splice(0, count);
  }

  clear(): void {
    this.histories = [];
    this.writes = [];
  }
}
