import { prefixEnd, type KeyValue, type TxnResponse } from '../../kv/index.js';
import type { v3electionpb, v3lockpb } from '../codec/index.js';
import type { MethodRegistry } from '../grpc/method-registry.js';
import { GrpcError, GrpcStatus } from '../grpc/status.js';
import type { EtcdBackend } from './backend.js';
import { headerOut, kvOut } from './convert.js';
import { ok } from './kv-service.js';
import { defOf } from './method-defs.js';

const text = new TextEncoder();

/**
 * The server-side lock and election services (etcd's v3lock / v3election), built like etcd's
 * concurrency recipes: each contender creates `<name>/<lease id in hex>` under its lease; the key
 * with the lowest create revision holds the lock (leads), and the others wait until every key
 * created before theirs is gone. The holder's create revision strictly increases from holder to
 * holder: it is the fencing token (read it from the returned key with a Range).
 */
export function registerLockAndElection(registry: MethodRegistry, backend: EtcdBackend): void {
  const ctx = backend.header;
  const header = (revision = backend.store.currentRevision) => headerOut(ctx, revision);

  registry.unary(defOf('/v3lockpb.Lock/Lock'), async (req, call): Promise<v3lockpb.LockResponse> => {
    const { key, createRevision, revision } = await enqueue(backend, req.name, req.lease, new Uint8Array(0));
    try {
      await waitForTurn(backend, prefixOf(req.name), key, createRevision, call.signal);
    } catch (error) {
      // Give up our place so others are not blocked by an abandoned request (etcd: Unlock on failure).
      await backend.propose({ type: 'deleteRange', request: { key } }).catch(() => {});
      throw error;
    }
    return { header: header(Math.max(revision, backend.store.currentRevision)), key };
  });

  registry.unary(defOf('/v3lockpb.Lock/Unlock'), async (req): Promise<v3lockpb.UnlockResponse> => {
    const result = ok(await backend.propose({ type: 'deleteRange', request: { key: req.key } }));
    return { header: header(result.response.header.revision) };
  });

  registry.unary(defOf('/v3electionpb.Election/Campaign'), async (req, call): Promise<v3electionpb.CampaignResponse> => {
    const { key, createRevision, revision } = await enqueue(backend, req.name, req.lease, req.value);
    try {
      await waitForTurn(backend, prefixOf(req.name), key, createRevision, call.signal);
    } catch (error) {
      await backend.propose({ type: 'deleteRange', request: { key } }).catch(() => {});
      throw error;
    }
    return {
      header: header(Math.max(revision, backend.store.currentRevision)),
      leader: { name: req.name, key, rev: BigInt(createRevision), lease: req.lease },
    };
  });

  registry.unary(defOf('/v3electionpb.Election/Proclaim'), async (req): Promise<v3electionpb.ProclaimResponse> => {
    const leader = requireLeader(req.leader);
    const r = await guardedTxn(backend, leader, { type: 'put', request: { key: leader.key, value: req.value, lease: leader.lease } });
    if (!r.succeeded) throw notLeader();
    return { header: header(r.header.revision) };
  });

  registry.unary(defOf('/v3electionpb.Election/Resign'), async (req): Promise<v3electionpb.ResignResponse> => {
    const leader = requireLeader(req.leader);
    const r = await guardedTxn(backend, leader, { type: 'deleteRange', request: { key: leader.key } });
    return { header: header(r.header.revision) };
  });

  registry.unary(defOf('/v3electionpb.Election/Leader'), async (req): Promise<v3electionpb.LeaderResponse> => {
    await backend.readBarrier('read-index');
    const kv = currentLeader(backend, req.name);
    if (!kv) throw new GrpcError(GrpcStatus.UNKNOWN, 'election: no leader');
    return { header: header(), kv: kvOut(kv) };
  });

  registry.serverStream(defOf('/v3electionpb.Election/Observe'), async (req, call) => {
    // Send the leader whenever it (or its proclaimed value) changes, in revision order.
    let last: KeyValue | undefined;
    let wake: (() => void) | undefined;
    const unsubscribe = backend.onEvents(() => wake?.());
    const onAbort = (): void => wake?.();
    call.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await backend.readBarrier('read-index');
      while (!call.signal.aborted && !call.ended) {
        const kv = currentLeader(backend, req.name);
        if (kv && (!last || kv.modRevision !== last.modRevision || kv.createRevision !== last.createRevision)) {
          last = kv;
          await call.send({ header: header(), kv: kvOut(kv) });
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      unsubscribe();
      call.signal.removeEventListener('abort', onAbort);
    }
  });
}

function prefixOf(name: Uint8Array): Uint8Array {
  const p = new Uint8Array(name.byteLength + 1);
  p.set(name, 0);
  p[name.byteLength] = 0x2f; // '/'
  return p;
}

function keyOf(name: Uint8Array, lease: bigint): Uint8Array {
  const suffix = text.encode(BigInt.asUintN(64, lease).toString(16));
  const prefix = prefixOf(name);
  const key = new Uint8Array(prefix.byteLength + suffix.byteLength);
  key.set(prefix, 0);
  key.set(suffix, prefix.byteLength);
  return key;
}

/** enqueue creates the contender's key under its lease (or finds it) and returns its create revision. */
async function enqueue(backend: EtcdBackend, name: Uint8Array, lease: bigint, value: Uint8Array):
  Promise<{ key: Uint8Array; createRevision: number; revision: number }> {
  if (name.byteLength === 0) throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, 'etcdserver: key is not provided');
  if (lease === 0n || !backend.store.leaseInfo(lease)) throw new GrpcError(GrpcStatus.NOT_FOUND, 'etcdserver: requested lease not found');
  const key = keyOf(name, lease);
  const result = ok(await backend.propose({
    type: 'txn',
    request: {
      compare: [{ result: 0, target: 'create', createRevision: 0, key }],
      success: [{ type: 'put', request: { key, value, lease } }, { type: 'range', request: { key } }],
      failure: [{ type: 'range', request: { key } }],
    },
  }));
  if (result.type !== 'txn') throw new Error('unexpected result type');
  const range = result.response.responses[result.response.succeeded ? 1 : 0];
  const kv = range?.type === 'range' ? range.response.kvs[0] : undefined;
  if (!kv) throw new GrpcError(GrpcStatus.NOT_FOUND, 'etcdserver: requested lease not found');
  return { key, createRevision: kv.createRevision, revision: result.response.header.revision };
}

