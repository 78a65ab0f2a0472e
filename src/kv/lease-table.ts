import { assert } from '../lib/assert.js';
import type { LeaseId, LeaseInfo } from './types.js';
import { keyBytes } from './bytes.js';

/**
 * Lease is the replicated part of a lease (etcd's lessor minus the clock): its granted TTL, the
 * remaining TTL from the last checkpoint (0 = none; the full TTL applies), and the keys attached
 * (binary strings, see bytes.ts). Expiry is decided by the leader outside the store and arrives
 * as a revoke.
 */
export interface Lease {
  readonly id: LeaseId;
  readonly grantedTtl: number;
  remainingTtl: number;
  readonly keys: Set<string>;
}

/** INT64_MIN / INT64_MAX bound lease ids (etcd's int64). */
export const INT64_MIN = -(1n << 63n);
export const INT64_MAX = (1n << 63n) - 1n;

/**
 * LeaseTable owns the live leases of the store and which keys each holds. The key -> lease link
 * is also in each key's latest KeyValue.lease; the store keeps both in step.
 */
export class LeaseTable {
  private readonly leases = new Map<LeaseId, Lease>();
  /** generatorState drives generated ids (splitmix64); replicated, so every member agrees. */
  generatorState = 0n;

  get size(): number {
    return this.leases.size;
  }

  get(id: LeaseId): Lease | undefined {
    return this.leases.get(id);
  }

  has(id: LeaseId): boolean {
    return this.leases.has(id);
  }

  /** generateId returns a fresh positive id not in use (deterministic in the table state). */
  generateId(): LeaseId {
    for (;;) {
      this.generatorState = (this.generatorState + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
      let z = this.generatorState;
      z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
      z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
      z = (z ^ (z >> 31n)) & INT64_MAX;
      if (z !== 0n && !this.leases.has(z)) return z;
    }
  }

  add(id: LeaseId, grantedTtl: number, remainingTtl = 0): Lease {
    assert(id !== 0n && !this.leases.has(id), 'lease id must be new and nonzero');
    const lease: Lease = { id, grantedTtl, remainingTtl, keys: new Set() };
    this.leases.set(id, lease);
    return lease;
  }

  remove(id: LeaseId): Lease | undefined {
    const lease = this.leases.get(id);
    this.leases.delete(id);
    return lease;
  }

  attach(id: LeaseId, key: string): void {
    const lease = this.leases.get(id);
    assert(lease !== undefined, 'attach to a missing lease');
    lease.keys.add(key);
  }

  detach(id: LeaseId, key: string): void {
    this.leases.get(id)?.keys.delete(key);
  }

  /** ids lists lease ids in ascending order. */
  ids(): LeaseId[] {
    return [...this.leases.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** info describes a lease (keys in byte order). */
  info(id: LeaseId): LeaseInfo | undefined {
    const lease = this.leases.get(id);
    if (lease === undefined) return undefined;
    return {
      id,
      grantedTtl: lease.grantedTtl,
      remainingTtl: lease.remainingTtl,
      keys: [...lease.keys].sort().map(keyBytes),
    };
  }

  /** all returns every lease in id order (for snapshots and hashing). */
  all(): Lease[] {
    return this.ids().map((id) => this.leases.get(id)!);
  }

  clear(): void {
    this.leases.clear();
    this.generatorState = 0n;
  }
}
