import type { NodeId, SnapshotStatus } from '../raft/types.js';
import type { GroupId, TransportHandler } from './transport.js';

interface PendingSnapshotStatus {
  readonly peer: NodeId;
  readonly groupId: GroupId;
  readonly snapshotIndex: number;
  readonly status: SnapshotStatus;
}

/**
 * ReportQueue delivers a transport's unreachable and snapshot-status reports to the host on a
 * later event-loop turn (never inside `send()`). Unreachable reports are deduplicated per
 * (peer, group) within a turn; snapshot statuses are delivered each once, in order. After
 * `close()` nothing more is delivered.
 */
export class ReportQueue {
  private readonly unreachable = new Map<string, { peer: NodeId; groupId: GroupId | undefined }>();
  private readonly snapshots: PendingSnapshotStatus[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private closed = false;

  constructor(private readonly handler: TransportHandler) {}

  reportUnreachable(peer: NodeId, groupId: GroupId | undefined): void {
    if (this.closed) return;
    const key = `${peer}/${groupId ?? '*'}`;
    if (!this.unreachable.has(key)) this.unreachable.set(key, { peer, groupId });
    this.schedule();
  }

  reportSnapshot(peer: NodeId, groupId: GroupId, snapshotIndex: number, status: SnapshotStatus): void {
    if (this.closed) return;
    this.snapshots.push({ peer, groupId, snapshotIndex, status });
    this.schedule();
  }

  /** close drops pending reports; later reports are ignored. */
  close(): void {
    this.closed = true;
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.unreachable.clear();
    this.snapshots.length = 0;
  }

  private schedule(): void {
    if (this.scheduled === undefined) this.scheduled = setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = undefined;
    const unreachable = [...this.unreachable.values()];
    this.unreachable.clear();
    const snapshots = this.snapshots.splice(0);
    for (const u of unreachable) {
      if (this.closed) return;
      this.handler.onUnreachable(u.peer, u.groupId);
    }
    for (const s of snapshots) {
      if (this.closed) return;
      this.handler.onSnapshotStatus(s.peer, s.groupId, s.snapshotIndex, s.status);
    }
  }
}
