import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { nullLogger } from '../../src/lib/logger.js';
import { Xoshiro128 } from '../../src/lib/prng.js';
import { RegisterStore, type RegisterResult } from '../../src/kv/register-store.js';
import { bootstrapLog, nodeId, type NodeId } from '../../src/raft/index.js';
import { GroupHost, type GroupHostLimits } from '../../src/server/group-host.js';
import { NodeHost } from '../../src/server/node-host.js';
import { DiskStorage } from '../../src/storage/disk-storage.js';
import { NodeFileSystem, type FileSystem } from '../../src/storage/file-system.js';
import { TcpTransport } from '../../src/transport/tcp-transport.js';

/**
 * Several members in one process, each with its own NodeHost, TcpTransport (real TCP on
 * loopback) and DiskStorage per group (real files, real fsync), hosting several Raft groups.
 * For tests that need to reach inside a member (file-system faults, stats) or many groups.
 */
export interface InProcessMember {
  readonly id: NodeId;
  readonly host: NodeHost;
  readonly transport: TcpTransport;
  readonly groups: Map<number, { group: GroupHost<RegisterResult>; store: RegisterStore; storage: DiskStorage }>;
  readonly fatal: Error[];
}

export interface InProcessOptions {
  readonly members: number;
  readonly groups: readonly number[];
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly limits?: Partial<GroupHostLimits>;
  /** fileSystem picks each member's FileSystem (default: the real one). */
  readonly fileSystem?: (id: NodeId) => FileSystem;
  /** dir reopens the data of an earlier cluster (stopped with `keepDir`): a restart of every member. */
  readonly dir?: string;
}

export class InProcessCluster {
  readonly members: InProcessMember[] = [];
  private constructor(readonly dir: string) {}

  static async start(options: InProcessOptions): Promise<InProcessCluster> {
    const cluster = new InProcessCluster(options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'concord-inproc-')));
    const ids = Array.from({ length: options.members }, (_, i) => nodeId(i + 1));
    const now = (): number => performance.now();
    for (const id of ids) {
      const host = new NodeHost(options.tickMs ?? 20, nullLogger, now);
      const transport = new TcpTransport({
        localId: id, clusterId: 'in-process', listenHost: '127.0.0.1', listenPort: 0,
        handler: {
          onMessage: (from, groupId, m) => host.deliver(from, groupId, m),
          onUnreachable: (peer, groupId) => host.reportUnreachable(peer, groupId),
          onSnapshotStatus: (peer, groupId, _i, status) => host.reportSnapshot(peer, groupId, status),
        },
      });
      const member: InProcessMember = { id, host, transport, groups: new Map(), fatal: [] };
      const fileSystem = options.fileSystem?.(id) ?? new NodeFileSystem();
      for (const groupId of options.groups) {
        const { storage, created } = await DiskStorage.open(path.join(cluster.dir, `m${id}`, 'groups', String(groupId)), fileSystem, {
          identity: { clusterId: 'in-process', groupId, nodeId: id },
        });
        if (created) {
          const { entries, hardState } = bootstrapLog({ voters: ids, votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false });
          await storage.persistReady({ hardState, entries, snapshot: undefined }, true);
        }
        const store = new RegisterStore();
        const group = new GroupHost<RegisterResult>(
          groupId,
          { id, storage, prng: new Xoshiro128(id * 1000 + groupId), electionTicks: options.electionTicks ?? 10, heartbeatTicks: 1 },
          storage,
          { apply: (i, c) => store.apply(i, c), snapshot: () => store.snapshot(), restore: (d) => store.restore(d) },
          transport, nullLogger, now, options.limits ?? {},
          (error) => member.fatal.push(error),
        );
        host.addGroup(group as GroupHost<unknown>);
        member.groups.set(groupId, { group, store, storage });
      }
      await transport.start();
      cluster.members.push(member);
    }
    for (const a of cluster.members) {
      for (const b of cluster.members) if (a !== b) a.transport.addPeer(b.id, `tcp://127.0.0.1:${b.transport.listenPort}`);
      a.host.start();
    }
    return cluster;
  }

  member(id: number): InProcessMember {
    return this.members[id - 1]!;
  }

  /** leaderOf waits until the members agree on a leader of `groupId` and returns it. */
  async leaderOf(groupId: number, timeoutMs = 10_000): Promise<InProcessMember> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const leaders = this.members.filter((m) => m.groups.get(groupId)!.group.isLeader());
      if (leaders.length === 1) {
        const id = leaders[0]!.id;
        if (this.members.every((m) => m.groups.get(groupId)!.group.leaderId() === id)) return leaders[0]!;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no leader for group ${groupId} within ${timeoutMs} ms`);
  }

  /** stop stops every member and removes the data, unless `keepDir` (to restart from it). */
  async stop(options: { keepDir?: boolean } = {}): Promise<void> {
    for (const m of this.members) {
      m.host.stop();
      await m.transport.stop();
      for (const g of m.groups.values()) await g.storage.close().catch(() => {});
    }
    if (!options.keepDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
