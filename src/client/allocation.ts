/**
 * Work allocation: partitions are spread over a service's live members by rendezvous
 * (highest-random-weight) hashing, so a join or leave moves only the partitions it must. A
 * member owns a partition only while it holds the lock `alloc/<service>/<partition>`; the
 * lock's token is the partition's fencing token, and the lock is what guarantees that two
 * members never hold valid tokens for one partition at once (hashing only decides who tries).
 *
 * Per partition: idle → acquiring (waiting for the lock) → owned → releasing → idle. A
 * rebalance aborts a wait or releases a lock; a lost lock (its lease expired) is reported as
 * released and acquired again if the partition is still ours.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { backoffDelayMs, sleep } from './backoff.js';
import type { Concord } from './client.js';
import { ClientErrorCode, ConcordClientError } from './errors.js';
import type { LockHandle } from './lock.js';
import { registerInstance, servicePrefix, watchMemberBatches, type MemberMetadata, type Registration } from './membership.js';

/** ALLOCATION_PARTITIONS_MAX bounds the partitions of one allocator (one lock and lease each). */
export const ALLOCATION_PARTITIONS_MAX = 4_096;

/** AllocateOptions: TTL (seconds, default 10) of the registration and of each partition lock. */
export interface AllocateOptions {
  readonly ttl?: number;
  readonly metadata?: MemberMetadata;
  /** onError is told of failures the allocator retries (a failed lock attempt, a failed member watch). */
  readonly onError?: (error: unknown) => void;
}

/** rendezvousOwner is the member with the highest weight hash(partition, member) (ties: the lower name). */
export function rendezvousOwner(partition: string, members: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestWeight = -1n;
  for (const m of members) {
    const w = weightOf(partition, m);
    if (w > bestWeight || (w === bestWeight && best !== undefined && m < best)) {
      best = m;
      bestWeight = w;
    }
  }
  return best;
}

function weightOf(partition: string, member: string): bigint {
  return createHash('sha256').update(partition).update('\0').update(member).digest().readBigUInt64BE(0);
}

type PartitionState =
  | { readonly type: 'idle' }
  | { readonly type: 'acquiring'; readonly controller: AbortController }
  | { readonly type: 'owned'; readonly lock: LockHandle }
  | { readonly type: 'releasing' };

/** AllocatorEvents: `acquired` after the lock is held, `released` once it no longer counts as held. */
export interface AllocatorEvents {
  acquired: [partition: string, token: number];
  released: [partition: string];
  /** lost: the allocator's registration was lost; it released everything and stopped. */
  lost: [reason: unknown];
}

/**
 * Allocator is one member's share of a service's partitions (`client.allocate(...)`). Act on a
 * partition only between `acquired` and `released`, with its token (e.g. `client.guarded`).
 */
export class Allocator extends EventEmitter<AllocatorEvents> {
  private readonly states = new Map<string, PartitionState>();
  private readonly tokens = new Map<string, number>();
  private live = new Set<string>();
  private readonly stopController = new AbortController();
  /** attempts are the lock acquisitions in flight (awaited by close, so none is left queued). */
  private readonly attempts = new Set<Promise<void>>();
  private readonly ttl: number;
  /** recheckMs: a partition lock wait reads its queue again after this long without news (a safety net). */
  private readonly recheckMs: number;

  constructor(
    private readonly client: Concord,
    readonly service: string,
    readonly instance: string,
    readonly partitions: readonly string[],
    readonly registration: Registration,
    private readonly options: AllocateOptions,
  ) {
    super();
    this.ttl = options.ttl ?? 10;
    this.recheckMs = Math.max(5_000, this.ttl * 3_000);
    for (const p of partitions) this.states.set(p, { type: 'idle' });
    registration.lost.addEventListener('abort', () => {
      if (this.stopController.signal.aborted) return;
      void this.shutdown().then(() => this.emit('lost', registration.lost.reason));
    }, { once: true });
    void this.followMembers();
  }

  /** owned maps each partition this member holds to its fencing token. */
  owned(): ReadonlyMap<string, number> {
    return new Map(this.tokens);
  }

  /** members is the live member set as last seen. */
  members(): ReadonlySet<string> {
    return new Set(this.live);
  }

  /** describe tells each partition's state (`idle`, `acquiring`, `owned <token>`, `releasing`), for logs and tests. */
  describe(): string {
    return [...this.states].map(([p, s]) => `${p}=${s.type === 'owned' ? `owned ${s.lock.token}` : s.type}`).join(' ');
  }

  /** close releases every partition, stops following members and deregisters. */
  async close(): Promise<void> {
    await this.shutdown();
    await this.registration.close().catch(() => {});
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  private async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopController.abort();
    const releases: Promise<void>[] = [...this.attempts];
    for (const [p, s] of this.states) {
      if (s.type === 'acquiring') s.controller.abort();
      if (s.type === 'owned') releases.push(this.release(p, s.lock));
    }
    await Promise.all(releases);
  }

