/**
 * The typed transaction builder: `client.txn().if(cmp...).then(ops...).else(ops...).commit()`,
 * compare helpers (`value`, `version`, `createRevision`, `modRevision`, `lease`) and operations
 * (`op.put`, `op.get`, `op.delete`, `op.txn`). One Txn is one revision, applied atomically.
 */
import type { etcdserverpb } from '../api/codec/index.js';
import { rangeOf, toBytes, type Bytes, type KeySelector } from './bytes.js';
import { headerOf, kvOf, revisionOf, type KeyValue, type ResponseHeader } from './types.js';

/** CompareOp is the comparison of a Compare. */
export type CompareOp = '==' | '!=' | '<' | '>';

const RESULT = { '==': 0, '>': 1, '<': 2, '!=': 3 } as const;

/** Compare is one condition of a transaction; build it with `compare.*`. */
export interface Compare {
  readonly wire: etcdserverpb.Compare;
}

function cmp(key: Bytes, op: CompareOp, target: 0 | 1 | 2 | 3 | 4, union: NonNullable<etcdserverpb.Compare['targetUnion']>): Compare {
  return { wire: { result: RESULT[op], target, key: toBytes(key), targetUnion: union, rangeEnd: new Uint8Array(0) } };
}

/**
 * compare builds conditions. A key that does not exist has version, createRevision and
 * modRevision 0, so `compare.createRevision(k, '==', 0)` means "k is absent".
 */
export const compare = {
  value: (key: Bytes, op: CompareOp, value: Bytes): Compare => cmp(key, op, 3, { $case: 'value', value: toBytes(value) }),
  version: (key: Bytes, op: CompareOp, version: number): Compare => cmp(key, op, 0, { $case: 'version', value: BigInt(version) }),
  createRevision: (key: Bytes, op: CompareOp, revision: number): Compare => cmp(key, op, 1, { $case: 'createRevision', value: BigInt(revision) }),
  modRevision: (key: Bytes, op: CompareOp, revision: number): Compare => cmp(key, op, 2, { $case: 'modRevision', value: BigInt(revision) }),
  lease: (key: Bytes, op: CompareOp, lease: bigint): Compare => cmp(key, op, 4, { $case: 'lease', value: lease }),
  /** absent is `createRevision(key, '==', 0)`. */
  absent: (key: Bytes): Compare => cmp(key, '==', 1, { $case: 'createRevision', value: 0n }),
} as const;

/** Op is one operation of a transaction; build it with `op.*`. */
export interface Op {
  readonly wire: etcdserverpb.RequestOp;
}

/** PutOptions: `lease` attaches the key to a lease; `prevKv` returns the previous value. */
export interface PutOptions {
  readonly lease?: bigint;
  readonly prevKv?: boolean;
}

export function putRequest(key: Bytes, value: Bytes, options: PutOptions = {}): etcdserverpb.PutRequest {
  return { key: toBytes(key), value: toBytes(value), lease: options.lease ?? 0n, prevKv: options.prevKv ?? false, ignoreValue: false, ignoreLease: false };
}

export function rangeRequest(selector: KeySelector, bareIsPrefix: boolean, revision = 0, limit = 0): etcdserverpb.RangeRequest {
  const { key, rangeEnd } = rangeOf(selector, bareIsPrefix);
  return {
    key, rangeEnd, limit: BigInt(limit), revision: BigInt(revision), sortOrder: 0, sortTarget: 0, serializable: false,
    keysOnly: false, countOnly: false, minModRevision: 0n, maxModRevision: 0n, minCreateRevision: 0n, maxCreateRevision: 0n,
  };
}

export function deleteRequest(selector: KeySelector, prevKv = false): etcdserverpb.DeleteRangeRequest {
  const { key, rangeEnd } = rangeOf(selector, false);
  return { key, rangeEnd, prevKv };
}

/** op builds transaction operations. A bare key in `get`/`delete` is one key; use `{ prefix }` for many. */
export const op = {
  put: (key: Bytes, value: Bytes, options: PutOptions = {}): Op => ({ wire: { request: { $case: 'requestPut', value: putRequest(key, value, options) } } }),
  get: (selector: KeySelector): Op => ({ wire: { request: { $case: 'requestRange', value: rangeRequest(selector, false) } } }),
  delete: (selector: KeySelector, options: { prevKv?: boolean } = {}): Op => ({ wire: { request: { $case: 'requestDeleteRange', value: deleteRequest(selector, options.prevKv ?? false) } } }),
  txn: (compares: readonly Compare[], success: readonly Op[], failure: readonly Op[] = []): Op =>
    ({ wire: { request: { $case: 'requestTxn', value: txnRequest(compares, success, failure) } } }),
} as const;

export function txnRequest(compares: readonly Compare[], success: readonly Op[], failure: readonly Op[]): etcdserverpb.TxnRequest {
  return { compare: compares.map((c) => c.wire), success: success.map((o) => o.wire), failure: failure.map((o) => o.wire) };
}

/** OpResult is the result of one operation, in the order the operations were given. */
export type OpResult =
  | { readonly type: 'get'; readonly kvs: readonly KeyValue[]; readonly count: number }
  | { readonly type: 'put'; readonly prevKv: KeyValue | undefined }
  | { readonly type: 'delete'; readonly deleted: number; readonly prevKvs: readonly KeyValue[] }
  | { readonly type: 'txn'; readonly result: TxnResult };

/** TxnResult: `succeeded` says which branch ran; `results` are that branch's results. */
export interface TxnResult {
  readonly succeeded: boolean;
  readonly header: ResponseHeader;
  /** revision is the transaction's revision (the store's revision after it). */
  readonly revision: number;
  readonly results: readonly OpResult[];
}

export function txnResultOf(r: etcdserverpb.TxnResponse): TxnResult {
  const header = headerOf(r.header);
  return { succeeded: r.succeeded, header, revision: header.revision, results: r.responses.map(opResultOf) };
}

function opResultOf(r: etcdserverpb.ResponseOp): OpResult {
  const res = r.response;
  switch (res?.$case) {
    case 'responseRange': return { type: 'get', kvs: res.value.kvs.map(kvOf), count: revisionOf(res.value.count) };
    case 'responsePut': return { type: 'put', prevKv: res.value.prevKv ? kvOf(res.value.prevKv) : undefined };
    case 'responseDeleteRange': return { type: 'delete', deleted: revisionOf(res.value.deleted), prevKvs: res.value.prevKvs.map(kvOf) };
    case 'responseTxn': return { type: 'txn', result: txnResultOf(res.value) };
    case undefined: return { type: 'get', kvs: [], count: 0 };
  }
}

/** TxnBuilder collects a transaction; `commit` sends it (a write: never retried when its outcome is unknown). */
export class TxnBuilder {
  private readonly compares: Compare[] = [];
  private readonly success: Op[] = [];
  private readonly failure: Op[] = [];

  constructor(private readonly run: (request: etcdserverpb.TxnRequest) => Promise<TxnResult>) {}

  /** if adds conditions; all must hold for the `then` branch. */
  if(...compares: Compare[]): this {
    this.compares.push(...compares);
    return this;
  }

  then(...ops: Op[]): this {
    this.success.push(...ops);
    return this;
  }

  else(...ops: Op[]): this {
    this.failure.push(...ops);
    return this;
  }

  /** request is the wire TxnRequest this builder describes. */
  request(): etcdserverpb.TxnRequest {
    return txnRequest(this.compares, this.success, this.failure);
  }

  commit(): Promise<TxnResult> {
    return this.run(this.request());
  }
}
