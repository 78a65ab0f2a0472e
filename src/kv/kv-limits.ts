import { assert } from '../lib/assert.js';

/**
 * KvLimits are the store's bounds; every member of a group must use the same values (they shape
 * replicated outcomes). Defaults are etcd's.
 */
export interface KvLimits {
  /** txnOpsMax bounds the operations of one txn level (etcd --max-txn-ops). */
  readonly txnOpsMax: number;
  /** leaseTtlSecondsMax is etcd's MaxLeaseTTL (9,000,000,000 s). */
  readonly leaseTtlSecondsMax: number;
  /** leaseTtlSecondsMin raises shorter grants (etcd derives it from the election timeout). */
  readonly leaseTtlSecondsMin: number;
  /** quotaBytes is the approximate store size above which writes are refused (etcd --quota-backend-bytes). */
  readonly quotaBytes: number;
  /** leasesMax bounds the number of live leases (an overflow is refused as NOSPACE). */
  readonly leasesMax: number;
}

/** KV_LIMITS_DEFAULT: etcd's defaults (128 ops, 2 GiB quota, 2 s minimum TTL for 1 s elections). */
export const KV_LIMITS_DEFAULT: KvLimits = {
  txnOpsMax: 128,
  leaseTtlSecondsMax: 9_000_000_000,
  leaseTtlSecondsMin: 2,
  quotaBytes: 2 * 1024 * 1024 * 1024,
  leasesMax: 1_000_000,
};

/** KV_ENTRY_OVERHEAD_BYTES approximates per-version bookkeeping in the size estimate (etcd's kvOverhead is 256 for the quota). */
export const KV_ENTRY_OVERHEAD_BYTES = 64;
/** KV_LEASE_OVERHEAD_BYTES approximates one lease record in the size estimate. */
export const KV_LEASE_OVERHEAD_BYTES = 64;

/** checkKvLimits asserts the relationships between limits (programmer error if violated). */
export function checkKvLimits(limits: KvLimits): KvLimits {
  assert(Number.isSafeInteger(limits.txnOpsMax) && limits.txnOpsMax >= 1, 'txnOpsMax >= 1');
  assert(Number.isSafeInteger(limits.leaseTtlSecondsMin) && limits.leaseTtlSecondsMin >= 0, 'leaseTtlSecondsMin >= 0');
  assert(Number.isSafeInteger(limits.leaseTtlSecondsMax) && limits.leaseTtlSecondsMax >= limits.leaseTtlSecondsMin,
    'leaseTtlSecondsMax >= leaseTtlSecondsMin');
  assert(Number.isSafeInteger(limits.quotaBytes) && limits.quotaBytes > 0, 'quotaBytes > 0');
  assert(Number.isSafeInteger(limits.leasesMax) && limits.leasesMax >= 1, 'leasesMax >= 1');
  return limits;
}
checkKvLimits(KV_LIMITS_DEFAULT);
