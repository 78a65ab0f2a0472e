/**
 * The data of the Raft core: ids, entries, messages, hard/soft state, snapshots, configurations
 * and the Ready batch. Everything here is plain data (no methods) so it can be encoded for the
 * wire and the WAL, compared in tests and printed by `describe.ts`.
 *
 * Terms and log indexes are non-negative safe integers (they grow by one per election / per entry,
 * so 2^53 is never reached). Node ids are positive safe integers chosen by the server layer.
 */

/** NodeId names a member of one Raft group; a positive safe integer. 0 means "none". */
export type NodeId = number & { readonly __brand: 'NodeId' };

/** NONE is the NodeId meaning "no node" (no leader known, no vote cast). */
export const NONE = 0 as NodeId;

/** nodeId brands a number as a NodeId after checking it is a positive safe integer. */
export function nodeId(id: number): NodeId {
  if (!Number.isSafeInteger(id) || id <= 0) throw new RangeError(`invalid node id: ${id}`);
  return id as NodeId;
}

/** Term is a Raft term (epoch); a non-negative safe integer. */
export type Term = number;
/** LogIndex is a position in the Raft log; a non-negative safe integer, 0 before the first entry. */
export type LogIndex = number;

/** EntryType says how the state machine must read an entry's data. */
export const EntryType = {
  /** Normal carries application data (empty data: the leader's no-op of a new term). */
  Normal: 'normal',
  /** ConfChange carries an encoded `ConfChange` (see conf-change-codec.ts). */
  ConfChange: 'conf-change',
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

/** Entry is one Raft log entry. Its size for limits is `entryBytes()` (data plus a fixed overhead). */
export interface Entry {
  readonly term: Term;
  readonly index: LogIndex;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** HardState is what must be durable before any message produced with it is sent. */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId;
  readonly commit: LogIndex;
}

/** EMPTY_HARD_STATE is the hard state of a node that never ran. */
export const EMPTY_HARD_STATE: HardState = { term: 0, vote: NONE, commit: 0 };

/** Role is a node's role in its group. PreCandidate is the PreVote phase (Raft thesis §9.6). */
export const Role = {
  Follower: 'follower',
  PreCandidate: 'pre-candidate',
  Candidate: 'candidate',
  Leader: 'leader',
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/** SoftState is volatile state the host may want to observe (leader tracking); never persisted. */
export interface SoftState {
  readonly leader: NodeId;
  readonly role: Role;
}

/**
 * ConfState is a group configuration as recorded in snapshots. In a joint configuration
 * `votersOutgoing` is non-empty; `learnersNext` are voters of the outgoing config that become
 * learners when the joint config is left; `autoLeave` makes the leader propose the leave itself.
 */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly votersOutgoing: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly learnersNext: readonly NodeId[];
  readonly autoLeave: boolean;
}

/** EMPTY_CONF_STATE is the configuration with no members. */
export const EMPTY_CONF_STATE: ConfState = {
  voters: [], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false,
};

/** SnapshotMetadata says which prefix of the log a snapshot replaces and the config at its end. */
export interface SnapshotMetadata {
  readonly index: LogIndex;
  readonly term: Term;
  readonly confState: ConfState;
}

/** Snapshot is the state machine state at `metadata.index`, as opaque bytes. */
export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

/** EMPTY_SNAPSHOT has index 0: no snapshot. */
export const EMPTY_SNAPSHOT: Snapshot = {
  metadata: { index: 0, term: 0, confState: EMPTY_CONF_STATE },
  data: new Uint8Array(0),
};

/** ConfChangeType is one membership step. */
export const ConfChangeType = {
  AddVoter: 'add-voter',
  AddLearner: 'add-learner',
  RemoveNode: 'remove-node',
} as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

/** ConfChangeSingle adds or removes one node. */
export interface ConfChangeSingle {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
}

/**
 * ConfChangeTransition picks how a change is applied:
 * - `auto`: one simple change (at most one voter added/removed) applies directly; anything larger
 *   enters a joint configuration that the leader leaves automatically;
 * - `joint-implicit`: always joint, left automatically;
 * - `joint-explicit`: always joint, left only by an empty ConfChange proposed by the application.
 */
export const ConfChangeTransition = {
  Auto: 'auto',
  JointImplicit: 'joint-implicit',
  JointExplicit: 'joint-explicit',
} as const;
export type ConfChangeTransition = (typeof ConfChangeTransition)[keyof typeof ConfChangeTransition];

/**
 * ConfChange is a membership change proposal (etcd's ConfChangeV2). An empty `changes` list is
 * the request to leave a joint configuration. `context` is opaque application data (for example
 * the new member's peer URLs).
 */
export interface ConfChange {
  readonly transition: ConfChangeTransition;
  readonly changes: readonly ConfChangeSingle[];
  readonly context: Uint8Array;
}

/** ReadState answers a `readIndex(context)` call: the read is linearizable once applied >= index. */
export interface ReadState {
  readonly index: LogIndex;
  readonly context: string;
}

/** SnapshotStatus is what the host reports after trying to send a snapshot to a follower. */
export const SnapshotStatus = { Finished: 'finished', Failure: 'failure' } as const;
export type SnapshotStatus = (typeof SnapshotStatus)[keyof typeof SnapshotStatus];

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  /** term is the sender's term; 0 only for a forwarded proposal, which carries no term. */
  readonly term: Term;
}

