import { assert } from '../lib/assert.js';
import { keySpan, keyString, spanContains, type KeySpan } from './bytes.js';
import type { MvccStore } from './mvcc-store.js';
import { EventType, type WatchEvent } from './types.js';

/** WatchCreateRequest is etcdserverpb.WatchCreateRequest (filters as booleans). */
export interface WatchCreateRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  /** startRevision: first revision to deliver; 0/absent = the next write. */
  readonly startRevision?: number;
  readonly noPut?: boolean;
  readonly noDelete?: boolean;
  readonly prevKv?: boolean;
  /** fragment splits responses larger than `fragmentBytesMax` (etcd's fragment flag). */
  readonly fragment?: boolean;
}

/** WatcherId is the hub's handle of a watcher (the API layer maps it to a stream's watch id). */
export type WatcherId = number;

/** WatchResponse is etcdserverpb.WatchResponse minus the header's member fields. */
export interface WatchResponse {
  readonly watchId: WatcherId;
  /** revision is the store revision the response reflects (header.revision). */
  readonly revision: number;
  readonly created?: boolean;
  readonly canceled?: boolean;
  /** compactRevision is set when the watch was canceled because its start was compacted. */
  readonly compactRevision?: number;
  readonly cancelReason?: string;
  readonly fragment?: boolean;
  readonly events: readonly WatchEvent[];
}

export interface WatchHubOptions {
  /** bufferEventsMax bounds the events held for one synced watcher; beyond it the watcher goes unsynced. */
  readonly bufferEventsMax?: number;
  /** replayEventsMax bounds the events one catch-up step reads from history (whole revisions). */
  readonly replayEventsMax?: number;
  /** fragmentBytesMax is the approximate response size above which fragmenting watchers split (etcd: max request bytes). */
  readonly fragmentBytesMax?: number;
  /** watchersMax bounds the watchers of the hub. */
  readonly watchersMax?: number;
}

interface Watcher {
  readonly id: WatcherId;
  readonly span: KeySpan;
  readonly request: WatchCreateRequest;
  /** nextRevision is the first revision whose events were not yet handed out. */
  nextRevision: number;
  /** synced watchers receive new events into `buffer`; unsynced ones catch up from history. */
  synced: boolean;
  buffer: WatchEvent[];
}

/**
 * WatchHub holds watchers over one MvccStore and turns applied writes into watch responses,
 * pure and pull-based: the host calls `notify(events)` after every applied command (in apply
 * order) and `take(id)` when the watcher's stream can accept more.
 *
 * A watcher starting at or before the current revision begins unsynced and is caught up from the
 * store's history in bounded steps; once caught up it is synced and buffers new events, up to
 * `bufferEventsMax`. A synced watcher whose buffer overflows is dropped back to unsynced and
 * caught up from history again: events are never skipped, duplicated or reordered. A watcher
 * whose next revision was compacted is canceled with `compactRevision` (as etcd).
 */
export class WatchHub {
  private readonly watchers = new Map<WatcherId, Watcher>();
  private readonly byKey = new Map<string, Set<Watcher>>();
  private readonly rangeWatchers = new Set<Watcher>();
  private nextId: WatcherId = 1;
  private readonly bufferEventsMax: number;
  private readonly replayEventsMax: number;
  private readonly fragmentBytesMax: number;
  private readonly watchersMax: number;

  constructor(private readonly store: MvccStore, options: WatchHubOptions = {}) {
    this.bufferEventsMax = options.bufferEventsMax ?? 1024;
    this.replayEventsMax = options.replayEventsMax ?? 1000;
    this.fragmentBytesMax = options.fragmentBytesMax ?? 1.5 * 1024 * 1024;
    this.watchersMax = options.watchersMax ?? 100_000;
    assert(this.bufferEventsMax >= 1 && this.replayEventsMax >= 1 && this.fragmentBytesMax >= 1, 'watch hub limits >= 1');
  }

  get size(): number {
    return this.watchers.size;
  }

  /**
   * create registers a watcher and returns its `created` response, or undefined when the hub is
   * full (the API answers with a canceled response).
   */
  create(request: WatchCreateRequest): WatchResponse | undefined {
    if (this.watchers.size >= this.watchersMax) return undefined;
    const current = this.store.currentRevision;
    const start = request.startRevision ?? 0;
    const watcher: Watcher = {
      id: this.nextId++,
      span: keySpan(request.key, request.rangeEnd),
      request,
      nextRevision: start > 0 ? start : current + 1,
      synced: start <= 0 || start > current,
      buffer: [],
    };
    this.watchers.set(watcher.id, watcher);
    if (watcher.span.end === undefined) {
      let set = this.byKey.get(watcher.span.start);
      if (set === undefined) this.byKey.set(watcher.span.start, (set = new Set()));
      set.add(watcher);
    } else {
      this.rangeWatchers.add(watcher);
    }
    return { watchId: watcher.id, revision: current, created: true, events: [] };
  }

  /** cancel removes a watcher; false if unknown. */
  cancel(id: WatcherId): boolean {
    const watcher = this.watchers.get(id);
    if (watcher === undefined) return false;
    this.watchers.delete(id);
    if (watcher.span.end === undefined) {
      const set = this.byKey.get(watcher.span.start);
      set?.delete(watcher);
      if (set !== undefined && set.size === 0) this.byKey.delete(watcher.span.start);
    } else {
      this.rangeWatchers.delete(watcher);
    }
    return true;
  }

