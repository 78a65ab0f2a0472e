import type { Logger } from '../lib/logger.js';
import type { Message, NodeId, SnapshotStatus } from '../raft/index.js';
import type { GroupHost } from './group-host.js';

/**
 * NodeHost runs every Raft group of one process: it owns the ticker (one tick for all groups,
 * also measuring event-loop lag for the stall watchdog) and routes peer messages and transport
 * reports to the group they name. Groups share the peer connections; each has its own WAL.
 */
export class NodeHost {
  private readonly groups = new Map<number, GroupHost<unknown>>();
  private ticker: NodeJS.Timeout | undefined = undefined;
  private lastTickMs = 0;
  /** maxLoopLagMs is the worst event-loop lag seen (for status). */
  maxLoopLagMs = 0;

  constructor(
    private readonly tickMs: number,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  /** addGroup starts hosting `group`. */
  addGroup(group: GroupHost<unknown>): void {
    this.groups.set(group.groupId, group);
  }

  group(groupId: number): GroupHost<unknown> | undefined {
    return this.groups.get(groupId);
  }

  /** deliver routes a message received from a peer; messages for unknown groups are dropped. */
  deliver(from: NodeId, groupId: number, message: Message): void {
    const group = this.groups.get(groupId);
    if (!group) {
      this.logger.debug('dropped message for unknown group', { from, group: groupId, type: message.type });
      return;
    }
    group.step(message);
  }

  reportUnreachable(peer: NodeId, groupId?: number): void {
    if (groupId !== undefined) this.groups.get(groupId)?.reportUnreachable(peer);
    else for (const g of this.groups.values()) g.reportUnreachable(peer);
  }

  reportSnapshot(peer: NodeId, groupId: number, status: SnapshotStatus): void {
    this.groups.get(groupId)?.reportSnapshot(peer, status);
  }

  /** start begins ticking every group every tickMs. */
  start(): void {
    this.lastTickMs = this.now();
    this.ticker = setInterval(() => {
      const now = this.now();
      const lagMs = Math.max(0, now - this.lastTickMs - this.tickMs);
      this.lastTickMs = now;
      if (lagMs > this.maxLoopLagMs) this.maxLoopLagMs = lagMs;
      if (lagMs > this.tickMs * 5) this.logger.warn('event loop lagged', { lagMs: Math.round(lagMs) });
      for (const g of this.groups.values()) g.tick(lagMs);
    }, this.tickMs);
  }

  /** stop stops ticking and stops every group (waiting requests fail with Stopped). */
  stop(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    for (const g of this.groups.values()) g.stop();
  }
}
