import { ConcordError, ErrorCode } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { encodeKvCommand, type KvApplyResult, type KvCommand, type LeaseId, type MvccStore } from '../kv/index.js';

/** LessorLimits: timing of lease expiry and checkpoints. */
export interface LessorOptions {
  /** checkpointIntervalMs: how often the leader records remaining TTLs in the log. */
  readonly checkpointIntervalMs: number;
  /** promoteGraceMs: a new leader extends every lease to at least now + this (clients need time to find it). */
  readonly promoteGraceMs: number;
  /** revokeRetryMs: an expired lease whose revoke did not apply is proposed again after this, then after twice as long, and so on. */
  readonly revokeRetryMs: number;
  /** revokeRetryMaxMs caps the revoke retry interval. */
  readonly revokeRetryMaxMs: number;
  /** checkpointsPerCommandMax bounds one checkpoint command (periodic, or keep-alives coalesced). */
  readonly checkpointsPerCommandMax: number;
  /** renewalWaitersMax bounds the keep-alives waiting for a renewal on this member (more: TooManyRequests). */
  readonly renewalWaitersMax: number;
}

export const LESSOR_DEFAULTS: LessorOptions = {
  checkpointIntervalMs: 5_000,
  promoteGraceMs: 1_000,
  revokeRetryMs: 1_000,
  revokeRetryMaxMs: 2_000,
  checkpointsPerCommandMax: 1_000,
  renewalWaitersMax: 65_536,
};

/** LeaseTail is what a leader's unapplied log tail holds for leases. */
export interface LeaseTail {
  /** renewed: leases with a renewal (a checkpoint carrying at least the granted TTL). */
  readonly renewed: ReadonlySet<LeaseId>;
  /** revoked: leases with a revoke. */
  readonly revoked: ReadonlySet<LeaseId>;
}

/** leaseTail reads `commands` (e.g. a leader's unapplied log tail, decoded). */
export function leaseTail(commands: Iterable<KvCommand>, store: MvccStore): LeaseTail {
  const renewed = new Set<LeaseId>();
  const revoked = new Set<LeaseId>();
  for (const command of commands) {
    if (command.type === 'leaseRevoke') revoked.add(command.request.id);
    if (command.type !== 'leaseCheckpoint') continue;
    for (const c of command.request.checkpoints) {
      const granted = store.leaseInfo(c.id)?.grantedTtl;
      if (granted !== undefined && c.remainingTtl >= granted) renewed.add(c.id);
    }
  }
  return { renewed, revoked };
}

/** RenewalWaiter is one keep-alive waiting for its lease's renewal to be applied. */
interface RenewalWaiter {
  readonly resolve: (ttl: number) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Renewal is one lease's keep-alive checkpoint (the full granted TTL), queued for the next
 * coalesced command or proposed and not yet applied, with every keep-alive it will answer.
 */
interface Renewal {
  readonly id: LeaseId;
  /** ttl is the granted TTL the checkpoint carries (seconds). */
  ttl: number;
  readonly waiters: RenewalWaiter[];
}

/**
 * Lessor keeps each lease's expiry on this member's clock (DESIGN §5): every member computes
 * expiry = apply time + TTL from the grants, renewals (keep-alives travel through the log as
 * checkpoints with the full TTL) and checkpoints it applies; only the leader acts on it, proposing
 * a revoke when a lease expires and, periodically, a checkpoint of every remaining TTL so a new
 * leader starts from them instead of resetting every lease (docs/leases.md).
 */
export class Lessor {
  private readonly expiryMs = new Map<LeaseId, number>();
  /** revokingAtMs: expired leases whose revoke was proposed, with when to propose it again. */
  private readonly revokingAtMs = new Map<LeaseId, { retryAtMs: number; attempts: number }>();
  private primary = false;
  private lastCheckpointMs = 0;
  private readonly options: LessorOptions;
  /** queuedRenewals are keep-alives of this event-loop turn, proposed together by flushRenewals. */
  private readonly queuedRenewals = new Map<LeaseId, Renewal>();
  /**
   * proposedRenewals are keep-alive checkpoints proposed and not yet applied here; a keep-alive of
   * the same lease joins one instead of proposing again.
   * Invariant: no checkpoint or revoke of the lease has been applied since the renewal was proposed
   * (onApplied removes it), so its apply time is after every joined keep-alive arrived.
   */
  private readonly proposedRenewals = new Map<LeaseId, Renewal>();
  /** renewalWaiters counts the waiters of every queued or unsettled renewal (<= renewalWaitersMax). */
  private renewalWaiters = 0;
  private renewalFlushScheduled = false;

