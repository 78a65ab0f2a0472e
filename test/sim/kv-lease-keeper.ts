/**
 * LeaseKeeper keeps simulated clients' leases alive as the client library does: a keep-alive
 * every TTL/3 through `KvClients.keepAlive` (a `leaseCheckpoint` with the full TTL through the
 * log, as the server's lessor renews), and a lease counts as lost when a keep-alive answers TTL 0
 * or when no keep-alive was acknowledged within the TTL of the last acknowledged one's call (the
 * lease is only guaranteed until then).
 *
 * It also checks the lessor's promise that a lease never expires early for a client that keeps
 * it alive (docs/leases.md): when a renewal, once applied, finds its lease gone, the revoke was
 * ordered before it in the log; if that happens before the last acknowledged renewal's call time
 * plus the TTL, a leader revoked the lease before it could have expired (every member's expiry
 * is at least apply time + TTL, and all members read the same simulated clock). Such an early
 * loss is recorded in `earlyLosses` and fails the run.
 */
import type { LeaseId } from '../../src/kv/index.js';
import type { KvClients } from './kv-clients.js';

/** TTL_UNIT_MS: lease TTLs are seconds. */
const TTL_UNIT_MS = 1000;

/** KEEP_ALIVES_IN_FLIGHT_MAX bounds one lease's unanswered keep-alives. */
const KEEP_ALIVES_IN_FLIGHT_MAX = 4;

/** ClientLease is one lease a client holds and what its client knows of it. */
export interface ClientLease {
  readonly id: LeaseId;
  /** ttl in seconds, as granted. */
  readonly ttl: number;
  /** lastAckAt: when the last acknowledged grant or keep-alive was answered (ms). */
  lastAckAt: number;
  /** lastAckCallAt: when that request was sent; the lease lives at least until lastAckCallAt + ttl. */
  lastAckCallAt: number;
  lastSentAt: number;
  /**
   * lastResolvedAt: when the last keep-alive was answered or given up on. A keep-alive given up
   * on may still be applied later; what bounds that is the expiry grace (replication delay).
   */
  lastResolvedAt: number;
  /** inFlight counts keep-alives without an answer yet (the client sends one every TTL/3 regardless, as a stream). */
  inFlight: number;
  /** lost: why the client gave the lease up, if it did. */
  lost: 'no' | 'not-found' | 'deadline';
  /** revokedByClient: the client revoked it itself (a later TTL 0 is expected). */
  revokedByClient: boolean;
}

/** newClientLease describes a lease whose grant, sent at `callAt`, was just acknowledged. */
export function newClientLease(id: LeaseId, ttl: number, callAt: number, now: number): ClientLease {
  return { id, ttl, lastAckAt: now, lastAckCallAt: callAt, lastSentAt: callAt, lastResolvedAt: now, inFlight: 0, lost: 'no', revokedByClient: false };
}

/** LeaseKeeper sends the keep-alives of the leases it keeps (see the file comment). */
export class LeaseKeeper {
  private readonly kept = new Set<ClientLease>();
  /** earlyLosses describes every lease revoked before its last acknowledged renewal could have expired. */
  readonly earlyLosses: string[] = [];
  /** counts for the run's summary. */
  readonly stats = { keepAlives: 0, lostNotFound: 0, lostDeadline: 0 };

  constructor(private readonly kv: KvClients) {}

  /** keep starts (or resumes) keeping `lease` alive. */
  keep(lease: ClientLease): void {
    if (lease.lost === 'no') this.kept.add(lease);
  }

  /** stop stops keeping `lease` alive (an answer in flight still updates it). */
  stop(lease: ClientLease): void {
    this.kept.delete(lease);
  }

  /** stopAll stops every keep-alive. */
  stopAll(): void {
    this.kept.clear();
  }

  /** onTick gives up on leases past their deadline and sends the keep-alives that are due. */
  onTick(): void {
    const now = this.kv.nowMs();
    for (const lease of [...this.kept]) {
      if (now > lease.lastAckCallAt + lease.ttl * TTL_UNIT_MS) {
        this.lose(lease, 'deadline');
        continue;
      }
      if (lease.inFlight >= KEEP_ALIVES_IN_FLIGHT_MAX || now - lease.lastSentAt < (lease.ttl * TTL_UNIT_MS) / 3) continue;
      const callAt = now;
      const sent = this.kv.keepAlive(lease.id, (ttl, applied) => {
        lease.inFlight--;
        const at = this.kv.nowMs();
        lease.lastResolvedAt = at;
        if (ttl === null) return;
        if (ttl > 0) {
          if (callAt >= lease.lastAckCallAt) {
            lease.lastAckAt = at;
            lease.lastAckCallAt = callAt;
          }
          return;
        }
        if (applied && !lease.revokedByClient && at < lease.lastAckCallAt + lease.ttl * TTL_UNIT_MS) {
          this.earlyLosses.push(`lease ${lease.id.toString(16)} (ttl ${lease.ttl} s) was gone at ${at} ms, ` +
            `before ${lease.lastAckCallAt + lease.ttl * TTL_UNIT_MS} ms (its renewal sent at ${lease.lastAckCallAt} ms was acknowledged)`);
        }
        if (this.kept.has(lease)) this.lose(lease, 'not-found');
      });
      if (!sent) continue;
      this.stats.keepAlives++;
      lease.inFlight++;
      lease.lastSentAt = callAt;
    }
  }

  private lose(lease: ClientLease, why: 'not-found' | 'deadline'): void {
    lease.lost = why;
    this.kept.delete(lease);
    if (why === 'not-found') this.stats.lostNotFound++;
    else this.stats.lostDeadline++;
  }
}

/**
 * stoppedAt is when an abandoned lease's keep-alives stopped as far as its client can tell: the
 * last acknowledged grant or keep-alive, or later, the last answer to (or giving up on) a
 * keep-alive still in flight when the client stopped, which may have renewed it meanwhile.
 */
export function stoppedAt(lease: ClientLease): number {
  return Math.max(lease.lastAckAt, lease.lastResolvedAt);
}
