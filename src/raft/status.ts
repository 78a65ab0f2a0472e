import type { ProgressState } from './tracker/progress.js';
import type { ConfState, HardState, LogIndex, NodeId, SoftState } from './types.js';

/** ProgressStatus is the leader's view of one member, for status pages and tests. */
export interface ProgressStatus {
  readonly match: LogIndex;
  readonly next: LogIndex;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  readonly recentActive: boolean;
  readonly paused: boolean;
  readonly inflightMsgs: number;
  readonly inflightBytes: number;
  readonly pendingSnapshot: LogIndex;
}

/** RaftStatus is a snapshot of one node's state; `progress` is present on the leader only. */
export interface RaftStatus {
  readonly id: NodeId;
  readonly hardState: HardState;
  readonly softState: SoftState;
  readonly applied: LogIndex;
  readonly lastIndex: LogIndex;
  readonly leadTransferee: NodeId;
  readonly config: ConfState;
  readonly progress: ReadonlyMap<NodeId, ProgressStatus> | undefined;
}
