import { checkDeleteRequest, checkPutRequest, checkRangeRequest, checkTxnRequest, type KvApplyResult } from '../../kv/index.js';
import type { etcdserverpb } from '../codec/index.js';
import type { CallContext } from '../grpc/method.js';
import type { MethodRegistry } from '../grpc/method-registry.js';
import type { EtcdBackend } from './backend.js';
import {
  deleteRangeRequestIn, deleteRangeResponseOut, headerOut, isReadOnlyTxn, putRequestIn, putResponseOut,
  rangeRequestIn, rangeResponseOut, toSafe, txnRequestIn, txnResponseOut,
} from './convert.js';
import { ETCD_ERRORS, toGrpcError } from './errors.js';
import { defOf } from './method-defs.js';
import { readConsistency } from './read-consistency.js';
import { withSession } from './session.js';

/**
 * registerKv serves etcdserverpb.KV: Range, Put, DeleteRange, Txn, Compact. The mutating ones
 * (Put, DeleteRange, a write Txn, Compact) are exactly-once under session metadata (session.ts).
 */
export function registerKv(registry: MethodRegistry, backend: EtcdBackend): void {
  const ctx = backend.header;

  registry.unary(defOf('/etcdserverpb.KV/Range'), async (req, call): Promise<etcdserverpb.RangeResponse> => {
    checkSize(call, backend);
    const request = rangeRequestIn(req);
    throwIf(checkRangeRequest(request));
    await readConsistency(backend, call, req.serializable);
    const r = backend.store.range(request);
    if (!r.ok) throw toGrpcError(r.error);
    return rangeResponseOut(ctx, r.response);
  });

  registry.unary(defOf('/etcdserverpb.KV/Put'), async (req, call): Promise<etcdserverpb.PutResponse> => {
    checkSize(call, backend);
    const request = putRequestIn(req);
    throwIf(checkPutRequest(request));
    const result = ok(await backend.propose(withSession({ type: 'put', request } as const, call.metadata)));
    if (result.type !== 'put') throw new Error('unexpected result type');
    return putResponseOut(ctx, result.response);
  });

  registry.unary(defOf('/etcdserverpb.KV/DeleteRange'), async (req, call): Promise<etcdserverpb.DeleteRangeResponse> => {
    checkSize(call, backend);
    const request = deleteRangeRequestIn(req);
    throwIf(checkDeleteRequest(request));
    const result = ok(await backend.propose(withSession({ type: 'deleteRange', request } as const, call.metadata)));
    if (result.type !== 'deleteRange') throw new Error('unexpected result type');
    return deleteRangeResponseOut(ctx, result.response);
  });

  registry.unary(defOf('/etcdserverpb.KV/Txn'), async (req, call): Promise<etcdserverpb.TxnResponse> => {
    checkSize(call, backend);
    const request = txnRequestIn(req);
    throwIf(checkTxnRequest(request, backend.store.limits.txnOpsMax));
    if (isReadOnlyTxn(request)) {
      // A read-only txn is a read: served locally after the read barrier, no log entry (etcd).
      await readConsistency(backend, call, false);
      const r = backend.store.txn(request);
      if (!r.ok) throw toGrpcError(r.error);
      return txnResponseOut(ctx, r.response);
    }
    const result = ok(await backend.propose(withSession({ type: 'txn', request } as const, call.metadata)));
    if (result.type !== 'txn') throw new Error('unexpected result type');
    return txnResponseOut(ctx, result.response);
  });

  registry.unary(defOf('/etcdserverpb.KV/Compact'), async (req, call): Promise<etcdserverpb.CompactionResponse> => {
    const revision = toSafe(req.revision, 'revision');
    const result = ok(await backend.propose(withSession({ type: 'compact', request: { revision, physical: req.physical } } as const, call.metadata)));
    if (result.type !== 'compact') throw new Error('unexpected result type');
    return { header: headerOut(ctx, result.response.header.revision) };
  });
}

function checkSize(call: CallContext, backend: EtcdBackend): void {
  if (call.requestBytes > backend.maxRequestBytes) throw ETCD_ERRORS.requestTooLarge();
}

function throwIf(error: unknown): void {
  if (error) throw toGrpcError(error) ?? error;
}

/** ok unwraps an applied result or throws its etcd error. */
export function ok(result: KvApplyResult): Extract<KvApplyResult, { ok: true }>['result'] {
  if (!result.ok) throw toGrpcError(result.error) ?? result.error;
  return result.result;
}