  constructor(
    private readonly store: () => MvccStore,
    private readonly now: () => number,
    private readonly propose: (command: Uint8Array) => Promise<KvApplyResult>,
    private readonly logger: Logger,
    options: Partial<LessorOptions> = {},
    /**
     * confirmLeadership resolves once a quorum has confirmed this member's leadership after the
     * call (a ReadIndex round: heartbeats, no log entry). With it, the leader renews leases in
     * memory (see keepAlive) and a new leader extends every lease by its full TTL; without it,
     * every renewal goes through the log.
     */
    private readonly confirmLeadership?: () => Promise<void>,
    /**
     * logTail reads the leader's log after its applied index. An expired lease is revoked only
     * when no renewal of it is there: a renewal proposed before the expiry and applied after it
     * would otherwise be answered "renewed" with a revoke already queued behind it (anything
     * proposed later is ordered after the revoke, so it finds the lease gone). And a revoke is not
     * proposed again while one is still there, on its way through a slow pipeline.
     */
    private readonly logTail?: () => LeaseTail,
  ) {
    this.options = { ...LESSOR_DEFAULTS, ...options };
  }

  /** onApplied tracks lease changes from applied commands (called for every command, in order). */
  readonly onApplied = (command: KvCommand, result: KvApplyResult): void => {
    if (!result.ok) return;
    const now = this.now();
    switch (command.type) {
      case 'leaseGrant':
        if (result.result.type === 'leaseGrant') {
          this.expiryMs.set(result.result.response.id, now + result.result.response.ttl * 1000);
        }
        return;
      case 'leaseRevoke':
        this.expiryMs.delete(command.request.id);
        this.revokingAtMs.delete(command.request.id);
        this.proposedRenewals.delete(command.request.id);
        return;
      case 'leaseCheckpoint':
        // A checkpoint (or a keep-alive, which is a checkpoint with the full TTL) never shortens a
        // lease: a periodic checkpoint computed before a keep-alive may be applied after it.
        for (const c of command.request.checkpoints) {
          // Whatever renewal of this lease is in flight can no longer be joined: its entry may be this one.
          this.proposedRenewals.delete(c.id);
          const info = this.store().leaseInfo(c.id);
          if (c.remainingTtl <= 0 || !info) continue;
          // The leader's own expiries are the authority; a periodic checkpoint (less than the
          // granted TTL) exists for the followers. Applied on the leader it would push the expiry
          // out by its commit latency and rounding each time, so a lease under a slow log might
          // never expire. A keep-alive (the full TTL) renews everywhere.
          if (this.primary && c.remainingTtl < info.grantedTtl) continue;
          const next = now + c.remainingTtl * 1000;
          if (next > (this.expiryMs.get(c.id) ?? 0)) this.expiryMs.set(c.id, next);
        }
        return;
      default:
        return;
    }
  };

  /** onRestore rebuilds expiries after a snapshot replaced the store. */
  readonly onRestore = (): void => {
    this.expiryMs.clear();
    this.revokingAtMs.clear();
    this.proposedRenewals.clear();
    const now = this.now();
    for (const id of this.store().leaseIds()) {
      const info = this.store().leaseInfo(id)!;
      const ttl = info.remainingTtl > 0 ? info.remainingTtl : info.grantedTtl;
      this.expiryMs.set(id, now + ttl * 1000);
    }
  };

  /** setPrimary is called on every leadership change of this member. */
  setPrimary(primary: boolean): void {
    if (primary === this.primary) return;
    this.primary = primary;
    this.revokingAtMs.clear();
    if (!primary) return;
    // A new leader never expires a lease earlier than the old one would have, and gives every
    // client a grace period to find it. When leaders renew in memory, the old leader may have
    // renewed a lease just before this one was elected, without a log entry: every lease then
    // gets its full TTL from now (as etcd 3.4 does on promotion), which is later than any renewal
    // the old leader confirmed, since its quorum acknowledged it before voting for this one.
    const now = this.now();
    for (const id of this.store().leaseIds()) {
      const grantedMs = (this.store().leaseInfo(id)?.grantedTtl ?? 0) * 1000;
      const floor = now + (this.confirmLeadership ? Math.max(this.options.promoteGraceMs, grantedMs) : this.options.promoteGraceMs);
      const current = this.expiryMs.get(id);
      if (current === undefined || current < floor) this.expiryMs.set(id, floor);
    }
    this.lastCheckpointMs = this.now();
    this.logger.info('lessor promoted', { leases: this.expiryMs.size });
  }

