import type { etcdserverpb } from '../codec/index.js';
import type { MethodRegistry } from '../grpc/method-registry.js';
import type { EtcdBackend } from './backend.js';
import { headerOut, toSafe } from './convert.js';
import { defOf } from './method-defs.js';
import { ok } from './kv-service.js';
import { readConsistency } from './read-consistency.js';

/**
 * registerLease serves etcdserverpb.Lease. Grants and revokes go through the log; keep-alives too
 * (as checkpoints carrying the full TTL; the lessor coalesces the keep-alives of one event-loop
 * turn into one command and lets a keep-alive join its lease's renewal in flight), so any member
 * can take them and a new leader starts from the renewed TTLs; expiry is decided by the leader's
 * lessor and replicated as a revoke. A keep-alive stream answers one request at a time, in order;
 * a failed renewal ends the stream with the error's etcd status.
 */
export function registerLease(registry: MethodRegistry, backend: EtcdBackend): void {
  const ctx = backend.header;
  const header = (): etcdserverpb.ResponseHeader => headerOut(ctx, backend.store.currentRevision);

  registry.unary(defOf('/etcdserverpb.Lease/LeaseGrant'), async (req): Promise<etcdserverpb.LeaseGrantResponse> => {
    const ttl = Math.max(toSafe(req.TTL, 'TTL'), backend.minLeaseTtlSeconds);
    const result = ok(await backend.propose({ type: 'leaseGrant', request: { ttl, ...(req.ID !== 0n ? { id: req.ID } : {}) } }));
    if (result.type !== 'leaseGrant') throw new Error('unexpected result type');
    return { header: headerOut(ctx, result.response.header.revision), ID: result.response.id, TTL: BigInt(result.response.ttl), error: '' };
  });

  registry.unary(defOf('/etcdserverpb.Lease/LeaseRevoke'), async (req): Promise<etcdserverpb.LeaseRevokeResponse> => {
    const result = ok(await backend.propose({ type: 'leaseRevoke', request: { id: req.ID } }));
    if (result.type !== 'leaseRevoke') throw new Error('unexpected result type');
    return { header: headerOut(ctx, result.response.header.revision) };
  });

  registry.bidi(defOf('/etcdserverpb.Lease/LeaseKeepAlive'), async (requests, call) => {
    try {
      for await (const req of requests) {
        // A lease granted through another member may not be applied here yet: catch up to the
        // leader's commit index (ReadIndex) before answering "unknown lease", as etcd 3.4 waits
        // for its applied index before renewing.
        if (!backend.store.leaseInfo(req.ID)) await backend.readBarrier('read-index');
        const ttl = await backend.lessor.keepAlive(req.ID);
        // etcd answers a keep-alive of an unknown or expired lease with TTL 0 (no error).
        await call.send({ header: header(), ID: req.ID, TTL: BigInt(Math.max(0, ttl)) });
      }
    } catch (error) {
      if (!call.signal.aborted) throw error;
    }
  });

  registry.unary(defOf('/etcdserverpb.Lease/LeaseTimeToLive'), async (req, call): Promise<etcdserverpb.LeaseTimeToLiveResponse> => {
    await readConsistency(backend, call, false);
    const info = backend.store.leaseInfo(req.ID);
    // etcd reports a missing lease as TTL -1, not as an error.
    if (!info) return { header: header(), ID: req.ID, TTL: -1n, grantedTTL: 0n, keys: [] };
    const remaining = backend.lessor.remainingTtlSeconds(req.ID);
    return {
      header: header(),
      ID: req.ID,
      TTL: BigInt(remaining >= 0 ? remaining : info.grantedTtl),
      grantedTTL: BigInt(info.grantedTtl),
      keys: req.keys ? [...info.keys] : [],
    };
  });

  registry.unary(defOf('/etcdserverpb.Lease/LeaseLeases'), async (_req, call): Promise<etcdserverpb.LeaseLeasesResponse> => {
    await readConsistency(backend, call, false);
    return { header: header(), leases: backend.store.leaseIds().map((ID) => ({ ID })) };
  });
}
