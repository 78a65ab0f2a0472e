import { unreachable } from '../lib/assert.js';
import { compareBytes } from './bytes.js';
import { CompareResult, NO_LEASE, type Compare, type KeyValue } from './types.js';

const ZERO_KV: KeyValue = {
  key: new Uint8Array(0), createRevision: 0, modRevision: 0, version: 0, value: new Uint8Array(0), lease: NO_LEASE,
};

function sign(a: number | bigint, b: number | bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** compareKv is etcd's compareKV: one compare against one key version. */
export function compareKv(c: Compare, kv: KeyValue): boolean {
  let result: number;
  switch (c.target) {
    case 'value': result = compareBytes(kv.value, c.value); break;
    case 'create': result = sign(kv.createRevision, c.createRevision); break;
    case 'mod': result = sign(kv.modRevision, c.modRevision); break;
    case 'version': result = sign(kv.version, c.version); break;
    case 'lease': result = sign(kv.lease, c.lease); break;
    default: return unreachable(c);
  }
  switch (c.result) {
    case CompareResult.Equal: return result === 0;
    case CompareResult.NotEqual: return result !== 0;
    case CompareResult.Greater: return result > 0;
    case CompareResult.Less: return result < 0;
    default: return unreachable(c.result);
  }
}

/**
 * evaluateCompare is etcd's applyCompare over the kvs of the compare's key range: every kv must
 * satisfy it; with no kvs, a value compare fails and other targets compare against zero values
 * (so `createRevision = 0` tests that a key is absent).
 */
export function evaluateCompare(c: Compare, kvs: readonly KeyValue[]): boolean {
  if (kvs.length === 0) return c.target === 'value' ? false : compareKv(c, ZERO_KV);
  return kvs.every((kv) => compareKv(c, kv));
}
