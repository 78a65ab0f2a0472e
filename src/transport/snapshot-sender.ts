import type { Socket } from 'node:net';
import type { Logger } from '../lib/logger.js';
import type { MsgSnap, NodeId, SnapshotStatus } from '../raft/types.js';
import { encodeSnapshotBegin, encodeSnapshotChunkHeader, encodeSnapshotEnd } from './frame-codec.js';
import type { TransportLimits } from './limits.js';
import type { ReportQueue } from './report-queue.js';
import type { TransportStats } from './stats.js';
import type { GroupId } from './transport.js';

/** SnapshotJob is one MsgSnap waiting for, or in, its stream. */
interface SnapshotJob {
  readonly groupId: GroupId;
  readonly message: MsgSnap;
  /** phase: queued (not begun), streaming (offset bytes sent), awaiting-ack (end sent). */
  phase: 'queued' | 'streaming' | 'awaiting-ack';
  offset: number;
}

/** SnapshotSenderContext is what a SnapshotSender shares with its transport. */
export interface SnapshotSenderContext {
  readonly limits: TransportLimits;
  readonly logger: Logger;
  readonly stats: TransportStats;
  readonly reports: ReportQueue;
}

/**
 * SnapshotSender streams one peer's MsgSnaps, one at a time, over that peer's outbound
 * connection: a SnapshotBegin frame, chunks of `snapshotChunkBytes` written as the socket drains
 * (so batches of small messages interleave with them), a SnapshotEnd frame, then it waits for the
 * receiver's SnapshotAck. Every job ends in exactly one status report: 'finished' on a positive
 * ack; 'failure' on a negative ack, an ack timeout, a lost connection, overflow or `failAll`.
 * Invariant: only `jobs[0]` is ever past 'queued'.
 */
export class SnapshotSender {
  private readonly jobs: SnapshotJob[] = [];
  private socket: Socket | undefined;
  private waitingForDrain = false;
  private ackTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly peer: NodeId,
    private readonly ctx: SnapshotSenderContext,
    /** onBroken is called when the stream state is unrecoverable; the owner closes the connection. */
    private readonly onBroken: (reason: string) => void,
    /** requestPump asks the owner to call `pump()` after its next batch (keeps send order). */
    private readonly requestPump: () => void,
  ) {}

  /** enqueue accepts a MsgSnap or reports failure at once when the queue is full or busy for its group. */
  enqueue(groupId: GroupId, message: MsgSnap): void {
    const index = message.snapshot.metadata.index;
    if (this.jobs.length >= this.ctx.limits.snapshotsQueuedMax || this.jobs.some((j) => j.groupId === groupId)) {
      this.ctx.logger.warn('snapshot dropped', {
        peer: this.peer, group: groupId, index,
        reason: this.jobs.length >= this.ctx.limits.snapshotsQueuedMax ? 'too many snapshots queued' : 'a snapshot of this group is already pending',
      });
      this.report(groupId, index, 'failure');
      return;
    }
    this.jobs.push({ groupId, message, phase: 'queued', offset: 0 });
  }

  /** attach binds an established connection; streaming starts at the next `pump()`. */
  attach(socket: Socket): void {
    this.socket = socket;
    this.waitingForDrain = false;
  }

  /** failAll reports every job as failed (connection lost, peer down or removed) and detaches. */
  failAll(reason: string): void {
    this.socket = undefined;
    this.clearAckTimer();
    for (const job of this.jobs.splice(0)) {
      this.ctx.logger.warn('snapshot failed', { peer: this.peer, group: job.groupId, index: job.message.snapshot.metadata.index, reason });
      this.report(job.groupId, job.message.snapshot.metadata.index, 'failure');
    }
  }

  /** pendingCount is the number of jobs not yet reported. */
  get pendingCount(): number {
    return this.jobs.length;
  }

  /**
   * onAck handles the receiver's SnapshotAck. Returns an error text when the ack matches no
   * stream (a protocol violation: the owner closes the connection).
   */
  onAck(groupId: GroupId, snapshotIndex: number, status: SnapshotStatus, reason: string): string | undefined {
    const job = this.jobs[0];
    if (job === undefined || job.phase === 'queued' || job.groupId !== groupId || job.message.snapshot.metadata.index !== snapshotIndex) {
      return `snapshot ack for group ${groupId} index ${snapshotIndex} matches no open stream`;
    }
    if (status === 'finished' && job.phase !== 'awaiting-ack') return `snapshot ack for group ${groupId} before the stream ended`;
    if (status === 'failure' && job.phase === 'streaming') this.write(encodeSnapshotEnd(groupId, true));
    this.clearAckTimer();
    this.jobs.shift();
    if (status === 'finished') {
      this.ctx.stats.snapshotsSent += 1;
      this.ctx.logger.info('snapshot sent', { peer: this.peer, group: groupId, index: snapshotIndex, bytes: job.message.snapshot.data.byteLength });
    } else {
      this.ctx.logger.warn('snapshot refused by peer', { peer: this.peer, group: groupId, index: snapshotIndex, reason });
    }
    this.report(groupId, snapshotIndex, status);
    if (this.jobs.length > 0) this.requestPump();
    return undefined;
  }

  /**
   * pump writes what the socket can take now: the owner calls it right after writing a batch, so
   * a snapshot never overtakes messages sent before it.
   */
  pump(): void {
    const socket = this.socket;
    if (socket === undefined || this.waitingForDrain) return;
    const job = this.jobs[0];
    if (job === undefined || job.phase === 'awaiting-ack') return;
    const data = job.message.snapshot.data;
    if (job.phase === 'queued') {
      job.phase = 'streaming';
      this.write(encodeSnapshotBegin(job.groupId, job.message));
    }
    while (job.offset < data.byteLength) {
      if (socket.writableNeedDrain) {
        this.waitingForDrain = true;
        socket.once('drain', () => {
          this.waitingForDrain = false;
          if (this.socket === socket) this.pump();
        });
        return;
      }
      const end = Math.min(job.offset + this.ctx.limits.snapshotChunkBytes, data.byteLength);
      socket.cork();
      this.write(encodeSnapshotChunkHeader(job.groupId, end - job.offset));
      this.write(data.subarray(job.offset, end), false); // corked with its header: one write
      socket.uncork();
      job.offset = end;
    }
    job.phase = 'awaiting-ack';
    this.write(encodeSnapshotEnd(job.groupId, false));
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      this.onBroken(`snapshot of group ${job.groupId} not acknowledged within ${this.ctx.limits.snapshotAckTimeoutMs} ms`);
    }, this.ctx.limits.snapshotAckTimeoutMs);
  }

  private write(bytes: Uint8Array, countsAsWrite = true): void {
    const socket = this.socket;
    if (socket === undefined || !socket.writable) return;
    socket.write(bytes);
    if (countsAsWrite) this.ctx.stats.socketWrites += 1;
    this.ctx.stats.bytesSent += bytes.byteLength;
  }

  private clearAckTimer(): void {
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
  }

  private report(groupId: GroupId, index: number, status: SnapshotStatus): void {
    if (status === 'failure') this.ctx.stats.snapshotsFailed += 1;
    this.ctx.reports.reportSnapshot(this.peer, groupId, index, status);
  }
}
