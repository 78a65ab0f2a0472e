import { encodeStoreSnapshot, hashKv, hashStore } from '../../kv/index.js';
import { encodeSnapshotFile } from '../../storage/snapshot-file.js';
import type { etcdserverpb } from '../codec/index.js';
import type { MethodRegistry } from '../grpc/method-registry.js';
import type { EtcdBackend } from './backend.js';
import { headerOut, toSafe } from './convert.js';
import { ETCD_ERRORS, toGrpcError } from './errors.js';
import { ok } from './kv-service.js';
import { defOf } from './method-defs.js';

/** ETCD_VERSION is the etcd server version Concord reports (the API level it implements). */
export const ETCD_VERSION = '3.4.0';
/** SNAPSHOT_CHUNK_BYTES is the blob size of each Snapshot stream message. */
export const SNAPSHOT_CHUNK_BYTES = 64 * 1024;

/** registerMaintenance serves etcdserverpb.Maintenance and etcdserverpb.Cluster (read side). */
export function registerMaintenance(registry: MethodRegistry, backend: EtcdBackend): void {
  const ctx = backend.header;
  const header = (): etcdserverpb.ResponseHeader => headerOut(ctx, backend.store.currentRevision);

  registry.unary(defOf('/etcdserverpb.Maintenance/Status'), (): etcdserverpb.StatusResponse => {
    const s = backend.status();
    return {
      header: header(),
      version: ETCD_VERSION,
      dbSize: BigInt(s.dbSizeBytes),
      leader: s.leader,
      raftIndex: BigInt(s.raftIndex),
      raftTerm: BigInt(s.raftTerm),
      raftAppliedIndex: BigInt(s.raftAppliedIndex),
      errors: [...s.errors],
      dbSizeInUse: BigInt(s.dbSizeBytes),
      isLearner: s.isLearner,
    };
  });

  registry.unary(defOf('/etcdserverpb.Maintenance/Alarm'), async (req): Promise<etcdserverpb.AlarmResponse> => {
    if (req.action === 0) {
      const alarms = backend.store.alarms(req.alarm === 0 ? undefined : req.alarm);
      return { header: header(), alarms: alarms.map((a) => ({ memberID: a.memberId, alarm: a.alarm })) };
    }
    const result = ok(await backend.propose({ type: 'alarm', request: { action: req.action, memberId: req.memberID, alarm: req.alarm } }));
    if (result.type !== 'alarm') throw new Error('unexpected result type');
    return { header: header(), alarms: result.response.alarms.map((a) => ({ memberID: a.memberId, alarm: a.alarm })) };
  });

  registry.unary(defOf('/etcdserverpb.Maintenance/Hash'), (): etcdserverpb.HashResponse => {
    return { header: header(), hash: hashStore(backend.store) };
  });

  registry.unary(defOf('/etcdserverpb.Maintenance/HashKV'), (req): etcdserverpb.HashKVResponse => {
    const r = hashKv(backend.store, toSafe(req.revision, 'revision'));
    if (!r.ok) throw toGrpcError(r.error);
    return { header: headerOut(ctx, r.response.header.revision), hash: r.response.hash, compactRevision: BigInt(r.response.compactRevision) };
  });

  registry.serverStream(defOf('/etcdserverpb.Maintenance/Snapshot'), async (_req, call) => {
    // A consistent point-in-time copy of the store in a file etcdctl accepts (sector-aligned,
    // SHA-256 at the end) and `concord snapshot restore` reads.
    const whole = encodeSnapshotFile(encodeStoreSnapshot(backend.store));
    for (let at = 0; at < whole.byteLength; at += SNAPSHOT_CHUNK_BYTES) {
      const blob = whole.subarray(at, Math.min(whole.byteLength, at + SNAPSHOT_CHUNK_BYTES));
      await call.send({ header: header(), remainingBytes: BigInt(whole.byteLength - at - blob.byteLength), blob });
    }
  });

  registry.unary(defOf('/etcdserverpb.Maintenance/MoveLeader'), async (req): Promise<etcdserverpb.MoveLeaderResponse> => {
    if (!backend.members().some((m) => m.id === req.targetID)) throw ETCD_ERRORS.memberNotFound();
    await backend.moveLeader(req.targetID);
    return { header: header() };
  });

  registry.unary(defOf('/etcdserverpb.Maintenance/Defragment'), (): etcdserverpb.DefragmentResponse => {
    // The store keeps no free pages to give back: nothing to do.
    return { header: header() };
  });

  registry.unary(defOf('/etcdserverpb.Cluster/MemberList'), (): etcdserverpb.MemberListResponse => {
    return {
      header: header(),
      members: backend.members().map((m) => ({
        ID: m.id, name: m.name, peerURLs: [...m.peerUrls], clientURLs: [...m.clientUrls], isLearner: m.isLearner,
      })),
    };
  });
  for (const name of ['MemberAdd', 'MemberRemove', 'MemberUpdate', 'MemberPromote'] as const) {
    registry.unary(defOf(`/etcdserverpb.Cluster/${name}`), () => {
      throw ETCD_ERRORS.unimplemented(`membership changes (${name})`);
    });
  }

  registry.unary(defOf('/grpc.health.v1.Health/Check'), () => ({ status: backend.leaderKnown() ? 1 : 2 }));
}