  /** remainingTtlSeconds is this member's view of a lease's remaining TTL (-1: not found). */
  remainingTtlSeconds(id: LeaseId): number {
    const expiry = this.expiryMs.get(id);
    if (expiry === undefined || !this.store().leaseInfo(id)) return -1;
    return Math.max(0, Math.ceil((expiry - this.now()) / 1000));
  }

  /**
   * keepAlive renews a lease and resolves with its TTL, or 0 when the lease does not exist (etcd
   * answers TTL 0 for an expired lease). On the leader, when confirmLeadership was given, the
   * renewal is in memory (renewOnLeader). Otherwise it goes through the log (a checkpoint with
   * the full TTL) and is answered once applied here. Keep-alives of one event-loop turn go out as one command with one
   * checkpoint per lease (at most checkpointsPerCommandMax a command); a keep-alive of a lease
   * whose renewal is proposed and not yet applied waits for that one. Either way the answer comes
   * after an apply that followed the request, so every member's expiry is then at least that apply
   * time + TTL. Rejects with the proposal's error (every waiter of a failed proposal gets it), or
   * TooManyRequests beyond renewalWaitersMax.
   */
  keepAlive(id: LeaseId): Promise<number> {
    const info = this.store().leaseInfo(id);
    if (!info) return Promise.resolve(0);
    if (this.primary && this.confirmLeadership) return this.renewOnLeader(id, this.confirmLeadership);
    return this.renewThroughLog(id, info.grantedTtl);
  }

  /**
   * renewOnLeader renews a lease in the leader's memory, as etcd does, without a log entry: the
   * expiry becomes now + TTL once a quorum has confirmed this member still leads (one heartbeat
   * round, shared by every keep-alive and read of the turn). A lease already past its expiry is
   * not brought back (TTL 0, as etcd). Any later leader extends every lease by its full TTL when
   * promoted, so the renewal holds across a leader change; followers learn the new remaining TTLs
   * from the periodic checkpoints. If leadership moved meanwhile, the renewal goes through the log.
   */
  private async renewOnLeader(id: LeaseId, confirm: () => Promise<void>): Promise<number> {
    const arrived = this.now();
    const expiry = this.expiryMs.get(id);
    if (expiry === undefined || expiry <= arrived || this.revokingAtMs.has(id)) return 0;
    await confirm();
    const info = this.store().leaseInfo(id);
    if (!this.primary) return info ? await this.renewThroughLog(id, info.grantedTtl) : 0;
    const current = this.expiryMs.get(id);
    if (!info || current === undefined || this.revokingAtMs.has(id)) return 0;
    this.expiryMs.set(id, Math.max(current, this.now() + info.grantedTtl * 1000));
    return info.grantedTtl;
  }

  /** renewThroughLog is keepAlive's log path (see keepAlive): a coalesced full-TTL checkpoint. */
  private renewThroughLog(id: LeaseId, grantedTtl: number): Promise<number> {
    if (this.renewalWaiters >= this.options.renewalWaitersMax) {
      return Promise.reject(new ConcordError(ErrorCode.TooManyRequests, `too many keep-alives waiting (${this.renewalWaiters})`));
    }
    let renewal = this.proposedRenewals.get(id);
    if (renewal === undefined || renewal.ttl !== grantedTtl) {
      renewal = this.queuedRenewals.get(id);
      if (renewal === undefined) {
        renewal = { id, ttl: grantedTtl, waiters: [] };
        this.queuedRenewals.set(id, renewal);
        this.scheduleRenewals();
      } else {
        // The lease was revoked and granted again under the same id this turn: renew the live one.
        renewal.ttl = grantedTtl;
      }
    }
    const joined = renewal;
    this.renewalWaiters++;
    return new Promise<number>((resolve, reject) => joined.waiters.push({ resolve, reject }));
  }

  private scheduleRenewals(): void {
    if (this.renewalFlushScheduled) return;
    this.renewalFlushScheduled = true;
    // After the I/O callbacks of this turn (every keep-alive that arrived with this one), before
    // the next poll: no timer, so a lone keep-alive waits for nothing.
    setImmediate(this.flushRenewals);
  }

