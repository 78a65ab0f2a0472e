import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../lib/logger.js';
import { Xoshiro128 } from '../lib/prng.js';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createEtcdApi, toGrpcError, type MemberInfo } from '../api/etcd/index.js';
import { ClientPortServer } from '../api/grpc/grpc-server.js';
import { grpcOverheadBytes } from '../api/grpc/limits.js';
import { registerServingMetrics } from '../api/http/serving-metrics.js';
import { decodeKvCommand, type KvApplyResult } from '../kv/index.js';
import { bootstrapLog, type ConfState, type NodeId } from '../raft/index.js';
import { DiskStorage } from '../storage/disk-storage.js';
import { NodeFileSystem } from '../storage/file-system.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { GroupHost } from './group-host.js';
import { handleInternalApi } from './internal-client-api.js';
import { KvStateMachine } from './kv-state-machine.js';
import { Compactor } from './compactor.js';
import { Lessor, leaseTail } from './lessor.js';
import { MemberBackend } from './member-backend.js';
import { registerMemberMetrics } from './member-metrics.js';
import { ConfigError, formatUrl, urlPort } from './config.js';
import type { MemberConfig } from './member-config.js';
import { computeClusterId, formatMemberId, initialClusterMemberIds } from './member-id.js';
import { NodeHost } from './node-host.js';

/** DATA_GROUP_ID is the Raft group holding the key-value data (the only group so far). */
export const DATA_GROUP_ID = 1;

/**
 * foundingLog is the founding configuration of --initial-cluster as the log every founder starts
 * with (identical on every founder: one conf-change entry per member, carrying its name and peer
 * URLs). Used by a new member and by `concord snapshot restore`.
 */
export function foundingLog(config: MemberConfig, ids: ReadonlyMap<string, NodeId>): {
  confState: ConfState;
  log: ReturnType<typeof bootstrapLog>;
} {
  const confState: ConfState = { voters: [...ids.values()], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false };
  const contexts = new Map<number, Uint8Array>();
  for (const [name, memberId] of ids) {
    const urls = config.initialCluster.get(name)!.map(formatUrl).join(',');
    contexts.set(memberId, new TextEncoder().encode(`${name}=${urls}`));
  }
  return { confState, log: bootstrapLog(confState, contexts) };
}

/** Member is a running Concord member. */
export interface Member {
  readonly id: NodeId;
  readonly clusterId: string;
  /** stop closes the client port, the peer transport and the storage; resolves when done. */
  stop(): Promise<void>;
}

export interface StartMemberOptions {
  /** onFatal is called when the member cannot go on (failed fsync, corrupt storage); the process must exit. */
  readonly onFatal?: (error: Error) => void;
}

/**
 * startMember starts one member: recovers (or bootstraps) the data group's storage, connects to
 * the peers of --initial-cluster over the peer transport, runs the node host and serves the
 * client port. Layout: `<data-dir>/groups/<groupId>/{wal,snap}` (docs/storage.md).
 */
