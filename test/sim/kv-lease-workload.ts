/**
 * LeaseWorkload: simulated clients grant leases, attach keys to them, and then revoke the lease,
 * abandon it (stop its keep-alives: it must expire) or keep it alive to the end; expiry is the
 * leader's lessor's job (kv-lessors.ts). Once the run has healed and settled, the workload waits
 * for every abandoned lease to expire (the longest TTL plus `expiryGrace` after the final phase
 * began, keeping the kept leases alive meanwhile), then reads every key under its prefix at the
 * leader. The history is a `LeaseHistory` (times in simulated ms, TTLs in seconds).
 *
 * A lease's fate as recorded: 'revoked' when its revoke was acknowledged (at that time);
 * 'abandoned' when the client stopped keeping it alive, its revoke's outcome was unknown, or the
 * client found it lost (at the last acknowledged grant or keep-alive, or the last answer to a
 * keep-alive still in flight then: `stoppedAt`); 'kept' when it was kept
 * alive through the final read and never found lost.
 */
import { randomChance, randomInt, type Prng } from '../../src/lib/prng.js';
import type { LeaseHistory } from '../../src/check/workload-histories.js';
import { prefixEnd, type MvccStore } from '../../src/kv/index.js';
import type { LeaseId } from '../../src/kv/index.js';
import type { KvClients } from './kv-clients.js';
import { LeaseKeeper, newClientLease, stoppedAt, type ClientLease } from './kv-lease-keeper.js';
import type { StackWorkload } from './kv-workloads.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** LEASE_CLIENTS: how many clients grant leases. */
const LEASE_CLIENTS = 4;
/** KEPT_LEASES_MAX bounds the leases kept alive to the end (each sends a keep-alive every TTL/3). */
const KEPT_LEASES_MAX = 6;

/** LeaseTiming: the TTLs the clients ask for and the grace the checker allows beyond a TTL. */
export interface LeaseTiming {
  /** ttlMinSeconds: 1.5 election timeouts rounded up to seconds, at least the store's minimum (docs/leases.md). */
  readonly ttlMinSeconds: number;
  /**
   * expiryGraceMs: what docs/leases.md allows beyond a TTL — a new leader's grace (one election
   * timeout) and the replication delay — plus a revoke retry. The replication delay is bounded by
   * the clients' request timeout (an answer later than that is given up on) and counted twice: a
   * keep-alive given up on may be applied that much later, and each periodic checkpoint of
   * remaining TTLs is measured from its apply time, so its commit latency (plus the rounding up to
   * whole seconds) lengthens every lease once more.
   */
  readonly expiryGraceMs: number;
}

/** leaseTiming derives the workload's timing from the run's election timeout and the clients' request timeout. */
export function leaseTiming(electionMs: number, promoteGraceMs: number, revokeRetryMs: number, requestTimeoutMs: number): LeaseTiming {
  return {
    ttlMinSeconds: Math.max(2, Math.ceil((1.5 * electionMs) / 1000)),
    expiryGraceMs: promoteGraceMs + revokeRetryMs + 2 * (requestTimeoutMs + 1000),
  };
}

interface LeaseRecord {
  readonly lease: ClientLease;
  readonly keys: string[];
  readonly plan: 'revoke' | 'abandon' | 'keep';
  fate: 'active' | 'revoked' | 'abandoned' | 'kept';
  endedAt: number | null;
}

interface LeaseClient {
  busy: boolean;
  record: LeaseRecord | undefined;
  putsLeft: number;
  holdUntil: number;
}

/** LeaseWorkload runs the lease workload (see the file comment). */
export class LeaseWorkload implements StackWorkload {
  readonly name = 'lease' as const;
  readonly keeper: LeaseKeeper;
  private readonly clients: LeaseClient[] = [];
  private readonly records: LeaseRecord[] = [];
  private readonly prefix = '/l/';
  private stopped = false;
  private finalFrom: number | undefined;
  private finalInFlight = false;
  private final: { time: number; keys: string[]; keptThrough: Set<LeaseRecord> } | undefined;

