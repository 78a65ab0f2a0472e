import type { LogIndex, NodeId } from './types.js';
import type { ReadOnlyOption } from './config.js';

/** READ_INDEX_PENDING_MAX bounds the ReadIndex requests a leader holds; more are dropped. */
export const READ_INDEX_PENDING_MAX = 65_536;

/** ReadIndexRequest is who asked for a read index (NONE or self: a local request). */
export interface ReadIndexRequest {
  readonly from: NodeId;
  readonly context: string;
}

/** ReadIndexStatus is a pending request, the commit index it will be served at, and its acks. */
export interface ReadIndexStatus {
  readonly request: ReadIndexRequest;
  readonly index: LogIndex;
  readonly acks: Map<NodeId, boolean>;
}

/**
 * ReadOnly queues ReadIndex requests (thesis §6.4) until a quorum confirms the leader is still
 * the leader. Each heartbeat round carries the newest pending context; an ack for it confirms
 * every request queued before it, so one round serves every read batched behind it.
 */
export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  constructor(readonly option: ReadOnlyOption) {}

  get size(): number {
    return this.queue.length;
  }

  /** addRequest queues a request to be served at `index`; false if full or a duplicate context. */
  addRequest(index: LogIndex, request: ReadIndexRequest): boolean {
    if (this.pending.has(request.context) || this.queue.length >= READ_INDEX_PENDING_MAX) return false;
    this.pending.set(request.context, { request, index, acks: new Map() });
    this.queue.push(request.context);
    return true;
  }

  /** recvAck records that `id` acknowledged the heartbeat carrying `context`; returns its acks. */
  recvAck(id: NodeId, context: string): ReadonlyMap<NodeId, boolean> | undefined {
    const status = this.pending.get(context);
    if (!status) return undefined;
    status.acks.set(id, true);
    return status.acks;
  }

  /** advance releases the request with `context` and every request queued before it. */
  advance(context: string): ReadIndexStatus[] {
    const at = this.queue.indexOf(context);
    if (at < 0) return [];
    const released = this.queue.slice(0, at + 1);
    this.queue = this.queue.slice(at + 1);
    const out: ReadIndexStatus[] = [];
    for (const ctx of released) {
      const status = this.pending.get(ctx);
      if (status) out.push(status);
      this.pending.delete(ctx);
    }
    return out;
  }

  /** lastPendingContext is the newest queued context ('' if none). */
  lastPendingContext(): string {
    return this.queue.length > 0 ? this.queue[this.queue.length - 1]! : '';
  }
}
