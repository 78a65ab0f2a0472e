import { assert } from './assert.js';

/**
 * IdTable maps numeric ids to values, for ids handed out in increasing order and retired in
 * about the same order: the open HTTP/2 streams of a connection, a member's pending proposals
 * and read rounds. It is two arrays sorted by id, searched by bisection; a retired slot is
 * overwritten with `undefined` at once, and the arrays are compacted in place and only ever
 * replaced to grow.
 *
 * Why not a Map on these paths: V8 rebuilds a Map's hash table as entries come and go (every
 * few dozen ids here, since each id is new), and the table it leaves keeps pointing at its
 * successor and at every value it held. Once such a table has been promoted to the old
 * generation, each scavenge treats it as a root (the old-to-new remembered set) until the next
 * full collection, so its successors, and the requests they held, survive and are promoted in
 * turn. Measured on a member serving 5,000 reads/s through a Map of open streams: ≈ 1.7 MB of
 * already-finished requests survived every scavenge and each scavenge paused 5–12 ms; with this
 * table, ≈ 1 KB and 1–2 ms (docs/performance.md, "Request objects promoted by dead hash tables").
 *
 * Cost: get / has / delete O(log n); set O(1) for a new highest id (the common case), O(n) for
 * an id below the highest; compaction is amortised O(1) per delete. Memory stays at the
 * largest number of slots in use at once (the arrays shrink only when far larger than needed).
 */
export class IdTable<V> {
  private readonly ids: number[] = [];
  private readonly slots: Array<V | undefined> = [];
  /** Slots [start, end) hold the entries; a retired slot holds undefined. */
  private start = 0;
  private end = 0;
  private count = 0;

  /** size is the number of entries. */
  get size(): number {
    return this.count;
  }

  get(id: number): V | undefined {
    const i = this.bisect(id);
    return i < this.end && this.ids[i] === id ? this.slots[i] : undefined;
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** set adds or replaces the entry of `id`; `value` must not be undefined. */
  set(id: number, value: V): void {
    assert(value !== undefined, 'IdTable values are not undefined');
    const end = this.end;
    if (end === 0 || id > this.ids[end - 1]!) {
      this.put(end, id, value);
      this.end = end + 1;
      this.count++;
      return;
    }
    const at = this.bisect(id);
    if (this.ids[at] === id) {
      if (this.slots[at] === undefined) this.count++;
      this.slots[at] = value;
      if (at < this.start) this.start = at;
      return;
    }
    // An id below the highest: shift the slots above it up by one.
    this.put(end, this.ids[end - 1]!, this.slots[end - 1]);
    for (let j = end - 1; j > at; j--) {
      this.ids[j] = this.ids[j - 1]!;
      this.slots[j] = this.slots[j - 1];
    }
    this.ids[at] = id;
    this.slots[at] = value;
    if (at < this.start) this.start = at;
    this.end = end + 1;
    this.count++;
  }

  /** delete removes the entry of `id`; false if there was none. */
  delete(id: number): boolean {
    const i = this.bisect(id);
    if (i >= this.end || this.ids[i] !== id || this.slots[i] === undefined) return false;
    this.slots[i] = undefined;
    this.count--;
    if (this.count === 0) {
      this.start = 0;
      this.end = 0;
      return true;
    }
    if (i === this.start) {
      let s = i + 1;
      while (this.slots[s] === undefined) s++;
      this.start = s;
    }
    if (this.end - this.count > this.count + 32) this.compact();
    return true;
  }

  /** clear removes every entry. */
  clear(): void {
    for (let i = this.start; i < this.end; i++) this.slots[i] = undefined;
    this.start = 0;
    this.end = 0;
    this.count = 0;
  }

  /** values lists the values in id order (a copy: the table may change while it is walked). */
  values(): V[] {
    const out: V[] = [];
    for (let i = this.start; i < this.end; i++) {
      const v = this.slots[i];
      if (v !== undefined) out.push(v);
    }
    return out;
  }

  /** entries lists [id, value] pairs in id order (a copy). */
  entries(): Array<[number, V]> {
    const out: Array<[number, V]> = [];
    for (let i = this.start; i < this.end; i++) {
      const v = this.slots[i];
      if (v !== undefined) out.push([this.ids[i]!, v]);
    }
    return out;
  }

  /** bisect is the first slot in [start, end) whose id is >= `id` (end if none). */
  private bisect(id: number): number {
    const ids = this.ids;
    let lo = this.start;
    let hi = this.end;
    // The newest entries are the ones most looked up: try the last slot first.
    if (hi > lo && ids[hi - 1] === id) return hi - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ids[mid]! < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private put(at: number, id: number, value: V | undefined): void {
    if (at === this.ids.length) {
      this.ids.push(id);
      this.slots.push(value);
    } else {
      this.ids[at] = id;
      this.slots[at] = value;
    }
  }

  /** compact moves the entries to the front, clearing the slots they leave. */
  private compact(): void {
    let j = 0;
    for (let i = this.start; i < this.end; i++) {
      const v = this.slots[i];
      if (v === undefined) continue;
      this.ids[j] = this.ids[i]!;
      this.slots[j] = v;
      j++;
    }
    for (let i = j; i < this.end; i++) this.slots[i] = undefined;
    this.start = 0;
    this.end = j;
    // Every slot from `end` on is undefined, so a shorter array drops no live reference.
    if (this.slots.length > 4 * (j + 256)) {
      this.ids.length = j;
      this.slots.length = j;
    }
  }
}