  /**
   * renewalAppliedAt: the latest simulated time a renewal of the lease (a full-TTL checkpoint)
   * was applied on any node. A keep-alive the client gave up on may still be applied later, and
   * then it renews the lease from its apply time (the lessor's contract), so an abandoned lease
   * ends no earlier than that.
   */
  constructor(private readonly kv: KvClients, private readonly prng: Prng, private readonly timing: LeaseTiming,
    private readonly renewalAppliedAt: (id: LeaseId) => number | undefined = () => undefined) {
    this.keeper = new LeaseKeeper(kv);
    for (let i = 0; i < LEASE_CLIENTS; i++) this.clients.push({ busy: false, record: undefined, putsLeft: 0, holdUntil: 0 });
  }

  onTick(): void {
    this.keeper.onTick();
    for (const c of this.clients) if (!c.busy) this.drive(c);
  }

  /**
   * onSettleTick: from the settle phase on, clients only grant leases to keep (so the final read
   * sees kept leases of every age, down to a few keep-alives old); leases being worked towards a
   * revoke or an abandon are abandoned at once; the kept ones stay alive.
   */
  onSettleTick(): void {
    // In the final phase `finishTick` drives the clients (once a tick, and no grants once the final read is due).
    if (this.finalFrom === undefined) this.settleTick();
  }

  private settleTick(): void {
    if (!this.stopped) {
      this.stopped = true;
      for (const c of this.clients) {
        if (c.record === undefined || c.record.plan === 'keep') continue;
        this.end(c.record, 'abandoned');
        c.record = undefined;
      }
    }
    this.onTick();
  }

  private drive(c: LeaseClient): void {
    const now = this.kv.nowMs();
    const r = c.record;
    if (r === undefined) {
      if (randomChance(this.prng, 0.3)) this.grant(c);
      return;
    }
    if (r.lease.lost !== 'no') {
      this.end(r, 'abandoned');
      c.record = undefined;
      return;
    }
    if (c.putsLeft > 0) {
      c.putsLeft--;
      const key = `${this.prefix}${r.lease.id.toString(16)}/${r.keys.length + c.putsLeft}`;
      c.busy = this.kv.write({ type: 'put', request: { key: encoder.encode(key), value: encoder.encode('1'), lease: r.lease.id } }, (result) => {
        c.busy = false;
        if (result === null) return;
        if (result.ok) r.keys.push(key);
        else c.putsLeft = 0; // the lease is gone
      });
      if (!c.busy) c.putsLeft++;
      return;
    }
    if (r.plan === 'keep') {
      c.record = undefined; // kept alive by the keeper to the end
      return;
    }
    if (now < c.holdUntil) return;
    this.keeper.stop(r.lease);
    if (r.plan === 'abandon') {
      this.end(r, 'abandoned');
      c.record = undefined;
      return;
    }
    r.lease.revokedByClient = true;
    c.busy = this.kv.write({ type: 'leaseRevoke', request: { id: r.lease.id } }, (result) => {
      c.busy = false;
      c.record = undefined;
      if (result !== null && result.ok) {
        r.fate = 'revoked';
        r.endedAt = this.kv.nowMs();
      } else {
        this.end(r, 'abandoned');
      }
    });
    if (!c.busy) {
      r.lease.revokedByClient = false;
      this.keeper.keep(r.lease);
    }
  }