/**
 * waitForTurn resolves once no key under `prefix` was created before ours; it rejects if our own
 * key disappears (the lease expired) or the call ends.
 */
async function waitForTurn(backend: EtcdBackend, prefix: Uint8Array, key: Uint8Array, myRevision: number, signal: AbortSignal): Promise<void> {
  let wake: (() => void) | undefined;
  const unsubscribe = backend.onEvents(() => wake?.());
  // One abort listener for the whole wait (not one per wake-up: a long wait wakes on every write).
  const onAbort = (): void => wake?.();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new GrpcError(GrpcStatus.CANCELLED, 'context canceled');
      const mine = backend.store.range({ key });
      if (!mine.ok || mine.response.kvs[0]?.createRevision !== myRevision) {
        throw new GrpcError(GrpcStatus.UNKNOWN, 'concord: the lease of this contender expired before it was its turn');
      }
      const first = backend.store.range({ key: prefix, rangeEnd: prefixEnd(prefix), sortTarget: 2, sortOrder: 1, limit: 1 });
      if (first.ok && first.response.kvs[0]?.createRevision === myRevision) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  } finally {
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
  }
}

function currentLeader(backend: EtcdBackend, name: Uint8Array): KeyValue | undefined {
  const prefix = prefixOf(name);
  const r = backend.store.range({ key: prefix, rangeEnd: prefixEnd(prefix), sortTarget: 2, sortOrder: 1, limit: 1 });
  return r.ok ? r.response.kvs[0] : undefined;
}

interface Leader {
  readonly key: Uint8Array;
  readonly rev: number;
  readonly lease: bigint;
}

function requireLeader(leader: v3electionpb.LeaderKey | undefined): Leader {
  if (!leader) throw new GrpcError(GrpcStatus.UNKNOWN, '"leader" field must be provided');
  return { key: leader.key, rev: Number(leader.rev), lease: leader.lease };
}

function notLeader(): GrpcError {
  return new GrpcError(GrpcStatus.UNKNOWN, 'election: not leader');
}

async function guardedTxn(
  backend: EtcdBackend,
  leader: Leader,
  op: { type: 'put'; request: { key: Uint8Array; value: Uint8Array; lease: bigint } } | { type: 'deleteRange'; request: { key: Uint8Array } },
): Promise<TxnResponse> {
  const result = ok(await backend.propose({
    type: 'txn',
    request: { compare: [{ result: 0, target: 'create', createRevision: leader.rev, key: leader.key }], success: [op], failure: [] },
  }));
  if (result.type !== 'txn') throw new Error('unexpected result type');
  return result.response;
}