/** MsgApp replicates `entries` following (logTerm, index) and announces the leader's commit. */
export interface MsgApp extends MessageBase {
  readonly type: 'MsgApp';
  readonly logTerm: Term;
  readonly index: LogIndex;
  readonly entries: readonly Entry[];
  readonly commit: LogIndex;
  /**
   * commitOnly marks an append without entries to a follower the leader already knows holds the
   * log through `index` (replicate state, match >= index): its only news is `commit`, and an
   * acknowledgement could not change the leader's progress for it, so the follower sends none
   * (it still answers a rejection). Commit notices are the common case: one fewer message each
   * way per follower per commit.
   */
  readonly commitOnly: boolean;
}

/**
 * MsgAppResp acknowledges (index = last matching index) or rejects a MsgApp. On reject, `index`
 * is the rejected MsgApp's index and (rejectHint, logTerm) tell the leader where to probe next.
 */
export interface MsgAppResp extends MessageBase {
  readonly type: 'MsgAppResp';
  readonly index: LogIndex;
  readonly reject: boolean;
  readonly rejectHint: LogIndex;
  readonly logTerm: Term;
}

/**
 * MsgVote / MsgPreVote ask for a vote for `term` from a candidate whose last entry is
 * (logTerm, index). `transfer` marks a campaign started by leadership transfer, which bypasses
 * the leader-lease check of CheckQuorum.
 */
export interface MsgVote extends MessageBase {
  readonly type: 'MsgVote' | 'MsgPreVote';
  readonly logTerm: Term;
  readonly index: LogIndex;
  readonly transfer: boolean;
}

/** MsgVoteResp / MsgPreVoteResp grant or reject a (pre-)vote. */
export interface MsgVoteResp extends MessageBase {
  readonly type: 'MsgVoteResp' | 'MsgPreVoteResp';
  readonly reject: boolean;
}

/** MsgHeartbeat keeps followers quiet and carries the commit index and a ReadIndex context. */
export interface MsgHeartbeat extends MessageBase {
  readonly type: 'MsgHeartbeat';
  readonly commit: LogIndex;
  /** context is the newest pending ReadIndex context ('' if none); acks confirm all older ones. */
  readonly context: string;
  /** sentTick is the leader's tick count when it sent this heartbeat (for leader leases). */
  readonly sentTick: number;
}

/** MsgHeartbeatResp echoes the heartbeat's context and sentTick. */
export interface MsgHeartbeatResp extends MessageBase {
  readonly type: 'MsgHeartbeatResp';
  readonly context: string;
  readonly sentTick: number;
}

/** MsgSnap installs a snapshot on a follower whose next entry the leader has compacted away. */
export interface MsgSnap extends MessageBase {
  readonly type: 'MsgSnap';
  readonly snapshot: Snapshot;
}

/** MsgProp carries proposals forwarded from a follower to the leader (term 0). */
export interface MsgProp extends MessageBase {
  readonly type: 'MsgProp';
  readonly entries: readonly Entry[];
}

/** MsgReadIndex asks the leader for a read index on behalf of a follower. */
export interface MsgReadIndex extends MessageBase {
  readonly type: 'MsgReadIndex';
  readonly context: string;
}

/** MsgReadIndexResp answers a follower's MsgReadIndex. */
export interface MsgReadIndexResp extends MessageBase {
  readonly type: 'MsgReadIndexResp';
  readonly index: LogIndex;
  readonly context: string;
}

/** MsgTimeoutNow tells the transfer target to campaign at once (leadership transfer). */
export interface MsgTimeoutNow extends MessageBase {
  readonly type: 'MsgTimeoutNow';
}

/** MsgTransferLeader forwards a leadership transfer request from a follower to the leader. */
export interface MsgTransferLeader extends MessageBase {
  readonly type: 'MsgTransferLeader';
  /** target is the node that should become leader. */
  readonly target: NodeId;
}

/** Message is everything one Raft node sends another. */
export type Message =
  | MsgApp
  | MsgAppResp
  | MsgVote
  | MsgVoteResp
  | MsgHeartbeat
  | MsgHeartbeatResp
  | MsgSnap
  | MsgProp
  | MsgReadIndex
  | MsgReadIndexResp
  | MsgTimeoutNow
  | MsgTransferLeader;

export type MessageType = Message['type'];

/**
 * Ready is one batch of work for the host, handled in this order:
 * 1. persist `snapshot` (if any), then append `entries` and save `hardState` — one fsync when
 *    `mustSync`; a leader may send its `messages` in parallel with this write, a follower only after;
 * 2. send `messages`;
 * 3. apply `snapshot` and then `committedEntries` to the state machine (calling
 *    `applyConfChange` for conf-change entries), serve `readStates` once applied reaches them;
 * 4. call `advance()`.
 */
export interface Ready {
  readonly softState: SoftState | undefined;
  readonly hardState: HardState | undefined;
  readonly readStates: readonly ReadState[];
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | undefined;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly mustSync: boolean;
}

/** entryBytes is the size of an entry for every byte limit (payload plus a fixed header). */
export function entryBytes(entry: Entry): number {
  return entry.data.byteLength + ENTRY_OVERHEAD_BYTES;
}

/** ENTRY_OVERHEAD_BYTES approximates an entry's framing (term, index, type, length) on the wire. */
export const ENTRY_OVERHEAD_BYTES = 24;

/** entriesBytes sums `entryBytes` over a list. */
export function entriesBytes(entries: readonly Entry[]): number {
  let total = 0;
  for (const e of entries) total += entryBytes(e);
  return total;
}
