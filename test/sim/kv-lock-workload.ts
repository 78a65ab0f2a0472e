/**
 * LockWorkload: simulated clients take one lock the way the client library does
 * (`src/client/lock.ts`, `contender-queue.ts`): each acquisition grants a lease, creates
 * `<prefix><lease id hex>` under it with a txn (put if absent, then read it back; retried on an
 * unknown outcome, which the txn makes harmless), takes the key's create revision as its
 * fencing token, and waits until no key under the prefix has a lower create revision (polling
 * linearizable reads where the client library watches its predecessor). While holding the lock a
 * client writes to the fenced resource — a key of the same store — with a txn guarded by its
 * lock key's create revision, then releases (deletes its key, revokes its lease).
 *
 * Holders now and then pause (as a process stalled by GC or a VM freeze) for longer than their
 * TTL, so their keep-alives stop, the leader's lessor revokes the lease, the lock key goes and the
 * next contender takes over; the paused client then resumes and writes with its old token, which
 * the guard must reject. With the `lock-skips-wait` fault (a negative control) a client counts the
 * lock as taken as soon as its key exists.
 *
 * The resource's log is read at the end from the leader's store (the resource key's history, in
 * revision order); each accepted write's time is when its revision was first applied by any node.
 */
import { randomChance, randomInt, type Prng } from '../../src/lib/prng.js';
import type { LockHistory } from '../../src/check/workload-histories.js';
import { CompareResult, EventType, prefixEnd, WatchHub, type KvApplyResult, type MvccStore } from '../../src/kv/index.js';
import type { KvClients } from './kv-clients.js';
import { LeaseKeeper, newClientLease, type ClientLease } from './kv-lease-keeper.js';
import type { LeaseTiming } from './kv-lease-workload.js';
import type { KvSimStateMachine } from './kv-state-machine.js';
import type { SimNode } from './sim-node.js';
import type { StackWorkload } from './kv-workloads.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** LOCK_CLIENTS: how many clients contend for the lock. */
const LOCK_CLIENTS = 3;
/** PAUSE_CHANCE: the chance a holder pauses before one of its writes. */
const PAUSE_CHANCE = 0.08;

type LockState = 'idle' | 'enqueue' | 'waiting' | 'holding' | 'paused' | 'release';

interface LockClient {
  readonly id: number;
  state: LockState;
  busy: boolean;
  lease: ClientLease | undefined;
  key: string;
  token: number;
  acquisition: { clientId: number; token: string; acquiredAt: number; releasedAt: number | null } | undefined;
  writesLeft: number;
  wakeAt: number;
  seq: number;
}

/** LockWorkload runs the lock workload (see the file comment). */
export class LockWorkload implements StackWorkload {
  readonly name = 'lock' as const;
  readonly keeper: LeaseKeeper;
  private readonly clients: LockClient[] = [];
  private readonly acquisitions: NonNullable<LockClient['acquisition']>[] = [];
  private readonly rejected: LockHistory['rejected'][number][] = [];
  private readonly acknowledged: LockHistory['acknowledged'][number][] = [];
  private readonly revisionFirstAppliedMs = new Map<number, number>();
  private readonly prefix = '/lock/m/';
  private readonly resource = '/lock/resource';
  private stopped = false;
  private finalInFlight = false;
  private final: { time: number; log: LockHistory['resourceLog'][number][] } | undefined;
  /** counts for the run's summary. */
  readonly counts = { pauses: 0, leasesLost: 0 };

  constructor(private readonly kv: KvClients, private readonly prng: Prng, private readonly timing: LeaseTiming, private readonly skipWait: boolean) {
    this.keeper = new LeaseKeeper(kv);
    for (let id = 0; id < LOCK_CLIENTS; id++) {
      this.clients.push({ id, state: 'idle', busy: false, lease: undefined, key: '', token: 0, acquisition: undefined, writesLeft: 0, wakeAt: 0, seq: 0 });
    }
  }

  /** onApplied notes when each revision was first applied by any node (the resource's accept time). */
  onApplied(node: SimNode, _value: string): void {
    const sm = node.sm as KvSimStateMachine;
    if (sm.lastResult === undefined || !sm.lastResult.ok) return;
    const revision = sm.store.currentRevision;
    if (!this.revisionFirstAppliedMs.has(revision)) this.revisionFirstAppliedMs.set(revision, this.kv.nowMs());
  }