  private async followMembers(): Promise<void> {
    const signal = this.stopController.signal;
    for (let failures = 0; !this.stopped; failures++) {
      try {
        const live = new Set<string>();
        for await (const batch of watchMemberBatches(this.client, this.service, { signal })) {
          for (const ev of batch) {
            if (ev.type === 'leave') live.delete(ev.instance);
            else live.add(ev.instance);
          }
          this.live = new Set(live);
          failures = 0;
          this.reconcile();
        }
      } catch (error) {
        if (this.stopped) return;
        this.options.onError?.(error);
      }
      await sleep(backoffDelayMs(failures, 100, 2_000), signal);
    }
  }

  private wants(partition: string): boolean {
    return !this.stopped && this.live.has(this.instance) && rendezvousOwner(partition, this.live) === this.instance;
  }

  /** reconcile moves every partition toward what the hashing says (acquire or release). */
  private reconcile(): void {
    for (const [p, s] of this.states) {
      const wanted = this.wants(p);
      switch (s.type) {
        case 'idle':
          if (wanted) {
            const attempt = this.acquire(p).finally(() => this.attempts.delete(attempt));
            this.attempts.add(attempt);
          }
          break;
        case 'acquiring':
          if (!wanted) s.controller.abort();
          break;
        case 'owned':
          if (!wanted) void this.release(p, s.lock);
          break;
        case 'releasing':
          break; // reconciled again when done
        default:
          unreachable(s);
      }
    }
  }

  private async acquire(partition: string): Promise<void> {
    const controller = new AbortController();
    this.states.set(partition, { type: 'acquiring', controller });
    let lock: LockHandle;
    // A rebalance aborts the wait; the lock call then ends promptly and has deleted its contender
    // key (revoked its lease) by the time it rejects, so the partition is idle only once nothing
    // of this attempt is left queued in front of the partition's next owner.
    try {
      lock = await this.client.lock(lockName(this.service, partition), { ttl: this.ttl, signal: controller.signal, recheckMs: this.recheckMs });
    } catch (error) {
      this.states.set(partition, { type: 'idle' });
      if (!controller.signal.aborted && !this.stopped) {
        this.options.onError?.(error);
        await sleep(backoffDelayMs(1, 100, 1_000), this.stopController.signal);
      }
      this.reconcile();
      return;
    }
    if (controller.signal.aborted || !this.wants(partition) || lock.lost.aborted) {
      this.states.set(partition, { type: 'releasing' });
      await lock.release().catch(() => {});
      this.states.set(partition, { type: 'idle' });
      this.reconcile();
      return;
    }
    this.states.set(partition, { type: 'owned', lock });
    this.tokens.set(partition, lock.token);
    lock.lost.addEventListener('abort', () => {
      const s = this.states.get(partition);
      if (s?.type === 'owned' && s.lock === lock) void this.release(partition, lock);
    }, { once: true });
    this.emit('acquired', partition, lock.token);
  }

  /** release reports the partition released first (stop acting on it), then deletes the lock. */
  private async release(partition: string, lock: LockHandle): Promise<void> {
    this.states.set(partition, { type: 'releasing' });
    this.tokens.delete(partition);
    this.emit('released', partition);
    await lock.release().catch(() => {}); // a lost lock's key is already gone (or going)
    this.states.set(partition, { type: 'idle' });
    this.reconcile();
  }
}

function lockName(service: string, partition: string): string {
  return `alloc/${service}/${partition}`;
}

function unreachable(x: never): never {
  throw new Error(`unreachable: ${JSON.stringify(x)}`);
}

/** allocateWork is `client.allocate`: registers `instance` and starts its allocator. */
export async function allocateWork(
  client: Concord, service: string, instance: string, partitions: readonly string[], options: AllocateOptions = {},
): Promise<Allocator> {
  servicePrefix(service); // checks the name
  if (partitions.length > ALLOCATION_PARTITIONS_MAX) {
    throw new ConcordClientError(ClientErrorCode.InvalidArgument, `at most ${ALLOCATION_PARTITIONS_MAX} partitions, got ${partitions.length}`);
  }
  if (new Set(partitions).size !== partitions.length) throw new ConcordClientError(ClientErrorCode.InvalidArgument, 'partition names must be unique');
  // A '/' would put one partition's lock keys under another's prefix (`alloc/<service>/<partition>/`).
  const bad = partitions.find((p) => p.length === 0 || p.includes('/'));
  if (bad !== undefined) throw new ConcordClientError(ClientErrorCode.InvalidArgument, `partition names must be non-empty and contain no '/', got ${JSON.stringify(bad)}`);
  const registration = await registerInstance(client, service, instance, options.metadata ?? {}, options.ttl === undefined ? {} : { ttl: options.ttl });
  return new Allocator(client, service, instance, [...partitions], registration, options);
}
