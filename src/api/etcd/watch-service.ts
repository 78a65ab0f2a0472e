import type { WatchResponse as HubResponse, WatcherId } from '../../kv/index.js';
import type { etcdserverpb } from '../codec/index.js';
import type { MethodRegistry } from '../grpc/method-registry.js';
import type { ResponseStream } from '../grpc/method.js';
import type { EtcdBackend } from './backend.js';
import { eventOut, headerOut, toSafe } from './convert.js';
import { defOf } from './method-defs.js';

/** WATCH_LIMITS bound one watch stream (DESIGN §11). */
export const WATCH_LIMITS = {
  /** watchesPerStreamMax: more creates on one stream are canceled with a reason. */
  watchesPerStreamMax: 10_000,
  /** progressIntervalMs: how often watches with progress_notify get a progress response when idle (etcd: 10 min). */
  progressIntervalMs: 10 * 60 * 1000,
} as const;

/** INVALID_WATCH_ID is etcd's id for responses not tied to a watch (progress, refused create). */
const INVALID_WATCH_ID = -1n;

/**
 * registerWatch serves etcdserverpb.Watch/Watch: one bidirectional stream carrying many watches.
 * Events come from the member's watch hub in revision order; a watch starting in the past is
 * replayed from history, a compacted start is canceled with `compact_revision`, and a slow stream
 * is caught up from history instead of losing events (the hub's unsynced state).
 */
export function registerWatch(registry: MethodRegistry, backend: EtcdBackend, options: { progressIntervalMs?: number } = {}): void {
  registry.bidi(defOf('/etcdserverpb.Watch/Watch'), async (requests, call) => {
    const stream = new WatchStream(backend, call);
    const unsubscribe = backend.onEvents(() => stream.wake());
    const timer = setInterval(() => stream.progressTick(), options.progressIntervalMs ?? WATCH_LIMITS.progressIntervalMs);
    try {
      for await (const request of requests) stream.handle(request);
      // The client half-closed: its watches stay alive until it cancels the call.
      if (!call.signal.aborted) await new Promise((resolve) => call.signal.addEventListener('abort', resolve, { once: true }));
    } catch (error) {
      if (!call.signal.aborted) throw error;
    } finally {
      clearInterval(timer);
      unsubscribe();
      stream.close();
    }
  });
}

interface StreamWatch {
  readonly streamId: bigint;
  readonly hubId: WatcherId;
  readonly progressNotify: boolean;
  /** sentSinceTick: a response went out since the last progress tick. */
  sentSinceTick: boolean;
}

/** WatchStream is one client stream: its watches, id allocation and an ordered send pump. */
class WatchStream {
  private readonly watches = new Map<bigint, StreamWatch>();
  private readonly byHubId = new Map<WatcherId, StreamWatch>();
  private nextId = 0n;
  /** outbox holds responses in order; the pump drains it with backpressure. */
  private outbox: etcdserverpb.WatchResponse[] = [];
  private pumping = false;
  private wakeAgain = false;
  private closed = false;

  constructor(private readonly backend: EtcdBackend, private readonly call: ResponseStream<etcdserverpb.WatchResponse>) {}

  handle(request: etcdserverpb.WatchRequest): void {
    const r = request.requestUnion;
    switch (r?.$case) {
      case 'createRequest':
        this.create(r.value);
        break;
      case 'cancelRequest':
        this.cancel(r.value.watchId);
        break;
      case 'progressRequest':
        this.queue({ watchId: INVALID_WATCH_ID, revision: this.backend.store.currentRevision });
        break;
      default:
        // etcd ignores requests it does not understand rather than closing the stream.
        return;
    }
    this.wake();
  }

