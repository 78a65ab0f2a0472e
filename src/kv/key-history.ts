import { assert } from '../lib/assert.js';
import { NO_LEASE, type KeyValue, type LeaseId } from './types.js';

/**
 * KeyWrite is one write to a key at revision (main, sub): a put (`kv`) or a delete (`kv` null,
 * a tombstone). Sub-revisions order the writes of one main revision (a txn's ops).
 */
export interface KeyWrite {
  readonly main: number;
  readonly sub: number;
  readonly kv: KeyValue | null;
}

const EMPTY = new Uint8Array(0);

/**
 * StoredWrite is how the store keeps a write: one object that is both the KeyWrite and, for a
 * put, the KeyValue it wrote (for a delete, the kv etcd reports in the DELETE event: the key, the
 * deleting revision, version 0). `key` is the history's key (shared by all its writes); a put
 * has version >= 1, a tombstone version 0. The store alone may move `key` and the value to a new
 * copy of the same bytes (compaction repacks them); nothing else about a write ever changes.
 *
 * The value is kept as a place, not as a view of its own: bytes [valueStart, valueStart +
 * valueLength) of `valueBytes`, which is usually the whole slab chunk the store copied it into,
 * shared by every value in that chunk. A version is then one object instead of two (a typed
 * array view costs about 100 B and is one more object for every collection to trace), which is
 * most of what the store holds. `value` makes a view on demand.
 */
export class StoredWrite implements KeyWrite, KeyValue {
  constructor(
    public key: Uint8Array,
    readonly createRevision: number,
    readonly modRevision: number,
    readonly version: number,
    public valueBytes: Uint8Array,
    public valueStart: number,
    public valueLength: number,
    readonly lease: LeaseId,
    readonly sub: number,
  ) {}

  /** put is a live version of `key` written at (main, sub), its value the whole of `value`. */
  static put(key: Uint8Array, main: number, sub: number, createRevision: number, version: number, value: Uint8Array, lease: LeaseId): StoredWrite {
    return StoredWrite.putAt(key, main, sub, createRevision, version, value, 0, value.length, lease);
  }

  /** putAt is a live version of `key` whose value is bytes [start, start + length) of `container`. */
  static putAt(key: Uint8Array, main: number, sub: number, createRevision: number, version: number,
    container: Uint8Array, start: number, length: number, lease: LeaseId): StoredWrite {
    assert(version >= 1, 'a put has version >= 1');
    assert(start >= 0 && length >= 0 && start + length <= container.length, 'a value lies inside its container');
    return new StoredWrite(key, createRevision, main, version, length === 0 ? EMPTY : container, length === 0 ? 0 : start, length,
      lease === NO_LEASE ? NO_LEASE : lease, sub);
  }

  /** tombstone is a delete of `key` at (main, sub). */
  static tombstone(key: Uint8Array, main: number, sub: number): StoredWrite {
    return new StoredWrite(key, 0, main, 0, EMPTY, 0, 0, NO_LEASE, sub);
  }

  /** value is a view of the value's bytes (the container itself when it holds exactly them). */
  get value(): Uint8Array {
    const bytes = this.valueBytes;
    if (this.valueStart === 0 && this.valueLength === bytes.length) return bytes;
    return bytes.subarray(this.valueStart, this.valueStart + this.valueLength);
  }

  /** moveValue points the value at an identical copy of its bytes (the store's repacking). */
  moveValue(container: Uint8Array, start: number): void {
    assert(start >= 0 && start + this.valueLength <= container.length, 'a value lies inside its container');
    this.valueBytes = container;
    this.valueStart = start;
  }

  get main(): number {
    return this.modRevision;
  }

  get kv(): KeyValue | null {
    return this.version > 0 ? this : null;
  }
}

/**
 * KeyHistory holds every retained write to one key in (main, sub) order. It plays the role of
 * etcd's keyIndex and the backend's revision records at once: the state of the key at revision R
 * is its last write with main <= R (absent if that is a tombstone or there is none).
 * Invariant: `writes` is strictly increasing in (main, sub) and never empty while indexed.
 * Short histories (most keys have one or two writes) are kept in exactly sized arrays.
 */
export class KeyHistory {
  private list: StoredWrite[] = NO_WRITES;

  constructor(public key: Uint8Array, readonly id: string) {}

  /** writes lists the retained writes, oldest first (do not modify). */
  get writes(): readonly StoredWrite[] {
    return this.list;
  }

  /**
   * capture returns the retained writes as an array no later call changes (a short history's
   * array is replaced, never modified, so it is shared; a long one is copied).
   */
  capture(): readonly StoredWrite[] {
    return this.list.length < EXACT_WRITES_MAX ? this.list : this.list.slice();
  }

  /** latest is the newest write. */
  latest(): StoredWrite | undefined {
    return this.list[this.list.length - 1];
  }

  /** indexAt returns the index of the last write with main <= revision, or -1. */
  indexAt(revision: number): number {
    const writes = this.list;
    let lo = 0;
    let hi = writes.length; // first index with main > revision
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (writes[mid]!.modRevision <= revision) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** at returns the live version of the key at `revision`, if any. */
  at(revision: number): KeyValue | undefined {
    const i = this.indexAt(revision);
    return i < 0 ? undefined : this.list[i]!.kv ?? undefined;
  }

  /** indexOf finds the write at exactly (main, sub), or -1. */
  indexOf(main: number, sub: number): number {
    let i = this.indexAt(main);
    while (i >= 0 && this.list[i]!.modRevision === main) {
      if (this.list[i]!.sub === sub) return i;
      i--;
    }
    return -1;
  }

  /** previousVersion is the live version just before write `index` (the event's prevKv). */
  previousVersion(index: number): KeyValue | undefined {
    return index > 0 ? this.list[index - 1]!.kv ?? undefined : undefined;
  }

  /** append records a write; (main, sub) must be above every existing write. */
  append(write: StoredWrite): void {
    const last = this.latest();
    assert(last === undefined || write.main > last.main || (write.main === last.main && write.sub > last.sub),
      'key writes must be appended in revision order');
    const n = this.list.length;
    if (n < EXACT_WRITES_MAX) {
      // push would reserve room for 17 more writes; copy instead while the history is short.
      const next = new Array<StoredWrite>(n + 1);
      for (let i = 0; i < n; i++) next[i] = this.list[i]!;
      next[n] = write;
      this.list = next;
    } else {
      this.list.push(write);
    }
  }

  /**
   * compact drops writes no read or watch at revision >= `compactRevision` can observe: writes
   * with main < compactRevision, except the last of them when it is a live version and no write
   * sits exactly at compactRevision. Returns the dropped writes (for size accounting).
   */
  compact(compactRevision: number): StoredWrite[] {
    const firstAtOrAbove = this.indexAt(compactRevision - 1) + 1;
    let keepFrom = firstAtOrAbove;
    const lastBelow = this.list[firstAtOrAbove - 1];
    const atCompact = this.list[firstAtOrAbove];
    if (lastBelow !== undefined && lastBelow.kv !== null && (atCompact === undefined || atCompact.main !== compactRevision)) {
      keepFrom = firstAtOrAbove - 1;
    }
    if (keepFrom === 0) return [];
    const dropped = this.list.slice(0, keepFrom);
    this.list = this.list.slice(keepFrom);
    return dropped;
  }
}

/** EXACT_WRITES_MAX: histories shorter than this are copied on append instead of grown. */
const EXACT_WRITES_MAX = 8;
const NO_WRITES: StoredWrite[] = [];
