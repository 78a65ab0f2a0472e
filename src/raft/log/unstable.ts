import { assert } from '../../lib/assert.js';
import type { Entry, LogIndex, Snapshot, Term } from '../types.js';

/**
 * Unstable holds what the core has accepted but the host has not yet persisted: an incoming
 * snapshot and/or a tail of entries starting at `offset`. Invariant: entries[i].index === offset + i.
 */
export class Unstable {
  snapshot: Snapshot | undefined = undefined;
  entries: Entry[] = [];

  constructor(public offset: LogIndex) {}

  /** maybeFirstIndex is the first index if a snapshot is pending (else the storage knows). */
  maybeFirstIndex(): LogIndex | undefined {
    return this.snapshot ? this.snapshot.metadata.index + 1 : undefined;
  }

  /** maybeLastIndex is the last index held here, if any. */
  maybeLastIndex(): LogIndex | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot ? this.snapshot.metadata.index : undefined;
  }

  /** maybeTerm is the term of `index` if held here. */
  maybeTerm(index: LogIndex): Term | undefined {
    if (index < this.offset) {
      return this.snapshot && this.snapshot.metadata.index === index ? this.snapshot.metadata.term : undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || index > last) return undefined;
    return this.entries[index - this.offset]!.term;
  }

  /** stableTo drops entries up to `index` once persisted, if (index, term) still matches. */
  stableTo(index: LogIndex, term: Term): void {
    const t = this.maybeTerm(index);
    if (t === undefined || t !== term || index < this.offset) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  /** stableSnapTo drops the snapshot at `index` once persisted. */
  stableSnapTo(index: LogIndex): void {
    if (this.snapshot && this.snapshot.metadata.index === index) this.snapshot = undefined;
  }

  /** restore replaces everything with an incoming snapshot. */
  restore(snapshot: Snapshot): void {
    this.offset = snapshot.metadata.index + 1;
    this.entries = [];
    this.snapshot = snapshot;
  }

  /** truncateAndAppend appends `entries`, first dropping any conflicting suffix. */
  truncateAndAppend(entries: readonly Entry[]): void {
    const after = entries[0]!.index;
    if (after === this.offset + this.entries.length) {
      for (const e of entries) this.entries.push(e);
    } else if (after <= this.offset) {
      // The log is being truncated to before our offset: replace it all.
      this.offset = after;
      this.entries = [...entries];
    } else {
      assert(after <= this.offset + this.entries.length,
        () => `gap in unstable log: appending at ${after} after last ${this.offset + this.entries.length - 1}`);
      this.entries = this.entries.slice(0, after - this.offset);
      for (const e of entries) this.entries.push(e);
    }
  }

  /** slice returns entries [lo, hi), which must lie within this tail. */
  slice(lo: LogIndex, hi: LogIndex): Entry[] {
    assert(lo <= hi && lo >= this.offset && hi <= this.offset + this.entries.length,
      () => `unstable slice [${lo}, ${hi}) out of bounds [${this.offset}, ${this.offset + this.entries.length})`);
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
