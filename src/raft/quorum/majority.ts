import type { LogIndex, NodeId } from '../types.js';

/** VoteResult is the outcome of counting votes: won, lost, or still pending. */
export const VoteResult = { Pending: 'pending', Lost: 'lost', Won: 'won' } as const;
export type VoteResult = (typeof VoteResult)[keyof typeof VoteResult];

/** AckedIndexer returns the highest log index a voter is known to have durably (undefined: none). */
export type AckedIndexer = (id: NodeId) => LogIndex | undefined;

/**
 * MajorityConfig is a set of voters; a decision needs more than half of them. The empty config
 * is special: it wins every vote and commits everything (so a joint config whose outgoing half
 * is empty behaves like its incoming half alone).
 */
export class MajorityConfig {
  readonly ids: ReadonlySet<NodeId>;
  /** scratch holds committedIndex's sorted acknowledgements (one slot per voter). */
  private scratch: number[] | undefined;

  constructor(ids: Iterable<NodeId> = []) {
    this.ids = new Set(ids);
  }

  get size(): number {
    return this.ids.size;
  }

  has(id: NodeId): boolean {
    return this.ids.has(id);
  }

  /** sorted returns the voters in ascending order. */
  sorted(): NodeId[] {
    return [...this.ids].sort((a, b) => a - b);
  }

  /**
   * committedIndex is the largest index acknowledged by a majority: with the acked indexes sorted
   * descending, the one at position n/2 (0-based, floor). An empty config returns +Infinity.
   */
  committedIndex(acked: AckedIndexer): LogIndex {
    const n = this.ids.size;
    if (n === 0) return Number.POSITIVE_INFINITY;
    // Called on every acknowledgement: an insertion sort into an array kept with the config (the
    // voters are few) allocates nothing, where Array.prototype.sort allocates a work array per call.
    const indexes = (this.scratch ??= new Array<number>(n).fill(0));
    let i = 0;
    for (const id of this.ids) {
      const v = acked(id) ?? 0;
      let j = i++;
      for (; j > 0 && indexes[j - 1]! < v; j--) indexes[j] = indexes[j - 1]!;
      indexes[j] = v;
    }
    return indexes[Math.floor(n / 2)]!;
  }

  /** voteResult counts `votes` (true: granted, false: rejected, missing: not yet answered). */
  voteResult(votes: ReadonlyMap<NodeId, boolean>): VoteResult {
    const n = this.ids.size;
    if (n === 0) return VoteResult.Won;
    let granted = 0;
    let missing = 0;
    for (const id of this.ids) {
      const v = votes.get(id);
      if (v === undefined) missing++;
      else if (v) granted++;
    }
    const quorum = Math.floor(n / 2) + 1;
    if (granted >= quorum) return VoteResult.Won;
    if (granted + missing >= quorum) return VoteResult.Pending;
    return VoteResult.Lost;
  }

  toString(): string {
    return `(${this.sorted().join(' ')})`;
  }
}
