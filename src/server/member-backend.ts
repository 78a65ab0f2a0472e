import type { EtcdBackend, MemberInfo, ServerStatus } from '../api/etcd/index.js';
import type { HeaderContext } from '../api/etcd/convert.js';
import { GrpcError, GrpcStatus } from '../api/grpc/status.js';
import { encodeKvCommand, type KvApplyResult, type KvCommand, type WatchEvent } from '../kv/index.js';
import { NONE, type NodeId } from '../raft/index.js';
import type { GroupHost } from './group-host.js';
import type { KvStateMachine } from './kv-state-machine.js';
import type { Lessor } from './lessor.js';

/**
 * MemberBackend is the etcd API's view of one member: the data group's host, its KV state machine
 * and lessor, and the cluster's membership as known at start.
 */
export class MemberBackend implements EtcdBackend {
  readonly header: HeaderContext;
  private readonly eventListeners = new Set<(events: readonly WatchEvent[]) => void>();

  constructor(
    private readonly group: GroupHost<KvApplyResult>,
    private readonly kv: KvStateMachine,
    readonly lessor: Lessor,
    private readonly membership: () => MemberInfo[],
    clusterId: bigint,
    memberId: NodeId,
    readonly minLeaseTtlSeconds: number,
    readonly maxRequestBytes: number,
  ) {
    this.header = { clusterId, memberId: BigInt(memberId), raftTerm: () => group.node.raft.term };
    kv.onEvents((events) => {
      for (const l of this.eventListeners) l(events);
    });
  }

  get store() {
    return this.kv.store;
  }

  get hub() {
    return this.kv.hub;
  }

  propose(command: KvCommand): Promise<KvApplyResult> {
    return this.group.propose(encodeKvCommand(command));
  }

  readBarrier(mode: 'read-index' | 'lease'): Promise<void> {
    return this.group.readBarrier(mode);
  }

  onEvents(listener: (events: readonly WatchEvent[]) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  members(): MemberInfo[] {
    return this.membership();
  }

  status(): ServerStatus {
    const s = this.group.node.status();
    return {
      leader: BigInt(s.softState.leader),
      raftIndex: s.hardState.commit,
      raftTerm: s.hardState.term,
      raftAppliedIndex: this.group.applied(),
      dbSizeBytes: this.kv.store.sizeBytes,
      isLearner: s.config.learners.includes(this.group.id),
      errors: this.kv.store.alarms().map((a) => `memberID:${a.memberId} alarm:${a.alarm === 1 ? 'NOSPACE' : 'CORRUPT'} `),
    };
  }

  async moveLeader(target: bigint): Promise<void> {
    if (!this.group.isLeader()) throw new GrpcError(GrpcStatus.FAILED_PRECONDITION, 'etcdserver: not leader');
    const to = Number(target) as NodeId;
    this.group.transferLeadership(to);
    // etcd waits until the transfer finished (or times out).
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const leader = this.group.leaderId();
      if (leader === to) return;
    }
    throw new GrpcError(GrpcStatus.UNAVAILABLE, 'etcdserver: request timed out, leader transfer took too long');
  }

  leaderKnown(): boolean {
    return this.group.leaderId() !== NONE;
  }
}
