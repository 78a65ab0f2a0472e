import { assert } from '../lib/assert.js';
import { nullLogger, type Logger } from '../lib/logger.js';
import type { Prng } from '../lib/prng.js';
import type { LogStorage } from './storage.js';
import type { LogIndex, NodeId } from './types.js';

/**
 * ReadOnlyOption picks how ReadIndex requests are confirmed:
 * - `safe`: the leader confirms its leadership with a heartbeat round (one round for every read
 *   queued before it); correct under any clock behaviour;
 * - `lease-based`: the leader answers at once while its lease holds: a quorum acknowledged a
 *   heartbeat sent less than `electionTicks - leaseClockDriftTicks` ticks ago (those followers
 *   refuse to vote for anyone else for `electionTicks` after receiving it, thanks to CheckQuorum).
 *   Outside the lease, or during a leadership transfer, it falls back to `safe`. Correct only if
 *   tick rates differ between members by less than the drift margin; requires `checkQuorum`.
 */
export const ReadOnlyOption = { Safe: 'safe', LeaseBased: 'lease-based' } as const;
export type ReadOnlyOption = (typeof ReadOnlyOption)[keyof typeof ReadOnlyOption];

/** RaftConfig configures one node of one Raft group. Only `id`, `storage` and `prng` are required. */
export interface RaftConfig {
  /** id is this node's id in the group. */
  readonly id: NodeId;
  /** storage is the durable log as the host has persisted it; the core only reads it. */
  readonly storage: LogStorage;
  /** prng draws the randomized election timeouts. */
  readonly prng: Prng;
  readonly logger?: Logger;
  /** electionTicks is the election timeout in ticks; the randomized timeout is in [e, 2e). */
  readonly electionTicks?: number;
  /** heartbeatTicks is the leader's heartbeat interval in ticks; must be < electionTicks. */
  readonly heartbeatTicks?: number;
  /** applied is the last index the state machine has applied (on restart). */
  readonly applied?: LogIndex;
  /** appendEntriesPerMsgMax bounds the entries of one MsgApp. */
  readonly appendEntriesPerMsgMax?: number;
  /** appendBytesPerMsgMax bounds the entry bytes of one MsgApp (at least one entry is sent). */
  readonly appendBytesPerMsgMax?: number;
  /** inflightMsgsMax bounds the MsgApps in flight to one follower in the replicate state. */
  readonly inflightMsgsMax?: number;
  /** inflightBytesMax bounds the entry bytes in flight to one follower (0: unbounded). */
  readonly inflightBytesMax?: number;
  /** uncommittedBytesMax bounds the payload bytes of the leader's uncommitted tail; proposals over it are dropped. */
  readonly uncommittedBytesMax?: number;
  /** committedBytesPerReadyMax bounds the committed entry bytes handed out in one Ready. */
  readonly committedBytesPerReadyMax?: number;
  /** preVote runs a pre-election that cannot disrupt a healthy leader (thesis §9.6). */
  readonly preVote?: boolean;
  /** checkQuorum makes a leader step down when it has not heard from a quorum for an election timeout, and makes followers ignore votes while they have a live leader. */
  readonly checkQuorum?: boolean;
  readonly readOnlyOption?: ReadOnlyOption;
  /**
   * leaseReads lets the host serve individual reads from the leader's lease (`leaseReadIndex`)
   * while ReadIndex stays `safe` for the rest; implied by readOnlyOption lease-based. Either one
   * turns on the startup lease guard (a restarted member grants no vote for an election timeout).
   */
  readonly leaseReads?: boolean;
  /**
   * leaseClockDriftTicks is the safety margin of leader leases: a lease that started at tick t
   * (the send tick of a heartbeat a quorum acknowledged) is used until t + electionTicks - this.
   */
  readonly leaseClockDriftTicks?: number;
  /** disableProposalForwarding makes followers drop proposals instead of forwarding them to the leader. */
  readonly disableProposalForwarding?: boolean;
}

/** ResolvedRaftConfig is a RaftConfig with every default filled in and checked. */
export type ResolvedRaftConfig = Required<RaftConfig>;

/** Defaults chosen for a node ticking every 100 ms, as etcd does. */
export const RAFT_DEFAULTS = {
  electionTicks: 10,
  heartbeatTicks: 1,
  appendEntriesPerMsgMax: 4096,
  appendBytesPerMsgMax: 1024 * 1024,
  inflightMsgsMax: 256,
  inflightBytesMax: 32 * 1024 * 1024,
  uncommittedBytesMax: 64 * 1024 * 1024,
  committedBytesPerReadyMax: 64 * 1024 * 1024,
  preVote: true,
  checkQuorum: true,
  readOnlyOption: ReadOnlyOption.Safe,
  leaseClockDriftTicks: 2,
  leaseReads: false,
  disableProposalForwarding: false,
} as const;

/** resolveRaftConfig fills defaults and asserts the relationships between limits. */
export function resolveRaftConfig(config: RaftConfig): ResolvedRaftConfig {
  const c: ResolvedRaftConfig = {
    logger: nullLogger,
    applied: 0,
    ...RAFT_DEFAULTS,
    ...config,
  };
  assert(c.id > 0, 'node id must be positive');
  assert(c.heartbeatTicks > 0, 'heartbeatTicks must be > 0');
  assert(c.electionTicks > c.heartbeatTicks, 'electionTicks must be > heartbeatTicks');
  assert(c.appendEntriesPerMsgMax > 0, 'appendEntriesPerMsgMax must be > 0');
  assert(c.appendBytesPerMsgMax > 0, 'appendBytesPerMsgMax must be > 0');
  assert(c.inflightMsgsMax > 0, 'inflightMsgsMax must be > 0');
  assert(c.inflightBytesMax === 0 || c.inflightBytesMax >= c.appendBytesPerMsgMax,
    'inflightBytesMax must be 0 (unbounded) or >= appendBytesPerMsgMax');
  assert(c.uncommittedBytesMax > 0, 'uncommittedBytesMax must be > 0');
  assert(c.committedBytesPerReadyMax > 0, 'committedBytesPerReadyMax must be > 0');
  assert(c.leaseClockDriftTicks >= 0 && c.leaseClockDriftTicks < c.electionTicks,
    'leaseClockDriftTicks must be in [0, electionTicks)');
  assert(c.readOnlyOption !== ReadOnlyOption.LeaseBased || c.checkQuorum,
    'lease-based reads require checkQuorum');
  assert(!c.leaseReads || c.checkQuorum, 'lease reads require checkQuorum');
  return c;
}
