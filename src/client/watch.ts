/**
 * Watch as an async iterator. One Watch stream per iterator; when the stream fails (member
 * killed, connection lost, server error) the iterator reconnects to another endpoint and
 * restarts at `lastRevision + 1`, dropping any event at or below the last delivered revision,
 * so each revision is delivered exactly once, in order. A compacted start revision ends the
 * iteration with WatchCompactedError (never a silent skip).
 */
import { METHODS, type etcdserverpb } from '../api/codec/index.js';
import { backoffDelayMs, sleep } from './backoff.js';
import { rangeOf, type KeySelector } from './bytes.js';
import { ClientErrorCode, ConcordClientError, WatchCompactedError } from './errors.js';
import type { EndpointPool } from './endpoint-pool.js';
import type { RawCall } from './grpc-channel.js';
import { kvOf, revisionOf, type KeyValue } from './types.js';

/** WatchOptions: start at `fromRevision` (default: changes after now), include `prevKv`, stop on `signal`. */
export interface WatchOptions {
  readonly fromRevision?: number;
  readonly prevKv?: boolean;
  readonly signal?: AbortSignal;
  /** reconnectsMax bounds consecutive failed reconnects before the iterator throws (default 20). */
  readonly reconnectsMax?: number;
  /** onConnect is told the endpoint each time the watch (re)connects (diagnostics, tests). */
  readonly onConnect?: (endpoint: string) => void;
}

/** WatchEvent is one change; `revision` is the change's revision (`kv.modRevision`). */
export interface WatchEvent {
  readonly type: 'put' | 'delete';
  readonly kv: KeyValue;
  readonly prevKv: KeyValue | undefined;
  readonly revision: number;
  readonly key: string;
  readonly value: string;
}

const WATCH = METHODS['/etcdserverpb.Watch/Watch'];

/** watchEvents is the iterator behind `client.watch()`. */
export async function* watchEvents(pool: EndpointPool, selector: KeySelector, options: WatchOptions = {}): AsyncGenerator<WatchEvent, void, undefined> {
  const { key, rangeEnd } = rangeOf(selector, true);
  // nextRevision is the first revision not yet delivered; 0 = "from now" (learned from the created response).
  let nextRevision = options.fromRevision ?? 0;
  let failures = 0;
  const reconnectsMax = options.reconnectsMax ?? 20;
  for (;;) {
    if (options.signal?.aborted) return;
    let call: RawCall | undefined;
    try {
      const create: etcdserverpb.WatchRequest = {
        requestUnion: {
          $case: 'createRequest',
          value: {
            key, rangeEnd, startRevision: BigInt(nextRevision), progressNotify: true, filters: [],
            prevKv: options.prevKv ?? false, watchId: 0n, fragment: false,
          },
        },
      };
      call = await pool.openStream(WATCH.path, options.signal ? { signal: options.signal } : {}, WATCH.request.encodeFrame(create));
      for (;;) {
        const bytes = await call.next();
        if (bytes === undefined) throw new ConcordClientError(ClientErrorCode.Unavailable, 'watch stream ended by the server', { endpoint: call.endpoint });
        const r = WATCH.response.decode(bytes);
        if (r.compactRevision > 0n) throw new WatchCompactedError(revisionOf(r.compactRevision), nextRevision);
        if (r.canceled) {
          throw new ConcordClientError(ClientErrorCode.Server, `watch canceled by the server: ${r.cancelReason || 'no reason given'}`, { endpoint: call.endpoint });
        }
        if (r.created) {
          failures = 0;
          options.onConnect?.(call.endpoint);
          if (nextRevision === 0) nextRevision = revisionOf(r.header?.revision ?? 0n) + 1;
          continue;
        }
        for (const e of r.events) {
          if (!e.kv) continue;
          const kv = kvOf(e.kv);
          if (kv.modRevision < nextRevision) continue; // already delivered before a reconnect
          yield {
            type: e.type === 1 ? 'delete' : 'put',
            kv,
            prevKv: e.prevKv ? kvOf(e.prevKv) : undefined,
            revision: kv.modRevision,
            key: kv.keyText,
            value: kv.valueText,
          };
          // Every event of one revision arrives in one response (no fragmentation requested),
          // so the revision is complete once the response is.
        }
        const last = r.events[r.events.length - 1]?.kv;
        if (last) nextRevision = Math.max(nextRevision, revisionOf(last.modRevision) + 1);
      }
    } catch (error) {
      if (error instanceof WatchCompactedError) throw error;
      if (options.signal?.aborted) return;
      if (error instanceof ConcordClientError && (error.code === ClientErrorCode.Closed || error.code === ClientErrorCode.Aborted)) throw error;
      failures++;
      if (failures > reconnectsMax) throw error;
      if (call) pool.markFailed(pool.channels.findIndex((c) => c.endpoint === call!.endpoint));
      await sleep(backoffDelayMs(failures, 50, 1_000), options.signal);
    } finally {
      call?.cancel();
    }
  }
}