  onTick(): void {
    for (const c of this.clients) {
      // A paused client neither keeps its lease alive nor notices it was lost; it resumes with a write.
      if (c.state === 'paused' && this.kv.nowMs() >= c.wakeAt) {
        c.state = 'holding';
        if (c.lease !== undefined) this.keeper.keep(c.lease);
      }
      if (!c.busy) this.drive(c);
    }
    this.keeper.onTick();
  }

  /** onSettleTick: requests stop, and so do the keep-alives (the leases expire). */
  onSettleTick(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.keeper.stopAll();
  }

  private lost(c: LockClient): boolean {
    return c.lease === undefined || c.lease.lost !== 'no';
  }

  private drive(c: LockClient): void {
    const now = this.kv.nowMs();
    if (c.state !== 'idle' && c.state !== 'paused' && this.lost(c)) {
      // The lease is gone: whatever was held is lost (not released cleanly). Start over.
      this.counts.leasesLost++;
      c.state = 'idle';
      c.acquisition = undefined;
      c.wakeAt = now;
      return;
    }
    switch (c.state) {
      case 'idle':
        if (now >= c.wakeAt && randomChance(this.prng, 0.3)) this.grant(c);
        return;
      case 'enqueue':
        return this.enqueue(c);
      case 'waiting':
        return this.poll(c);
      case 'holding':
        if (c.writesLeft === 0) return this.release(c);
        if (randomChance(this.prng, PAUSE_CHANCE)) {
          this.counts.pauses++;
          c.state = 'paused';
          c.wakeAt = now + c.lease!.ttl * 1000 + 500 + randomInt(this.prng, 2000);
          this.keeper.stop(c.lease!);
          return;
        }
        return this.writeResource(c);
      case 'paused':
      case 'release':
        return;
    }
  }

  private grant(c: LockClient): void {
    const ttl = this.timing.ttlMinSeconds + 1 + randomInt(this.prng, 3);
    const callAt = this.kv.nowMs();
    c.busy = this.kv.write({ type: 'leaseGrant', request: { ttl } }, (result) => {
      c.busy = false;
      if (result === null || !result.ok || result.result.type !== 'leaseGrant') return;
      const granted = result.result.response;
      c.lease = newClientLease(granted.id, granted.ttl, callAt, this.kv.nowMs());
      c.key = `${this.prefix}${granted.id.toString(16)}`;
      c.state = 'enqueue';
      if (this.stopped) return;
      this.keeper.keep(c.lease);
    });
  }

  private enqueue(c: LockClient): void {
    const key = encoder.encode(c.key);
    c.busy = this.kv.write({
      type: 'txn',
      request: {
        compare: [{ key, result: CompareResult.Equal, target: 'create', createRevision: 0 }],
        success: [{ type: 'put', request: { key, value: new Uint8Array(0), lease: c.lease!.id } }, { type: 'range', request: { key } }],
        failure: [{ type: 'range', request: { key } }],
      },
    }, (result) => {
      c.busy = false;
      if (result === null) return; // retried: the txn is idempotent
      const created = createRevisionOf(result);
      if (created === undefined) {
        c.lease!.lost = 'not-found'; // the put failed: the lease is gone
        return;
      }
      c.token = created;
      if (this.skipWait) this.acquired(c);
      else c.state = 'waiting';
    });
  }

  private poll(c: LockClient): void {
    c.busy = this.kv.read((store) => {
      c.busy = false;
      if (store === null || c.state !== 'waiting') return;
      const key = encoder.encode(this.prefix);
      const r = store.range({ key, rangeEnd: prefixEnd(key) });
      if (!r.ok) throw new Error(`lock range failed: ${r.error.message}`);
      const mine = r.response.kvs.find((kv) => decoder.decode(kv.key) === c.key);
      if (mine === undefined || mine.createRevision !== c.token) {
        c.lease!.lost = 'not-found'; // the key went with the lease
        return;
      }
      if (r.response.kvs.every((kv) => kv.createRevision >= c.token)) this.acquired(c);
    });
  }

  private acquired(c: LockClient): void {
    c.state = 'holding';
    c.writesLeft = 1 + randomInt(this.prng, 3);
    c.acquisition = { clientId: c.id, token: String(c.token), acquiredAt: this.kv.nowMs(), releasedAt: null };
    this.acquisitions.push(c.acquisition);
  }

