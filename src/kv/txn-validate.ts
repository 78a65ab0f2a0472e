import { keyString } from './bytes.js';
import { KvErrorCode, kvError, type KvError } from './kv-errors.js';
import type { DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from './types.js';

/**
 * Request validation etcd performs in its gRPC layer before proposing (v3rpc/key.go). The store
 * runs the same checks when applying, so a command that slipped past a boundary still fails
 * identically on every member. Each returns the first error, or undefined.
 */

/** checkRangeRequest: the key must be given. */
export function checkRangeRequest(r: RangeRequest): KvError | undefined {
  return r.key.length === 0 ? kvError(KvErrorCode.EmptyKey) : undefined;
}

/** checkPutRequest: a key; no value with ignoreValue; no lease with ignoreLease. */
export function checkPutRequest(r: PutRequest): KvError | undefined {
  if (r.key.length === 0) return kvError(KvErrorCode.EmptyKey);
  if (r.ignoreValue === true && r.value !== undefined && r.value.length !== 0) return kvError(KvErrorCode.ValueProvided);
  if (r.ignoreLease === true && r.lease !== undefined && r.lease !== 0n) return kvError(KvErrorCode.LeaseProvided);
  return undefined;
}

/** checkDeleteRequest: the key must be given. */
export function checkDeleteRequest(r: DeleteRangeRequest): KvError | undefined {
  return r.key.length === 0 ? kvError(KvErrorCode.EmptyKey) : undefined;
}

/**
 * checkTxnRequest is etcd's checkTxnRequest + checkIntervals: at most `txnOpsMax` operations per
 * level (compares, success or failure, whichever is longest; nested txns get the budget left over
 * by their parent level), non-empty keys, valid puts, and no key both put twice or put and
 * deleted on one execution path (etcd's exact overlap rules, including that a key may be put in
 * both branches of a nested txn).
 */
export function checkTxnRequest(r: TxnRequest, txnOpsMax: number): KvError | undefined {
  const error = checkTxnShape(r, txnOpsMax);
  if (error !== undefined) return error;
  return checkOverlaps(r.success) ?? checkOverlaps(r.failure);
}

/** checkOverlaps is checkIntervals' error, skipping the sets when the ops cannot overlap (at most one write, no nested txn). */
function checkOverlaps(ops: readonly RequestOp[]): KvError | undefined {
  let writes = 0;
  for (const op of ops) {
    if (op.type === 'txn') return checkIntervals(ops).error;
    if (op.type !== 'range') writes++;
  }
  return writes > 1 ? checkIntervals(ops).error : undefined;
}

function checkTxnShape(r: TxnRequest, txnOpsMax: number): KvError | undefined {
  const opCount = Math.max(r.compare.length, r.success.length, r.failure.length);
  if (opCount > txnOpsMax) return kvError(KvErrorCode.TooManyOps);
  for (const c of r.compare) if (c.key.length === 0) return kvError(KvErrorCode.EmptyKey);
  for (const ops of [r.success, r.failure]) {
    for (const op of ops) {
      const error = checkRequestOp(op, txnOpsMax - opCount);
      if (error !== undefined) return error;
    }
  }
  return undefined;
}

function checkRequestOp(op: RequestOp, txnOpsMax: number): KvError | undefined {
  switch (op.type) {
    case 'range': return checkRangeRequest(op.request);
    case 'put': return checkPutRequest(op.request);
    case 'deleteRange': return checkDeleteRequest(op.request);
    case 'txn': return checkTxnShape(op.request, txnOpsMax);
  }
}

/** DeleteInterval is [start, end) over binary strings; end '' is +infinity (etcd's affine strings). */
interface DeleteInterval {
  readonly start: string;
  readonly end: string;
}

function intersectsPoint(dels: readonly DeleteInterval[], k: string): boolean {
  return dels.some((d) => d.start <= k && (d.end === '' || k < d.end));
}

interface IntervalCheck {
  readonly puts: Set<string>;
  readonly dels: DeleteInterval[];
  readonly error?: KvError;
}

/**
 * checkIntervals mirrors etcd's: deletes of this level first, then children (their puts checked
 * against this level's and earlier children's deletes, then their deletes merged), then this
 * level's puts against everything collected. Note etcd compares a rangeEnd of "\0" literally
 * here, so a from-key delete never overlaps a put; we keep that.
 */
function checkIntervals(ops: readonly RequestOp[]): IntervalCheck {
  const dels: DeleteInterval[] = [];
  for (const op of ops) {
    if (op.type !== 'deleteRange') continue;
    const start = keyString(op.request.key);
    const rangeEnd = op.request.rangeEnd;
    dels.push(rangeEnd !== undefined && rangeEnd.length !== 0
      ? { start, end: keyString(rangeEnd) }
      : { start, end: start + '\0' });
  }
  const puts = new Set<string>();
  const duplicate = (): IntervalCheck => ({ puts, dels, error: kvError(KvErrorCode.DuplicateKey) });
  for (const op of ops) {
    if (op.type !== 'txn') continue;
    const then = checkIntervals(op.request.success);
    if (then.error !== undefined) return then;
    const otherwise = checkIntervals(op.request.failure);
    if (otherwise.error !== undefined) return otherwise;
    for (const k of then.puts) {
      if (puts.has(k) || intersectsPoint(dels, k)) return duplicate();
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      // A key put by both branches is fine: only one branch runs.
      if (puts.has(k) && !then.puts.has(k)) return duplicate();
      if (intersectsPoint(dels, k)) return duplicate();
      puts.add(k);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of ops) {
    if (op.type !== 'put') continue;
    const k = keyString(op.request.key);
    if (puts.has(k) || intersectsPoint(dels, k)) return duplicate();
    puts.add(k);
  }
  return { puts, dels };
}
