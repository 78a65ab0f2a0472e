import type { Logger } from '../lib/logger.js';
import { encodeKvCommand, type KvApplyResult, type KvCommand, type LeaseId, type MvccStore } from '../kv/index.js';

/** LessorLimits: timing of lease expiry and checkpoints. */
export interface LessorOptions {
  /** checkpointIntervalMs: how often the leader records remaining TTLs in the log. */
  readonly checkpointIntervalMs: number;
  /** promoteGraceMs: a new leader extends every lease to at least now + this (clients need time to find it). */
  readonly promoteGraceMs: number;
  /** revokeRetryMs: an expired lease whose revoke did not apply is proposed again after this. */
  readonly revokeRetryMs: number;
  /** checkpointsPerCommandMax bounds one checkpoint command. */
  readonly checkpointsPerCommandMax: number;
}

export const LESSOR_DEFAULTS: LessorOptions = {
  checkpointIntervalMs: 5_000,
  promoteGraceMs: 1_000,
  revokeRetryMs: 1_000,
  checkpointsPerCommandMax: 1_000,
};

/**
 * Lessor keeps each lease's expiry on this member's clock (DESIGN §5): every member computes
 * expiry = apply time + TTL from the grants, renewals (keep-alives travel through the log as
 * checkpoints with the full TTL) and checkpoints it applies; only the leader acts on it, proposing
 * a revoke when a lease expires and, periodically, a checkpoint of every remaining TTL so a new
 * leader starts from them instead of resetting every lease (docs/leases.md).
 */
export class Lessor {
  private readonly expiryMs = new Map<LeaseId, number>();
  private readonly revokingAtMs = new Map<LeaseId, number>();
  private primary = false;
  private lastCheckpointMs = 0;
  private readonly options: LessorOptions;

  constructor(
    private readonly store: () => MvccStore,
    private readonly now: () => number,
    private readonly propose: (command: Uint8Array) => Promise<KvApplyResult>,
    private readonly logger: Logger,
    options: Partial<LessorOptions> = {},
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
        return;
      case 'leaseCheckpoint':
        // A checkpoint (or a keep-alive, which is a checkpoint with the full TTL) never shortens a
        // lease: a periodic checkpoint computed before a keep-alive may be applied after it.
        for (const c of command.request.checkpoints) {
          if (c.remainingTtl <= 0 || !this.store().leaseInfo(c.id)) continue;
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
    // client a grace period to find it.
    const floor = this.now() + this.options.promoteGraceMs;
    for (const id of this.store().leaseIds()) {
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
   * keepAlive renews a lease through the log (a checkpoint with the full TTL) and resolves with
   * the TTL, or -1 / 0 when the lease does not exist (etcd answers TTL 0 for an expired lease).
   */
  async keepAlive(id: LeaseId): Promise<number> {
    const info = this.store().leaseInfo(id);
    if (!info) return 0;
    const result = await this.propose(encodeKvCommand({
      type: 'leaseCheckpoint', request: { checkpoints: [{ id, remainingTtl: info.grantedTtl }] },
    }));
    if (!result.ok || !this.store().leaseInfo(id)) return 0;
    return info.grantedTtl;
  }

  /** tick runs on every member tick; only the leader proposes revokes and checkpoints. */
  tick(): void {
    if (!this.primary) return;
    const now = this.now();
    for (const [id, expiry] of this.expiryMs) {
      if (expiry > now) continue;
      const revoking = this.revokingAtMs.get(id);
      if (revoking !== undefined && now - revoking < this.options.revokeRetryMs) continue;
      this.revokingAtMs.set(id, now);
      this.logger.info('lease expired; revoking', { lease: id.toString(16) });
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
      for (const [id, expiry] of this.expiryMs) {
        if (expiry <= now || this.revokingAtMs.has(id)) continue;
        checkpoints.push({ id, remainingTtl: Math.max(1, Math.ceil((expiry - now) / 1000)) });
        if (checkpoints.length >= this.options.checkpointsPerCommandMax) flush();
      }
      flush();
    }
  }
}