  private grant(c: LeaseClient): void {
    // A lease to be kept gets a longer TTL (more of them outlive a leaderless stretch).
    const kept = this.records.filter((r) => r.plan === 'keep' && r.fate === 'active' && r.lease.lost === 'no').length;
    const roll = randomInt(this.prng, 10);
    const plan = (roll < 3 || this.stopped) && kept < KEPT_LEASES_MAX ? 'keep' : roll < 7 ? 'revoke' : 'abandon';
    if (this.stopped && plan !== 'keep') return;
    const ttl = this.timing.ttlMinSeconds + (plan === 'keep' ? 3 + randomInt(this.prng, 5) : randomInt(this.prng, 3));
    const callAt = this.kv.nowMs();
    c.busy = this.kv.write({ type: 'leaseGrant', request: { ttl } }, (result) => {
      c.busy = false;
      if (result === null || !result.ok || result.result.type !== 'leaseGrant') return;
      const granted = result.result.response;
      const lease = newClientLease(granted.id, granted.ttl, callAt, this.kv.nowMs());
      const record: LeaseRecord = { lease, keys: [], plan, fate: 'active', endedAt: null };
      this.records.push(record);
      if (this.stopped && plan !== 'keep') {
        this.end(record, 'abandoned');
        return;
      }
      this.keeper.keep(lease);
      c.record = record;
      c.putsLeft = 1 + randomInt(this.prng, 2);
      c.holdUntil = this.kv.nowMs() + randomInt(this.prng, 2 * granted.ttl * 1000);
    });
  }

  private end(r: LeaseRecord, fate: 'abandoned'): void {
    if (r.fate !== 'active') return;
    this.keeper.stop(r.lease);
    r.fate = fate;
  }

  finishTick(): boolean {
    if (this.final !== undefined) {
      this.keeper.stopAll();
      return true;
    }
    const now = this.kv.nowMs();
    if (this.finalFrom === undefined) {
      // Wait until every abandoned lease must have expired: the longest TTL and the grace, from now.
      const ttlMax = Math.max(0, ...this.records.map((r) => r.lease.ttl));
      this.finalFrom = now + ttlMax * 1000 + this.timing.expiryGraceMs;
    }
    if (now < this.finalFrom) {
      this.settleTick(); // keep granting leases to keep until the final read
      return false;
    }
    this.keeper.onTick();
    for (const c of this.clients) if (!c.busy && c.record !== undefined && c.putsLeft > 0) this.drive(c);
    if (this.finalInFlight || this.clients.some((c) => c.busy || (c.record !== undefined && c.putsLeft > 0))) return false;
    const time = now;
    this.finalInFlight = this.kv.read((store) => {
      this.finalInFlight = false;
      if (store === null) return;
      const keptThrough = new Set(this.records.filter((r) => r.plan === 'keep' && r.fate === 'active' && r.lease.lost === 'no'));
      this.final = { time, keys: this.readKeys(store), keptThrough };
    }, true);
    return false;
  }

  private readKeys(store: MvccStore): string[] {
    const key = encoder.encode(this.prefix);
    const r = store.range({ key, rangeEnd: prefixEnd(key), keysOnly: true });
    if (!r.ok) throw new Error(`final range of ${this.prefix} failed: ${r.error.message}`);
    return r.response.kvs.map((kv) => decoder.decode(kv.key));
  }

  stats(): string {
    const k = this.keeper.stats;
    return `keep-alives ${k.keepAlives}, lost: ${k.lostNotFound} not found, ${k.lostDeadline} past the deadline; ${this.kv.stats.keepAlivesNotFoundLocally} keep-alives answered not found by the serving node (${this.kv.stats.keepAlivesNotFoundButLive} while the leader had the lease)`;
  }

  /** problems are the early losses the keeper saw (each fails the run). */
  problems(): string[] {
    return this.keeper.earlyLosses;
  }

  history(): LeaseHistory {
    const final = this.final;
    return {
      workload: 'lease',
      prefix: this.prefix,
      expiryGrace: this.timing.expiryGraceMs,
      leases: this.records.map((r) => {
        const base = { id: r.lease.id.toString(), ttl: r.lease.ttl, keys: r.keys };
        if (r.fate === 'revoked') return { ...base, fate: 'revoked' as const, endedAt: r.endedAt };
        if (final !== undefined && final.keptThrough.has(r)) return { ...base, fate: 'kept' as const, endedAt: null };
        return { ...base, fate: 'abandoned' as const, endedAt: Math.max(stoppedAt(r.lease), this.renewalAppliedAt(r.lease.id) ?? 0) };
      }),
      finalRead: final === undefined ? null : { time: final.time, keys: final.keys },
    };
  }
}
