import type { LogIndex, NodeId } from '../types.js';
import { MajorityConfig, VoteResult, type AckedIndexer } from './majority.js';

/**
 * JointConfig is the configuration during a membership change (Raft thesis §4.3): decisions need
 * a majority of `incoming` AND a majority of `outgoing`. Outside a change `outgoing` is empty,
 * which makes the joint config behave exactly like `incoming`.
 */
export class JointConfig {
  constructor(
    readonly incoming: MajorityConfig = new MajorityConfig(),
    readonly outgoing: MajorityConfig = new MajorityConfig(),
  ) {}

  /** isJoint is true while a joint change is in progress. */
  get isJoint(): boolean {
    return this.outgoing.size > 0;
  }

  /** ids is the union of both halves' voters. */
  ids(): Set<NodeId> {
    const all = new Set<NodeId>(this.incoming.ids);
    for (const id of this.outgoing.ids) all.add(id);
    return all;
  }

  /** committedIndex is the smaller of the two halves' committed indexes. */
  committedIndex(acked: AckedIndexer): LogIndex {
    return Math.min(this.incoming.committedIndex(acked), this.outgoing.committedIndex(acked));
  }

  /** voteResult is won if both halves won, lost if either lost, else pending. */
  voteResult(votes: ReadonlyMap<NodeId, boolean>): VoteResult {
    const a = this.incoming.voteResult(votes);
    const b = this.outgoing.voteResult(votes);
    if (a === b) return a;
    if (a === VoteResult.Lost || b === VoteResult.Lost) return VoteResult.Lost;
    return VoteResult.Pending;
  }

  toString(): string {
    return this.isJoint ? `${this.incoming}&&${this.outgoing}` : this.incoming.toString();
  }
}
