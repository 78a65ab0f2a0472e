import { JointConfig } from '../quorum/joint.js';
import { MajorityConfig, type VoteResult } from '../quorum/majority.js';
import type { ConfState, LogIndex, NodeId } from '../types.js';
import type { Progress } from './progress.js';

/**
 * TrackerConfig is a group configuration: the (possibly joint) voters, the learners, the voters
 * that become learners when the joint config is left, and whether the leave is automatic.
 * Invariants: learners and voters are disjoint; learnersNext ⊆ outgoing voters.
 */
export interface TrackerConfig {
  readonly voters: JointConfig;
  readonly learners: ReadonlySet<NodeId>;
  readonly learnersNext: ReadonlySet<NodeId>;
  readonly autoLeave: boolean;
}

/** EMPTY_TRACKER_CONFIG has no members. */
export const EMPTY_TRACKER_CONFIG: TrackerConfig = {
  voters: new JointConfig(),
  learners: new Set(),
  learnersNext: new Set(),
  autoLeave: false,
};

/** describeTrackerConfig renders `voters=(1 2 3)&&(1 2) learners=(4) learners_next=(5) autoleave`. */
export function describeTrackerConfig(config: TrackerConfig): string {
  const ids = (set: ReadonlySet<NodeId>): string => `(${[...set].sort((a, b) => a - b).join(' ')})`;
  let s = `voters=${config.voters}`;
  if (config.learners.size > 0) s += ` learners=${ids(config.learners)}`;
  if (config.learnersNext.size > 0) s += ` learners_next=${ids(config.learnersNext)}`;
  if (config.autoLeave) s += ' autoleave';
  return s;
}

/** ProgressMap maps every member (voters and learners) to the leader's view of it. */
export type ProgressMap = Map<NodeId, Progress>;

/**
 * ProgressTracker holds the configuration, the progress of every member and the votes of the
 * current election. Members are always visited in ascending id order so traces are stable.
 */
export class ProgressTracker {
  private sortedIds: NodeId[] = [];
  readonly votes = new Map<NodeId, boolean>();

  constructor(
    public config: TrackerConfig,
    public progress: ProgressMap,
    readonly inflightMsgsMax: number,
    readonly inflightBytesMax: number,
  ) {
    this.refreshIds();
  }

  /** setConfig installs a new configuration and progress map (after a conf change or snapshot). */
  setConfig(config: TrackerConfig, progress: ProgressMap): void {
    this.config = config;
    this.progress = progress;
    this.refreshIds();
  }

  private refreshIds(): void {
    this.sortedIds = [...this.progress.keys()].sort((a, b) => a - b);
  }

  /** ids returns every member id (voters and learners) in ascending order; do not mutate. */
  ids(): readonly NodeId[] {
    return this.sortedIds;
  }

  /** confState renders the configuration as recorded in snapshots. */
  confState(): ConfState {
    const sorted = (ids: Iterable<NodeId>): NodeId[] => [...ids].sort((a, b) => a - b);
    return {
      voters: this.config.voters.incoming.sorted(),
      votersOutgoing: this.config.voters.outgoing.sorted(),
      learners: sorted(this.config.learners),
      learnersNext: sorted(this.config.learnersNext),
      autoLeave: this.config.autoLeave,
    };
  }

  /** isSingleton is true when this is a one-voter, non-joint group. */
  isSingleton(): boolean {
    return this.config.voters.incoming.size === 1 && !this.config.voters.isJoint;
  }

  /** isVoter is true when `id` votes in either half of the configuration. */
  isVoter(id: NodeId): boolean {
    return this.config.voters.incoming.has(id) || this.config.voters.outgoing.has(id);
  }

  /** committed is the largest index durably replicated on a quorum (+Infinity for no voters). */
  committed(): LogIndex {
    return this.config.voters.committedIndex((id) => this.progress.get(id)?.match);
  }

  /** quorumActive is true when a quorum of voters was recently active (CheckQuorum). */
  quorumActive(): boolean {
    const active = new Map<NodeId, boolean>();
    for (const id of this.sortedIds) {
      const pr = this.progress.get(id)!;
      if (!pr.isLearner) active.set(id, pr.recentActive);
    }
    return this.config.voters.voteResult(active) === 'won';
  }

  /** resetVotes forgets the current election's votes. */
  resetVotes(): void {
    this.votes.clear();
  }

  /** recordVote records the first answer of `id`; later answers from it are ignored. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  /** tallyVotes counts granted and rejected votes of voters and the election's result. */
  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.sortedIds) {
      const pr = this.progress.get(id)!;
      if (pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: this.config.voters.voteResult(this.votes) };
  }
}

/** majorityOf builds a MajorityConfig; a small helper for confchange and tests. */
export function majorityOf(ids: Iterable<NodeId>): MajorityConfig {
  return new MajorityConfig(ids);
}
