import { directEncode, encodeRangeRecords, type DirectlyEncoded, type etcdserverpb, type mvccpb } from '../codec/index.js';
import { GrpcError, GrpcStatus } from '../grpc/status.js';
import type * as kv from '../../kv/index.js';

/**
 * Conversions between the wire messages (ts-proto: every int64 a bigint, every field present)
 * and the MVCC store's types (safe-integer revisions, optional fields). Validation happens here,
 * once, at the boundary: an int64 revision, limit or TTL beyond 2^53 is refused with
 * InvalidArgument instead of being rounded.
 */

/** toSafe converts a wire int64 to a safe integer or refuses the request. */
export function toSafe(value: bigint, field: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, `etcdserver: ${field} out of range`);
  }
  return Number(value);
}

const EMPTY = new Uint8Array(0);

function optBytes(b: Uint8Array): Uint8Array | undefined {
  return b.byteLength > 0 ? b : undefined;
}

export function rangeRequestIn(r: etcdserverpb.RangeRequest): kv.RangeRequest {
  const out: {
    -readonly [K in keyof kv.RangeRequest]: kv.RangeRequest[K];
  } = { key: r.key };
  const rangeEnd = optBytes(r.rangeEnd);
  if (rangeEnd) out.rangeEnd = rangeEnd;
  if (r.limit !== 0n) out.limit = toSafe(r.limit, 'limit');
  if (r.revision !== 0n) out.revision = toSafe(r.revision, 'revision');
  if (r.sortOrder !== 0) out.sortOrder = r.sortOrder as kv.SortOrder;
  if (r.sortTarget !== 0) out.sortTarget = r.sortTarget as kv.SortTarget;
  if (r.serializable) out.serializable = true;
  if (r.keysOnly) out.keysOnly = true;
  if (r.countOnly) out.countOnly = true;
  if (r.minModRevision !== 0n) out.minModRevision = toSafe(r.minModRevision, 'min_mod_revision');
  if (r.maxModRevision !== 0n) out.maxModRevision = toSafe(r.maxModRevision, 'max_mod_revision');
  if (r.minCreateRevision !== 0n) out.minCreateRevision = toSafe(r.minCreateRevision, 'min_create_revision');
  if (r.maxCreateRevision !== 0n) out.maxCreateRevision = toSafe(r.maxCreateRevision, 'max_create_revision');
  return out;
}

export function putRequestIn(r: etcdserverpb.PutRequest): kv.PutRequest {
  const out: { -readonly [K in keyof kv.PutRequest]: kv.PutRequest[K] } = { key: r.key };
  if (r.value.byteLength > 0) out.value = r.value;
  if (r.lease !== 0n) out.lease = r.lease;
  if (r.prevKv) out.prevKv = true;
  if (r.ignoreValue) out.ignoreValue = true;
  if (r.ignoreLease) out.ignoreLease = true;
  return out;
}

export function deleteRangeRequestIn(r: etcdserverpb.DeleteRangeRequest): kv.DeleteRangeRequest {
  const out: { -readonly [K in keyof kv.DeleteRangeRequest]: kv.DeleteRangeRequest[K] } = { key: r.key };
  const rangeEnd = optBytes(r.rangeEnd);
  if (rangeEnd) out.rangeEnd = rangeEnd;
  if (r.prevKv) out.prevKv = true;
  return out;
}

function compareIn(c: etcdserverpb.Compare): kv.Compare {
  const base = { result: c.result as kv.CompareResult, key: c.key, ...(c.rangeEnd.byteLength > 0 ? { rangeEnd: c.rangeEnd } : {}) };
  const u = c.targetUnion;
  switch (c.target) {
    case 0: return { ...base, target: 'version', version: u?.$case === 'version' ? toSafe(u.value, 'version') : 0 };
    case 1: return { ...base, target: 'create', createRevision: u?.$case === 'createRevision' ? toSafe(u.value, 'create_revision') : 0 };
    case 2: return { ...base, target: 'mod', modRevision: u?.$case === 'modRevision' ? toSafe(u.value, 'mod_revision') : 0 };
    case 3: return { ...base, target: 'value', value: u?.$case === 'value' ? u.value : EMPTY };
    case 4: return { ...base, target: 'lease', lease: u?.$case === 'lease' ? u.value : 0n };
    default: throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, `etcdserver: unknown compare target ${String(c.target)}`);
  }
}

function requestOpIn(op: etcdserverpb.RequestOp): kv.RequestOp {
  const r = op.request;
  switch (r?.$case) {
    case 'requestRange': return { type: 'range', request: rangeRequestIn(r.value) };
    case 'requestPut': return { type: 'put', request: putRequestIn(r.value) };
    case 'requestDeleteRange': return { type: 'deleteRange', request: deleteRangeRequestIn(r.value) };
    case 'requestTxn': return { type: 'txn', request: txnRequestIn(r.value) };
    default: throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, 'etcdserver: empty request op');
  }
}