  private readonly flushRenewals = (): void => {
    this.renewalFlushScheduled = false;
    const renewals = [...this.queuedRenewals.values()];
    this.queuedRenewals.clear();
    for (let at = 0; at < renewals.length; at += this.options.checkpointsPerCommandMax) {
      this.proposeRenewals(renewals.slice(at, at + this.options.checkpointsPerCommandMax));
    }
  };

  private proposeRenewals(renewals: readonly Renewal[]): void {
    for (const renewal of renewals) this.proposedRenewals.set(renewal.id, renewal);
    const settle = (answer: (renewal: Renewal, waiter: RenewalWaiter) => void): void => {
      for (const renewal of renewals) {
        if (this.proposedRenewals.get(renewal.id) === renewal) this.proposedRenewals.delete(renewal.id);
        this.renewalWaiters -= renewal.waiters.length;
        for (const waiter of renewal.waiters) answer(renewal, waiter);
      }
    };
    let applied: Promise<KvApplyResult>;
    try {
      applied = this.propose(encodeKvCommand({
        type: 'leaseCheckpoint',
        request: { checkpoints: renewals.map((r) => ({ id: r.id, remainingTtl: r.ttl })) },
      }));
    } catch (error) {
      applied = Promise.reject(error);
    }
    applied.then(
      (result) => settle((renewal, waiter) => waiter.resolve(result.ok && this.store().leaseInfo(renewal.id) ? renewal.ttl : 0)),
      (error: unknown) => settle((_renewal, waiter) => waiter.reject(error)),
    );
  }

  /** tick runs on every member tick; only the leader proposes revokes and checkpoints. */
  tick(): void {
    if (!this.primary) return;
    const now = this.now();
    let tail: LeaseTail | undefined;
    for (const [id, expiry] of this.expiryMs) {
      if (expiry > now) continue;
      if (this.logTail) {
        tail ??= this.logTail();
        if (!this.revokingAtMs.has(id) && tail.renewed.has(id)) continue;
        if (tail.revoked.has(id)) continue;
      }
      // Retries back off (revokeRetryMs, doubling, at most revokeRetryMaxMs): a revoke still in a
      // slow pipeline is not proposed again and again, which would only flood the log.
      const revoking = this.revokingAtMs.get(id);
      if (revoking !== undefined && now < revoking.retryAtMs) continue;
      const attempts = (revoking?.attempts ?? 0) + 1;
      const backoffMs = Math.min(this.options.revokeRetryMs * 2 ** (attempts - 1), this.options.revokeRetryMaxMs);
      this.revokingAtMs.set(id, { retryAtMs: now + backoffMs, attempts });
      this.logger.info('lease expired; revoking', { lease: id.toString(16), attempt: attempts });
      this.propose(encodeKvCommand({ type: 'leaseRevoke', request: { id } })).catch((error: unknown) => {
        this.logger.warn('lease revoke failed; will retry', { lease: id.toString(16), error: String(error) });
      });
    }
    if (now - this.lastCheckpointMs >= this.options.checkpointIntervalMs) {
      this.lastCheckpointMs = now;
      // Every live lease, in commands of at most checkpointsPerCommandMax checkpoints.
      let checkpoints: { id: LeaseId; remainingTtl: number }[] = [];
      const flush = (): void => {
        if (checkpoints.length === 0) return;
        this.propose(encodeKvCommand({ type: 'leaseCheckpoint', request: { checkpoints } })).catch(() => {});
        checkpoints = [];
      };
      // A lease with a renewal in the unapplied log is left out: the renewal will set its remaining
      // TTL to the full TTL when applied, and this checkpoint, computed before that and ordered
      // after it, would overwrite it with less. A member restoring a snapshot taken between the two
      // would then expire the lease early (only the store's remaining TTL survives a restore).
      if (this.logTail) tail ??= this.logTail();
      for (const [id, expiry] of this.expiryMs) {
        if (expiry <= now || this.revokingAtMs.has(id) || tail?.renewed.has(id)) continue;
        checkpoints.push({ id, remainingTtl: Math.max(1, Math.ceil((expiry - now) / 1000)) });
        if (checkpoints.length >= this.options.checkpointsPerCommandMax) flush();
      }
      flush();
    }
  }
}
