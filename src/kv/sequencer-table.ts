import { keyString } from './bytes.js';
import { KvErrorCode, kvError, type KvError } from './kv-errors.js';
import type { ResponseHeader } from './types.js';

/** SEQUENCER_NAME_BYTES_MAX bounds a counter's name. */
export const SEQUENCER_NAME_BYTES_MAX = 256;
/** SEQUENCER_COUNT_MAX bounds the numbers one Next call takes. */
export const SEQUENCER_COUNT_MAX = 10_000;
/** SEQUENCER_COUNTERS_MAX bounds the number of named counters (they are never deleted). */
export const SEQUENCER_COUNTERS_MAX = 100_000;

/** SequencerNextRequest takes `count` numbers (0 means 1) from the counter `name`. */
export interface SequencerNextRequest {
  readonly name: Uint8Array;
  readonly count: number;
}

/**
 * SequencerNextResponse hands out `first .. first + count - 1`. The header revision is the
 * store's current revision: a Next consumes no MVCC revision and produces no watch event.
 */
export interface SequencerNextResponse {
  readonly header: ResponseHeader;
  readonly first: number;
  readonly count: number;
}

/** SequencerCounter is one counter in a snapshot: the last number handed out (0: none yet). */
export interface SequencerCounter {
  readonly name: Uint8Array;
  readonly last: number;
}

/** checkSequencerNext validates a request's shape (also done at the API boundary). */
export function checkSequencerNext(r: SequencerNextRequest): KvError | undefined {
  const valid = r.name.length > 0 && r.name.length <= SEQUENCER_NAME_BYTES_MAX &&
    Number.isSafeInteger(r.count) && r.count >= 0 && r.count <= SEQUENCER_COUNT_MAX;
  return valid ? undefined : kvError(KvErrorCode.SequencerBadRequest);
}

/**
 * SequencerTable holds the named counters of the replicated state (DESIGN §9): each starts at 0
 * and only a applied `sequencerNext` command advances it, by exactly the count it hands out, so
 * the numbers of one counter are unique and gapless in log order. Owned by the MvccStore.
 */
export class SequencerTable {
  /** last maps a name (binary string) to the last number handed out. */
  private last = new Map<string, { readonly name: Uint8Array; last: number }>();

  /** next advances `name` by `count` (0 = 1) and returns the first number taken. */
  next(r: SequencerNextRequest): { ok: true; first: number; count: number } | { ok: false; error: KvError } {
    const invalid = checkSequencerNext(r);
    if (invalid !== undefined) return { ok: false, error: invalid };
    const count = r.count === 0 ? 1 : r.count;
    const id = keyString(r.name);
    const counter = this.last.get(id);
    const last = counter?.last ?? 0;
    if (last + count > Number.MAX_SAFE_INTEGER) return { ok: false, error: kvError(KvErrorCode.SequencerExhausted) };
    if (counter === undefined) {
      if (this.last.size >= SEQUENCER_COUNTERS_MAX) return { ok: false, error: kvError(KvErrorCode.SequencerExhausted) };
      this.last.set(id, { name: r.name.slice(), last: count });
    } else {
      counter.last = last + count;
    }
    return { ok: true, first: last + 1, count };
  }

  /** lastOf is the last number handed out by `name` (0: none). */
  lastOf(name: Uint8Array): number {
    return this.last.get(keyString(name))?.last ?? 0;
  }

  /** export lists the counters in name order (canonical, for snapshots and hashes). */
  export(): SequencerCounter[] {
    return [...this.last.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, c]) => ({ name: c.name, last: c.last }));
  }

  /** import replaces every counter. */
  import(counters: readonly SequencerCounter[]): void {
    this.last = new Map(counters.map((c) => [keyString(c.name), { name: c.name, last: c.last }]));
  }
}
