import type { Logger } from '../lib/logger.js';
import { encodeKvCommand, type KvApplyResult, type MvccStore } from '../kv/index.js';

/** COMPACTOR_LIMITS: how often the compactor looks (etcd: revision mode every 5 minutes). */
export const COMPACTOR_LIMITS = {
  revisionModeIntervalMs: 5 * 60 * 1000,
  /** periodic mode samples the revision this many times per retention window (etcd: 10). */
  samplesPerRetention: 10,
  samplesMax: 1_000,
} as const;

/**
 * Compactor is etcd's auto compaction (--auto-compaction-mode / --auto-compaction-retention),
 * run by the leader only and replicated as an ordinary Compact command:
 * - periodic: keeps `retentionMs` of history — every retention/10 it compacts to the revision the
 *   store had one retention ago (sampled on this member's clock);
 * - revision: every 5 minutes it compacts to `current - retention`.
 */
export class Compactor {
  private samples: { atMs: number; revision: number }[] = [];
  private lastRunMs = 0;
  private leader = false;
  private inFlight = false;

  constructor(
    private readonly mode: 'periodic' | 'revision',
    private readonly retention: number,
    private readonly store: () => MvccStore,
    private readonly propose: (command: Uint8Array) => Promise<KvApplyResult>,
    private readonly now: () => number,
    private readonly logger: Logger,
    private readonly intervalMs = mode === 'revision'
      ? COMPACTOR_LIMITS.revisionModeIntervalMs
      : Math.max(1_000, Math.floor(retention / COMPACTOR_LIMITS.samplesPerRetention)),
  ) {}

  get enabled(): boolean {
    return this.retention > 0;
  }

  setLeader(leader: boolean): void {
    this.leader = leader;
    this.samples = [];
    this.lastRunMs = this.now();
  }

  /** tick is called periodically on every member; only the leader acts. */
  tick(): void {
    if (!this.enabled || !this.leader || this.inFlight) return;
    const now = this.now();
    const store = this.store();
    if (this.mode === 'periodic') {
      const last = this.samples[this.samples.length - 1];
      if (!last || now - last.atMs >= this.intervalMs) {
        this.samples.push({ atMs: now, revision: store.currentRevision });
        if (this.samples.length > COMPACTOR_LIMITS.samplesMax) this.samples.shift();
      }
    }
    if (now - this.lastRunMs < this.intervalMs) return;
    this.lastRunMs = now;
    let target: number | undefined;
    if (this.mode === 'revision') {
      target = store.currentRevision - this.retention;
    } else {
      // The newest sample at least one retention old.
      for (const s of this.samples) if (now - s.atMs >= this.retention) target = s.revision;
      this.samples = this.samples.filter((s) => now - s.atMs < this.retention || s.revision === target);
    }
    if (target === undefined || target <= store.compactRevision || target < 1) return;
    this.inFlight = true;
    const revision = target;
    this.propose(encodeKvCommand({ type: 'compact', request: { revision } })).then(
      (result) => {
        if (result.ok) this.logger.info('auto compaction finished', { mode: this.mode, revision });
        else this.logger.warn('auto compaction refused', { revision, error: result.error.message });
      },
      (error: unknown) => this.logger.warn('auto compaction failed; will retry', { revision, error: String(error) }),
    ).finally(() => {
      this.inFlight = false;
    });
  }
}