  private create(c: etcdserverpb.WatchCreateRequest): void {
    const revision = this.backend.store.currentRevision;
    const refuse = (reason: string, watchId = INVALID_WATCH_ID): void => {
      this.queue({ watchId, revision, created: true, canceled: true, cancelReason: reason });
    };
    let streamId = c.watchId;
    if (streamId !== 0n) {
      if (this.watches.has(streamId)) return refuse('mvcc: duplicate watch ID provided on the WatchStream', streamId);
    } else {
      while (this.watches.has(this.nextId)) this.nextId++;
      streamId = this.nextId++;
    }
    if (this.watches.size >= WATCH_LIMITS.watchesPerStreamMax) return refuse('concord: too many watches on this stream');
    let startRevision: number;
    try {
      startRevision = toSafe(c.startRevision, 'start_revision');
    } catch {
      return refuse('etcdserver: start_revision out of range');
    }
    const created = this.backend.hub.create({
      key: c.key,
      ...(c.rangeEnd.byteLength > 0 ? { rangeEnd: c.rangeEnd } : {}),
      ...(startRevision > 0 ? { startRevision } : {}),
      noPut: c.filters.includes(0),
      noDelete: c.filters.includes(1),
      prevKv: c.prevKv,
      fragment: c.fragment,
    });
    if (!created) return refuse('concord: too many watchers on this member');
    const watch: StreamWatch = { streamId, hubId: created.watchId, progressNotify: c.progressNotify, sentSinceTick: false };
    this.watches.set(streamId, watch);
    this.byHubId.set(watch.hubId, watch);
    this.queue({ ...created, watchId: streamId });
  }

  private cancel(streamId: bigint): void {
    const watch = this.watches.get(streamId);
    if (!watch) return;
    this.drop(watch);
    this.queue({ watchId: streamId, revision: this.backend.store.currentRevision, canceled: true });
  }

  private drop(watch: StreamWatch): void {
    this.backend.hub.cancel(watch.hubId);
    this.watches.delete(watch.streamId);
    this.byHubId.delete(watch.hubId);
  }

  private queue(r: Omit<HubResponse, 'events' | 'watchId'> & { watchId: bigint; events?: HubResponse['events'] }): void {
    this.outbox.push({
      header: headerOut(this.backend.header, r.revision),
      watchId: r.watchId,
      created: r.created ?? false,
      canceled: r.canceled ?? false,
      compactRevision: BigInt(r.compactRevision ?? 0),
      cancelReason: r.cancelReason ?? '',
      fragment: r.fragment ?? false,
      events: (r.events ?? []).map(eventOut),
    });
  }

  /** wake collects what the hub has for this stream's watches and sends it, in order. */
  wake(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.wakeAgain = true;
      return;
    }
    this.pumping = true;
    void this.pump();
  }

  /**
   * pump sends until nothing is pending. `pumping` is cleared in the same synchronous step as the
   * last `wakeAgain` check (the `finally` of this very function): clearing it any later (in a
   * `.finally` callback or after an `await`, a few microtasks on) leaves a window in which a write
   * applied meanwhile sets `wakeAgain` for a pump that has already finished, and its events wait
   * for the next, unrelated write on this member.
   */
  private async pump(): Promise<void> {
    try {
      do {
        this.wakeAgain = false;
        this.collect();
        while (this.outbox.length > 0 && !this.closed && !this.call.ended) {
          const batch = this.outbox;
          this.outbox = [];
          for (const response of batch) {
            try {
              await this.call.send(response);
            } catch {
              this.closed = true;
              return;
            }
          }
          this.collect();
        }
      } while (this.wakeAgain && !this.closed);
    } finally {
      this.pumping = false;
    }
  }

  /** collect moves one step of every watch's pending responses into the outbox. */
  private collect(): void {
    for (const watch of [...this.watches.values()]) {
      if (!this.backend.hub.hasPending(watch.hubId)) continue;
      for (const r of this.backend.hub.take(watch.hubId)) {
        this.queue({ ...r, watchId: watch.streamId });
        watch.sentSinceTick = true;
        if (r.canceled) {
          this.watches.delete(watch.streamId);
          this.byHubId.delete(watch.hubId);
        }
      }
      // An unsynced watch catching up from history has more: come back for it.
      if (this.backend.hub.hasPending(watch.hubId)) this.wakeAgain = true;
    }
  }

  /** progressTick sends progress to idle, synced watches that asked for progress_notify. */
  progressTick(): void {
    for (const watch of this.watches.values()) {
      if (!watch.progressNotify) continue;
      if (watch.sentSinceTick) {
        watch.sentSinceTick = false;
        continue;
      }
      const progress = this.backend.hub.progress(watch.hubId);
      if (progress) this.queue({ ...progress, watchId: watch.streamId });
    }
    this.wake();
  }

  close(): void {
    this.closed = true;
    for (const watch of [...this.watches.values()]) this.drop(watch);
  }
}
