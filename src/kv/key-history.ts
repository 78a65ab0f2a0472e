import { assert } from '../lib/assert.js';
import { NO_LEASE, type KeyValue } from './types.js';

/**
 * KeyWrite is one write to a key at revision (main, sub): a put (`kv`) or a delete (`kv` null,
 * a tombstone). Sub-revisions order the writes of one main revision (a txn's ops).
 */
export interface KeyWrite {
  readonly main: number;
  readonly sub: number;
  readonly kv: KeyValue | null;
}

/**
 * KeyHistory holds every retained write to one key in (main, sub) order. It plays the role of
 * etcd's keyIndex and the backend's revision records at once: the state of the key at revision R
 * is its last write with main <= R (absent if that is a tombstone or there is none).
 * Invariant: `writes` is strictly increasing in (main, sub) and never empty while indexed.
 */
export class KeyHistory {
  readonly writes: KeyWrite[] = [];

  constructor(readonly key: Uint8Array, readonly id: string) {}

  /** latest is the newest write. */
  latest(): KeyWrite | undefined {
    return this.writes[this.writes.length - 1];
  }

  /** indexAt returns the index of the last write with main <= revision, or -1. */
  indexAt(revision: number): number {
    let lo = 0;
    let hi = this.writes.length; // first index with main > revision
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.writes[mid]!.main <= revision) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** at returns the live version of the key at `revision`, if any. */
  at(revision: number): KeyValue | undefined {
    const i = this.indexAt(revision);
    return i < 0 ? undefined : this.writes[i]!.kv ?? undefined;
  }

  /** indexOf finds the write at exactly (main, sub), or -1. */
  indexOf(main: number, sub: number): number {
    let i = this.indexAt(main);
    while (i >= 0 && this.writes[i]!.main === main) {
      if (this.writes[i]!.sub === sub) return i;
      i--;
    }
    return -1;
  }

  /** previousVersion is the live version just before write `index` (the event's prevKv). */
  previousVersion(index: number): KeyValue | undefined {
    return index > 0 ? this.writes[index - 1]!.kv ?? undefined : undefined;
  }

  /** append records a write; (main, sub) must be above every existing write. */
  append(write: KeyWrite): void {
    const last = this.latest();
    assert(last === undefined || write.main > last.main || (write.main === last.main && write.sub > last.sub),
      'key writes must be appended in revision order');
    this.writes.push(write);
  }

  /**
   * compact drops writes no read or watch at revision >= `compactRevision` can observe: writes
   * with main < compactRevision, except the last of them when it is a live version and no write
   * sits exactly at compactRevision. Returns the dropped writes (for size accounting).
   */
  compact(compactRevision: number): KeyWrite[] {
    const firstAtOrAbove = this.indexAt(compactRevision - 1) + 1;
    let keepFrom = firstAtOrAbove;
    const lastBelow = this.writes[firstAtOrAbove - 1];
    const atCompact = this.writes[firstAtOrAbove];
    if (lastBelow !== undefined && lastBelow.kv !== null && (atCompact === undefined || atCompact.main !== compactRevision)) {
      keepFrom = firstAtOrAbove - 1;
    }
    return this.writes.splice(0, keepFrom);
  }
}

/** tombstoneKv is the kv etcd reports for a DELETE event: the key and the deleting revision. */
export function tombstoneKv(key: Uint8Array, main: number): KeyValue {
  return { key, createRevision: 0, modRevision: main, version: 0, value: new Uint8Array(0), lease: NO_LEASE };
}
