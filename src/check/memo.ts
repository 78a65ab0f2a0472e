/**
 * VisitedSet is Lowe's memo for the Wing–Gong search: the configurations already explored, each
 * a (completed operations linearized, model state, unknown-outcome operations linearized)
 * triple. Reaching a configuration again cannot lead anywhere new, so the search prunes it.
 *
 * Beyond exact repeats, a configuration is also pruned when a visited one has the same completed
 * set and state and linearized a *subset* of its unknown-outcome operations: the visited one has
 * every option the new one has (an unknown-outcome operation it left out can still be linearized
 * later or never, and such operations block nobody, having no return), so whatever the new one
 * could complete, the visited one could too. This keeps abandoned writes that were later
 * overwritten from doubling the search once per write.
 *
 * Keyed by a 32-bit hash of the completed set and the state; each bucket is a chain checked
 * exactly.
 */

interface VisitedEntry<State> {
  readonly completed: Uint32Array;
  readonly unknown: Uint32Array;
  readonly state: State;
  readonly next: VisitedEntry<State> | undefined;
}

/** VISITED_ENTRY_OVERHEAD_BYTES estimates the per-entry cost beyond the bitset words (objects, map slot). */
export const VISITED_ENTRY_OVERHEAD_BYTES = 160;

/** VisitedSet owns copies of the bitsets it stores; `bytes` is an estimate of its memory use. */
export class VisitedSet<State> {
  private readonly buckets = new Map<number, VisitedEntry<State>>();
  size = 0;
  bytes = 0;

  constructor(private readonly equal: (a: State, b: State) => boolean) {}

  /**
   * addIfAbsent records the configuration and returns true, or returns false when a visited
   * configuration equals or dominates it (see the file comment). The words are copied.
   */
  addIfAbsent(completed: Uint32Array, completedHash: number, unknown: Uint32Array, state: State, stateHash: number): boolean {
    const key = (completedHash ^ Math.imul(stateHash, 0x9e3779b1)) >>> 0;
    const head = this.buckets.get(key);
    for (let e = head; e !== undefined; e = e.next) {
      if (sameWords(e.completed, completed) && isSubset(e.unknown, unknown) && this.equal(e.state, state)) return false;
    }
    this.buckets.set(key, { completed: completed.slice(), unknown: unknown.slice(), state, next: head });
    this.size++;
    this.bytes += completed.byteLength + unknown.byteLength + VISITED_ENTRY_OVERHEAD_BYTES;
    return true;
  }
}

function sameWords(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** isSubset tells whether every member of `a` is a member of `b` (same length). */
function isSubset(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if ((a[i]! & ~b[i]!) !== 0) return false;
  return true;
}