export async function startMember(config: MemberConfig, logger: Logger, options: StartMemberOptions = {}): Promise<Member> {
  const ids = initialClusterMemberIds(config.initialCluster, config.initialClusterToken);
  const id = ids.get(config.name);
  if (id === undefined) throw new Error(`member ${config.name} is not in --initial-cluster`);
  const clusterId = computeClusterId([...ids.values()], config.initialClusterToken);
  const onFatal = options.onFatal ?? ((error: Error) => {
    logger.error('fatal error; exiting', { error: error.message });
    process.exit(1);
  });

  const groupDir = path.join(config.dataDir, 'groups', String(DATA_GROUP_ID));
  const { storage, created } = await DiskStorage.open(groupDir, new NodeFileSystem(), {
    identity: { clusterId, groupId: DATA_GROUP_ID, nodeId: id },
    logger,
  });
  if (created) {
    if (config.initialClusterState === 'existing') {
      await storage.close();
      throw new ConfigError('--initial-cluster-state=existing: joining a running cluster needs member add, which is not supported yet; ' +
        'start every founding member with --initial-cluster-state=new');
    }
    const { entries, hardState } = foundingLog(config, ids).log;
    await storage.persistReady({ hardState, entries, snapshot: undefined }, true);
    logger.info('bootstrapped a new member', { name: config.name, id: formatMemberId(id), cluster: clusterId, members: ids.size });
  } else {
    logger.info('recovered member state', {
      name: config.name, id: formatMemberId(id), firstIndex: storage.firstIndex(), lastIndex: storage.lastIndex(),
      snapshotIndex: storage.snapshot().metadata.index,
    });
  }

  const now = (): number => performance.now();
  const nodeHost = new NodeHost(config.heartbeatIntervalMs, logger, now);
  const peerUrl = config.listenPeerUrls[0]!;
  const transport = new TcpTransport({
    localId: id,
    clusterId,
    listenHost: peerUrl.hostname,
    listenPort: urlPort(peerUrl),
    logger,
    handler: {
      onMessage: (from, groupId, message) => nodeHost.deliver(from, groupId, message),
      onUnreachable: (peer, groupId) => nodeHost.reportUnreachable(peer, groupId),
      onSnapshotStatus: (peer, groupId, _index, status) => nodeHost.reportSnapshot(peer, groupId, status),
    },
  });
  for (const [name, memberId] of ids) {
    if (memberId !== id) transport.addPeer(memberId, config.initialCluster.get(name)![0]!);
  }

  // etcd: the minimum lease TTL is 1.5 election timeouts, rounded up to whole seconds.
  const minLeaseTtlSeconds = Math.max(1, Math.ceil((1.5 * config.electionTimeoutMs) / 1000));
  const kv = new KvStateMachine({
    limits: { leaseTtlSecondsMin: minLeaseTtlSeconds, quotaBytes: config.quotaBackendBytes, txnOpsMax: config.maxTxnOps },
  });
  const snapshot = storage.snapshot();
  if (snapshot.metadata.index > 0) kv.restore(snapshot.data, snapshot.metadata.index);
  let snapshotsApplied = 0;
  kv.onRestore(() => snapshotsApplied++);
  const electionTicks = Math.max(2, Math.round(config.electionTimeoutMs / config.heartbeatIntervalMs));
  const seed = randomBytes(4).readUInt32LE(0);
  const group = new GroupHost<KvApplyResult>(
    DATA_GROUP_ID,
    { id, storage, prng: new Xoshiro128(seed), logger, electionTicks, heartbeatTicks: 1, leaseReads: true },
    storage, kv, transport, logger, now,
    {
      snapshotEntries: config.snapshotCount,
      snapshotCatchUpEntries: Math.min(5_000, Math.max(10, Math.floor(config.snapshotCount / 10))),
      requestTimeoutMs: 5_000 + 2 * config.electionTimeoutMs,
      stallBoundMs: Math.max(config.electionTimeoutMs / 2, 3 * config.heartbeatIntervalMs),
      loopStallWindowMs: 5 * config.electionTimeoutMs,
    },
    onFatal,
  );
  storage.releaseSnapshotData(); // restored from it; read back from disk only if a follower needs it
  // The leader renews leases in memory once a ReadIndex round confirms it still leads.
  const lessor = new Lessor(() => kv.store, Date.now, (command) => group.propose(command), logger, {
    promoteGraceMs: config.electionTimeoutMs,
  }, () => group.readBarrier('read-index'), () => leaseTail(group.unappliedCommands().map((bytes) => decodeKvCommand(bytes)), kv.store));
  kv.onApplied(lessor.onApplied);
  kv.onRestore(lessor.onRestore);
  const compactor = new Compactor(config.autoCompactionMode, config.autoCompactionRetention, () => kv.store,
    (command) => group.propose(command), Date.now, logger);
  group.onLeaderChange((_leader, isSelf) => {
    lessor.setPrimary(isSelf);
    compactor.setLeader(isSelf);
  });
  const lessorTimer = setInterval(() => {
    lessor.tick();
    compactor.tick();
  }, config.heartbeatIntervalMs);
  nodeHost.addGroup(group as GroupHost<unknown>);
  await transport.start();
  nodeHost.start();

  const status = (): Record<string, unknown> => {
    const s = group.node.status();
    return {
      name: config.name,
      id,
      memberId: formatMemberId(id),
      clusterId,
      role: s.softState.role,
      leader: s.softState.leader,
      term: s.hardState.term,
      commit: s.hardState.commit,
      applied: group.applied(),
      lastIndex: s.lastIndex,
      firstIndex: storage.firstIndex(),
      snapshotIndex: storage.snapshotMetadata().index,
      snapshotsApplied,
      revision: kv.store.currentRevision,
      keys: kv.store.keyCount,
      config: s.config,
      stats: group.stats,
      maxLoopLagMs: Math.round(nodeHost.maxLoopLagMs),
    };
  };
  const memberInfos = (): MemberInfo[] => [...ids].map(([name, memberId]) => ({
    id: BigInt(memberId),
    name,
    peerUrls: config.initialCluster.get(name)!.map(formatUrl),
    // Other members' client URLs are not known yet (they are not replicated).
    clientUrls: memberId === id ? config.advertiseClientUrls.map(formatUrl) : [],
    isLearner: false,
  }));
  const backend = new MemberBackend(group, kv, lessor, memberInfos, BigInt(`0x${clusterId}`), id, minLeaseTtlSeconds,
    config.maxRequestBytes);
  const metrics = new Registry();
  // process_* (as etcd serves them: resident memory, CPU, open fds) and nodejs_* (heap spaces,
  // external memory, GC pauses, event-loop delay), read at scrape time.
  collectDefaultMetrics({ register: metrics });
  const api = createEtcdApi(backend, { logger, metrics });
  registerMemberMetrics(metrics, group as GroupHost<unknown>, () => kv.store, transport.stats, storage.walFsyncs);
  const internal = { name: config.name, group, store: () => kv.store, logger, status };
  const servers: ClientPortServer[] = [];
  for (const url of config.listenClientUrls) {
    const server = new ClientPortServer({
      registry: api.registry,
      http: (req, res) => {
        if (!handleInternalApi(internal, req as never, res as never)) api.router.handle(req, res);
      },
      logger,
      mapError: toGrpcError,
      limits: { requestBytesMax: config.maxRequestBytes, receiveMessageBytesMax: config.maxRequestBytes + grpcOverheadBytes },
    });
    await server.listen(urlPort(url), url.hostname);
    if (servers.length === 0) registerServingMetrics(metrics, api.registry, server.stats);
    servers.push(server);
  }
  logger.info('member is serving', {
    name: config.name, id: formatMemberId(id), cluster: clusterId,
    client: config.advertiseClientUrls.map(formatUrl).join(','),
    peer: config.initialAdvertisePeerUrls.map(formatUrl).join(','),
  });

  let stopping: Promise<void> | undefined;
  return {
    id,
    clusterId,
    stop: () => {
      stopping ??= (async () => {
        clearInterval(lessorTimer);
        for (const server of servers) await server.close(0);
        nodeHost.stop();
        await transport.stop();
        await storage.close();
        logger.info('member stopped', { name: config.name });
      })();
      return stopping;
    },
  };
}