  private writeResource(c: LockClient): void {
    const seq = ++c.seq;
    const token = String(c.token);
    const key = encoder.encode(c.key);
    c.busy = this.kv.write({
      type: 'txn',
      request: {
        compare: [{ key, result: CompareResult.Equal, target: 'create', createRevision: c.token }],
        success: [{ type: 'put', request: { key: encoder.encode(this.resource), value: encoder.encode(`${c.id}/${seq}/${token}`) } }],
        failure: [],
      },
    }, (result) => {
      c.busy = false;
      c.writesLeft--;
      if (result === null || !result.ok || result.result.type !== 'txn') return;
      if (result.result.response.succeeded) {
        this.acknowledged.push({ clientId: c.id, token, seq });
      } else {
        this.rejected.push({ clientId: c.id, token, seq, time: this.kv.nowMs() });
        c.writesLeft = 0; // the lock is gone: release what is left
      }
    });
  }

  private release(c: LockClient): void {
    c.state = 'release';
    c.busy = this.kv.write({ type: 'deleteRange', request: { key: encoder.encode(c.key) } }, (result) => {
      c.busy = false;
      if (result !== null && result.ok && c.acquisition !== undefined) c.acquisition.releasedAt = this.kv.nowMs();
      const lease = c.lease!;
      this.keeper.stop(lease);
      lease.revokedByClient = true;
      this.kv.write({ type: 'leaseRevoke', request: { id: lease.id } }, () => {});
      c.lease = undefined;
      c.acquisition = undefined;
      c.state = 'idle';
      c.wakeAt = this.kv.nowMs() + randomInt(this.prng, 1000);
    });
    if (!c.busy) c.state = 'holding';
  }

  finishTick(): boolean {
    if (this.final !== undefined) return true;
    if (this.finalInFlight || this.clients.some((c) => c.busy) || this.kv.inFlight > 0) return false;
    const time = this.kv.nowMs();
    this.finalInFlight = this.kv.read((store) => {
      this.finalInFlight = false;
      if (store !== null) this.final = { time, log: this.resourceLog(store) };
    }, true);
    return false;
  }

  /** resourceLog reads the resource key's history from `store`, in revision order. */
  private resourceLog(store: MvccStore): LockHistory['resourceLog'][number][] {
    const hub = new WatchHub(store);
    const created = hub.create({ key: encoder.encode(this.resource), startRevision: 1 });
    if (created === undefined) throw new Error('cannot watch the resource');
    const log: LockHistory['resourceLog'][number][] = [];
    while (hub.hasPending(created.watchId)) {
      for (const response of hub.take(created.watchId)) {
        if (response.canceled) throw new Error('the resource\'s history was compacted');
        for (const e of response.events) {
          if (e.type !== EventType.Put) continue;
          const [clientId, seq, token] = decoder.decode(e.kv.value).split('/');
          const time = this.revisionFirstAppliedMs.get(e.kv.modRevision);
          if (time === undefined) throw new Error(`revision ${e.kv.modRevision} was never seen applied`);
          log.push({ clientId: Number(clientId), seq: Number(seq), token: token ?? '', time });
        }
      }
    }
    return log;
  }

  stats(): string {
    const k = this.keeper.stats;
    return `pauses ${this.counts.pauses}, leases lost ${this.counts.leasesLost}; keep-alives ${k.keepAlives}, lost: ${k.lostNotFound} not found, ${k.lostDeadline} past the deadline`;
  }

  problems(): string[] {
    return this.keeper.earlyLosses;
  }

  history(): LockHistory {
    return {
      workload: 'lock',
      acquisitions: this.acquisitions,
      resourceLog: this.final?.log ?? [],
      rejected: this.rejected,
      acknowledged: this.acknowledged,
    };
  }
}

/** createRevisionOf reads the lock key's create revision from the enqueue txn's answer (undefined: the txn failed). */
function createRevisionOf(result: KvApplyResult): number | undefined {
  if (!result.ok || result.result.type !== 'txn') return undefined;
  const response = result.result.response;
  const read = response.responses[response.succeeded ? 1 : 0];
  if (read?.type !== 'range') return undefined;
  return read.response.kvs[0]?.createRevision;
}
