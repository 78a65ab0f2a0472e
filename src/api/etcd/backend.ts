import type { KvApplyResult, KvCommand, MvccStore, WatchEvent, WatchHub } from '../../kv/index.js';
import type { Lessor } from '../../server/lessor.js';
import type { HeaderContext } from './convert.js';

/** MemberInfo is one member as MemberList reports it. */
export interface MemberInfo {
  readonly id: bigint;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

/** ServerStatus is what Maintenance.Status reports. */
export interface ServerStatus {
  readonly leader: bigint;
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly raftAppliedIndex: number;
  readonly dbSizeBytes: number;
  readonly isLearner: boolean;
  readonly errors: readonly string[];
}

/**
 * EtcdBackend is everything the etcd v3 services need from a member: the data group's store
 * and watch hub (read locally), proposals through the log, linearizable read barriers, the
 * lessor, and cluster facts. One per member; the services hold no state of their own beyond
 * their streams.
 */
export interface EtcdBackend {
  readonly header: HeaderContext;
  readonly store: MvccStore;
  readonly hub: WatchHub;
  readonly lessor: Lessor;
  /** propose replicates a command and resolves with its result once applied on this member. */
  propose(command: KvCommand): Promise<KvApplyResult>;
  /**
   * readBarrier resolves when this member reflects every write acknowledged before the call:
   * through a ReadIndex round, or (`lease`) at once while the leader's lease holds.
   */
  readBarrier(mode: 'read-index' | 'lease'): Promise<void>;
  /** onEvents hears the events of every applied write, in order. */
  onEvents(listener: (events: readonly WatchEvent[]) => void): () => void;
  members(): MemberInfo[];
  status(): ServerStatus;
  /** moveLeader asks this member (which must lead) to hand leadership to `target`. */
  moveLeader(target: bigint): Promise<void>;
  /** leaderKnown is false while no leader is known (health). */
  leaderKnown(): boolean;
  /** minLeaseTtlSeconds is the smallest TTL granted (tied to the election timeout). */
  readonly minLeaseTtlSeconds: number;
  /** maxRequestBytes bounds one request (etcd's --max-request-bytes). */
  readonly maxRequestBytes: number;
}
