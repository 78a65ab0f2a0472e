import type { KvError } from './kv-errors.js';
import { evaluateCompare } from './compare.js';
import type { Compare, KeyValue, PutRequest, RequestOp, TxnRequest } from './types.js';
import { KV_ENTRY_OVERHEAD_BYTES } from './kv-limits.js';

/**
 * TxnPlan is the execution path of a txn decided before any op runs, as etcd's compareToPath
 * does: every compare, nested ones included, is evaluated against the state before the txn.
 * `nested[i]` is the plan of `ops[i]` when that op is a txn.
 */
export interface TxnPlan {
  readonly succeeded: boolean;
  readonly ops: readonly RequestOp[];
  readonly nested: readonly (TxnPlan | undefined)[];
}

/** planTxn evaluates the compares of `r` and its chosen nested txns with `kvsOf` (the pre-txn view). */
export function planTxn(r: TxnRequest, kvsOf: (c: Compare) => readonly KeyValue[]): TxnPlan {
  const succeeded = r.compare.every((c) => evaluateCompare(c, kvsOf(c)));
  const ops = succeeded ? r.success : r.failure;
  return { succeeded, ops, nested: ops.map((op) => (op.type === 'txn' ? planTxn(op.request, kvsOf) : undefined)) };
}

/** isTxnReadOnly is etcd's isTxnReadonly: no put or delete in any branch at any depth. */
export function isTxnReadOnly(r: TxnRequest): boolean {
  const readOnly = (op: RequestOp): boolean => op.type === 'range' || (op.type === 'txn' && isTxnReadOnly(op.request));
  return r.success.every(readOnly) && r.failure.every(readOnly);
}

/** txnHasPut is true when any branch at any depth puts (etcd refuses those under NOSPACE). */
export function txnHasPut(r: TxnRequest): boolean {
  const puts = (op: RequestOp): boolean => op.type === 'put' || (op.type === 'txn' && txnHasPut(op.request));
  return r.success.some(puts) || r.failure.some(puts);
}

/** checkPlannedOps runs `check` on the put/range/delete ops of the chosen path, depth first. */
export function checkPlannedOps(
  plan: TxnPlan,
  check: (op: RequestOp & { type: 'range' | 'put' | 'deleteRange' }) => KvError | undefined,
): KvError | undefined {
  for (let i = 0; i < plan.ops.length; i++) {
    const op = plan.ops[i]!;
    const error = op.type === 'txn' ? checkPlannedOps(plan.nested[i]!, check) : check(op);
    if (error !== undefined) return error;
  }
  return undefined;
}

/** putCostBytes approximates what a put adds to the store size. */
export function putCostBytes(r: PutRequest): number {
  return r.key.length + (r.value?.length ?? 0) + KV_ENTRY_OVERHEAD_BYTES;
}

/** plannedPutCostBytes sums the put costs of the chosen path. */
export function plannedPutCostBytes(plan: TxnPlan): number {
  let cost = 0;
  checkPlannedOps(plan, (op) => {
    if (op.type === 'put') cost += putCostBytes(op.request);
    return undefined;
  });
  return cost;
}