  /** notify hands the events of one applied command (all of one revision) to synced watchers. */
  notify(events: readonly WatchEvent[]): void {
    // Every applied write comes through here: with no watcher there is nothing to look up.
    if (this.watchers.size === 0) return;
    const ranges = this.rangeWatchers.size > 0;
    for (const event of events) {
      const id = keyString(event.kv.key);
      const keyWatchers = this.byKey.get(id);
      if (keyWatchers !== undefined) for (const watcher of keyWatchers) this.deliver(watcher, event);
      if (ranges) for (const watcher of this.rangeWatchers) if (spanContains(watcher.span, id)) this.deliver(watcher, event);
    }
  }

  private deliver(watcher: Watcher, event: WatchEvent): void {
    if (!watcher.synced || event.kv.modRevision < watcher.nextRevision) return;
    if (!this.wants(watcher, event)) return;
    watcher.buffer.push(event);
    if (watcher.buffer.length > this.bufferEventsMax) {
      // Slow consumer: forget the buffer and catch up from history from nextRevision.
      watcher.synced = false;
      watcher.buffer = [];
    }
  }

  /** resyncAll marks every watcher unsynced (after the store was replaced by a snapshot). */
  resyncAll(): void {
    for (const watcher of this.watchers.values()) {
      watcher.synced = false;
      watcher.buffer = [];
    }
  }

  /** isSynced is true when the watcher is caught up (its pending events, if any, are buffered). */
  isSynced(id: WatcherId): boolean {
    return this.watchers.get(id)?.synced ?? false;
  }

  /** hasPending is true when `take` would return something for the watcher. */
  hasPending(id: WatcherId): boolean {
    const watcher = this.watchers.get(id);
    return watcher !== undefined && (!watcher.synced || watcher.buffer.length > 0);
  }

  /**
   * take returns the watcher's next responses: buffered events when synced, or one catch-up step
   * from history when unsynced (call again while `hasPending`). A compacted start cancels the
   * watcher and returns the cancel response. Responses are fragmented when the watcher asked.
   */
  take(id: WatcherId): WatchResponse[] {
    const watcher = this.watchers.get(id);
    if (watcher === undefined) return [];
    const current = this.store.currentRevision;
    if (watcher.synced) {
      const events = watcher.buffer;
      watcher.buffer = [];
      watcher.nextRevision = Math.max(watcher.nextRevision, current + 1);
      return events.length === 0 ? [] : this.responses(watcher, events, current);
    }
    const compactRevision = this.store.compactRevision;
    if (watcher.nextRevision < compactRevision) {
      this.cancel(id);
      return [{ watchId: id, revision: current, canceled: true, compactRevision,
        cancelReason: 'etcdserver: mvcc: required revision has been compacted', events: [] }];
    }
    const batch = this.store.history(watcher.nextRevision, this.replayEventsMax);
    watcher.nextRevision = batch.nextRevision;
    if (batch.nextRevision > current) watcher.synced = true;
    const events = batch.events.filter((event) => spanContains(watcher.span, keyString(event.kv.key)) && this.wants(watcher, event));
    return events.length === 0 ? [] : this.responses(watcher, events, current);
  }

  /**
   * progress is a progress notification for a synced watcher with nothing pending (revision =
   * current: every event up to it was delivered); undefined while events are pending.
   */
  progress(id: WatcherId): WatchResponse | undefined {
    const watcher = this.watchers.get(id);
    if (watcher === undefined || !watcher.synced || watcher.buffer.length > 0) return undefined;
    return { watchId: id, revision: this.store.currentRevision, events: [] };
  }

  private wants(watcher: Watcher, event: WatchEvent): boolean {
    if (event.type === EventType.Put) return watcher.request.noPut !== true;
    return watcher.request.noDelete !== true;
  }

  private responses(watcher: Watcher, events: readonly WatchEvent[], revision: number): WatchResponse[] {
    const shaped = watcher.request.prevKv === true ? events : events.map((e) => (e.prevKv === undefined ? e : { type: e.type, kv: e.kv }));
    if (watcher.request.fragment !== true) return [{ watchId: watcher.id, revision, events: shaped }];
    const out: WatchResponse[] = [];
    let piece: WatchEvent[] = [];
    let pieceBytes = 0;
    for (const event of shaped) {
      const bytes = eventBytes(event);
      if (piece.length > 0 && pieceBytes + bytes > this.fragmentBytesMax) {
        out.push({ watchId: watcher.id, revision, fragment: true, events: piece });
        piece = [];
        pieceBytes = 0;
      }
      piece.push(event);
      pieceBytes += bytes;
    }
    out.push({ watchId: watcher.id, revision, events: piece });
    return out;
  }
}

function eventBytes(event: WatchEvent): number {
  const kvBytes = event.kv.key.length + event.kv.value.length + 32;
  return kvBytes + (event.prevKv === undefined ? 0 : event.prevKv.key.length + event.prevKv.value.length + 32);
}