export function txnRequestIn(r: etcdserverpb.TxnRequest): kv.TxnRequest {
  return {
    compare: r.compare.map(compareIn),
    success: r.success.map(requestOpIn),
    failure: r.failure.map(requestOpIn),
  };
}

/** isReadOnlyTxn is true when no branch writes (such a txn is served like a range). */
export function isReadOnlyTxn(r: kv.TxnRequest): boolean {
  const ro = (ops: readonly kv.RequestOp[]): boolean =>
    ops.every((op) => op.type === 'range' || (op.type === 'txn' && isReadOnlyTxn(op.request)));
  return ro(r.success) && ro(r.failure);
}

/** HeaderContext is what every response header carries besides the revision. */
export interface HeaderContext {
  readonly clusterId: bigint;
  readonly memberId: bigint;
  raftTerm(): number;
}

export function headerOut(ctx: HeaderContext, revision: number): etcdserverpb.ResponseHeader {
  return { clusterId: ctx.clusterId, memberId: ctx.memberId, revision: BigInt(revision), raftTerm: BigInt(ctx.raftTerm()) };
}

export function kvOut(k: kv.KeyValue): mvccpb.KeyValue {
  return {
    key: k.key,
    createRevision: BigInt(k.createRevision),
    modRevision: BigInt(k.modRevision),
    version: BigInt(k.version),
    value: k.value,
    lease: k.lease,
  };
}

/**
 * StoreRangeResponse is a RangeResponse still holding the store's records: the codec encodes it
 * straight from them (codec/kv-list-encode.ts), with no mvccpb object or bigint per KeyValue.
 * Read as a RangeResponse (the JSON gateway, a Txn's ops), `kvs` converts once on first use.
 */
class StoreRangeResponse implements etcdserverpb.RangeResponse, DirectlyEncoded {
  private converted: mvccpb.KeyValue[] | undefined;
  private countBig: bigint | undefined;

  constructor(
    public header: etcdserverpb.ResponseHeader | undefined,
    private readonly records: readonly kv.KeyValue[],
    public more: boolean,
    private readonly countRecords: number,
  ) {}

  get kvs(): mvccpb.KeyValue[] {
    return (this.converted ??= this.records.map(kvOut));
  }
  set kvs(kvs: mvccpb.KeyValue[]) {
    this.converted = kvs;
  }
  get count(): bigint {
    return (this.countBig ??= BigInt(this.countRecords));
  }
  set count(count: bigint) {
    this.countBig = count;
  }

  [directEncode](prefixBytes: number): Buffer | undefined {
    // Once read (or changed) as a RangeResponse, the generated encoder encodes what it reads as.
    if (this.converted !== undefined || this.countBig !== undefined) return undefined;
    return encodeRangeRecords({ header: this.header, kvs: this.records, more: this.more, count: this.countRecords }, prefixBytes);
  }
}

export function rangeResponseOut(ctx: HeaderContext, r: kv.RangeResponse): etcdserverpb.RangeResponse {
  return new StoreRangeResponse(headerOut(ctx, r.header.revision), r.kvs, r.more, r.count);
}

export function putResponseOut(ctx: HeaderContext, r: kv.PutResponse): etcdserverpb.PutResponse {
  return { header: headerOut(ctx, r.header.revision), prevKv: r.prevKv ? kvOut(r.prevKv) : undefined };
}

export function deleteRangeResponseOut(ctx: HeaderContext, r: kv.DeleteRangeResponse): etcdserverpb.DeleteRangeResponse {
  return { header: headerOut(ctx, r.header.revision), deleted: BigInt(r.deleted), prevKvs: r.prevKvs.map(kvOut) };
}

function responseOpOut(ctx: HeaderContext, op: kv.ResponseOp): etcdserverpb.ResponseOp {
  switch (op.type) {
    case 'range': return { response: { $case: 'responseRange', value: rangeResponseOut(ctx, op.response) } };
    case 'put': return { response: { $case: 'responsePut', value: putResponseOut(ctx, op.response) } };
    case 'deleteRange': return { response: { $case: 'responseDeleteRange', value: deleteRangeResponseOut(ctx, op.response) } };
    case 'txn': return { response: { $case: 'responseTxn', value: txnResponseOut(ctx, op.response) } };
  }
}

export function txnResponseOut(ctx: HeaderContext, r: kv.TxnResponse): etcdserverpb.TxnResponse {
  return { header: headerOut(ctx, r.header.revision), succeeded: r.succeeded, responses: r.responses.map((op) => responseOpOut(ctx, op)) };
}

export function eventOut(e: kv.WatchEvent): mvccpb.Event {
  return { type: e.type as mvccpb.Event_EventType, kv: kvOut(e.kv), prevKv: e.prevKv ? kvOut(e.prevKv) : undefined };
}
