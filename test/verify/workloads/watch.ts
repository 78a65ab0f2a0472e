/**
 * The watch workload: read the prefix once (startRevision and its contents), open several
 * watchers from startRevision + 1 (the client's watch iterator, which resumes across member
 * failures; a watcher whose iterator gives up is reopened after its last revision), and let a
 * few writers put and delete keys under the prefix while the faults run. After healing, one final
 * linearizable read gives final.revision and the contents; each watcher is then given a bounded
 * time to reach final.revision and its events are recorded as they are.
 *
 * Only writes that changed the store are listed as acknowledged: a delete of an absent key makes
 * no revision (and no event), so it is left out.
 */
import { WatchCompactedError, type Concord } from '../../../src/client/index.js';
import type { WatchEvent, WatchHistory } from '../../../src/check/workload-histories.js';
import type { Workload, WorkloadContext } from '../workload.js';
import {
  describeError, finalRead, keyPrefix, newClient, OP_DEADLINE_MS, Random, running, sleep, waitHealed, within, workerSeed, writeFailure,
} from './support.js';

/** WATCH_WATCHERS is the number of concurrent watchers. */
export const WATCH_WATCHERS = 3;
/** WATCH_WRITERS is the number of concurrent writers. */
export const WATCH_WRITERS = 2;
/** WATCH_KEYS is the number of keys the writers change. */
export const WATCH_KEYS = 5;
/** WATCH_CATCH_UP_MS bounds the wait for the watchers to reach the final revision. */
export const WATCH_CATCH_UP_MS = 20_000;

type Acknowledged = WatchHistory['acknowledged'][number];

/** Watcher is one watcher's state while it runs. */
interface Watcher {
  readonly id: number;
  readonly events: WatchEvent[];
  lastRevision: number;
  compacted: boolean;
  /** failed is the reason the watcher stopped early (not compaction), for the log. */
  failed: string | undefined;
  readonly stop: AbortController;
  /** progress wakes the catch-up wait on every delivered event. */
  onProgress: (() => void) | undefined;
}

/** watchWorkload runs the watch workload (see the file comment). */
export const watchWorkload: Workload = {
  name: 'watch',
  async run(ctx: WorkloadContext): Promise<WatchHistory> {
    const prefix = keyPrefix('watch', ctx.seed);
    const empty = (initial: Record<string, string>, startRevision: string): WatchHistory =>
      ({ workload: 'watch', prefix, startRevision, initial, watchers: [], acknowledged: [], final: null });
    const start = await finalRead(ctx, 'watch start read', (client) => client.getRange(prefix));
    if (!start) {
      ctx.log('watch: the start read failed; nothing to record');
      return empty({}, '0');
    }
    const startRevision = start.result.header.revision;
    const initial = Object.fromEntries(start.result.kvs.map((kv) => [kv.keyText, kv.valueText]));

    const watchers = Array.from({ length: WATCH_WATCHERS }, (_, id): Watcher => ({
      id, events: [], lastRevision: startRevision, compacted: false, failed: undefined, stop: new AbortController(), onProgress: undefined,
    }));
    const stopAll = (): void => { for (const w of watchers) w.stop.abort(); };
    ctx.signal.addEventListener('abort', stopAll, { once: true });
    const watching = watchers.map((w) => runWatcher(ctx, w, prefix));

    const acknowledged: Acknowledged[] = [];
    try {
      const keys = Array.from({ length: WATCH_KEYS }, (_, i) => `${prefix}k${i}`);
      await Promise.all(Array.from({ length: WATCH_WRITERS }, (_, w) => writer(ctx, w, keys, acknowledged)));
      ctx.log(`watch: ${acknowledged.length} acknowledged writes; waiting for the faults to heal`);
      let final: WatchHistory['final'] = null;
      if (await waitHealed(ctx)) {
        const read = await finalRead(ctx, 'watch final read', (client) => client.getRange(prefix));
        if (read) {
          final = {
            revision: String(read.result.header.revision),
            kvs: Object.fromEntries(read.result.kvs.map((kv) => [kv.keyText, kv.valueText])),
          };
          await catchUp(ctx, watchers, read.result.header.revision);
        }
      }
      for (const w of watchers) {
        ctx.log(`watch: watcher ${w.id} saw ${w.events.length} events up to revision ${w.lastRevision}${w.compacted ? ' (compacted)' : ''}${w.failed ? ` (stopped: ${w.failed})` : ''}`);
      }
      return {
        workload: 'watch',
        prefix,
        startRevision: String(startRevision),
        initial,
        watchers: watchers.map((w) => ({ id: w.id, events: [...w.events], ...(w.compacted ? { compacted: true } : {}) })),
        acknowledged,
        final,
      };
    } finally {
      stopAll();
      ctx.signal.removeEventListener('abort', stopAll);
      await within(Promise.allSettled(watching), OP_DEADLINE_MS).catch(() => {});
    }
  },
};

/**
 * runWatcher follows the prefix from lastRevision + 1 with its own client until stopped. The
 * iterator resumes by itself; if it gives up (too many failed reconnects) it is reopened after
 * the last revision delivered, with a new client.
 */
async function runWatcher(ctx: WorkloadContext, w: Watcher, prefix: string): Promise<void> {
  let attempt = 0;
  while (!w.stop.signal.aborted) {
    const client = newClient(ctx, w.id + attempt);
    try {
      for await (const e of client.watch(prefix, { fromRevision: w.lastRevision + 1, signal: w.stop.signal })) {
        w.events.push({ revision: String(e.revision), key: e.key, type: e.type, ...(e.type === 'put' ? { value: e.value } : {}) });
        w.lastRevision = Math.max(w.lastRevision, e.revision);
        w.onProgress?.();
      }
    } catch (error) {
      if (error instanceof WatchCompactedError) {
        w.compacted = true;
        w.failed = 'compacted';
        w.onProgress?.();
        return;
      }
      if (!w.stop.signal.aborted) {
        ctx.log(`watch: watcher ${w.id} iterator ended (${describeError(error)}); reopening after ${w.lastRevision}`);
        await sleep(200, w.stop.signal);
      }
    } finally {
      client.close();
    }
    attempt++;
  }
}

/** catchUp waits (at most WATCH_CATCH_UP_MS) until every watcher saw `revision` or stopped. */
async function catchUp(ctx: WorkloadContext, watchers: readonly Watcher[], revision: number): Promise<void> {
  const deadline = ctx.now() + WATCH_CATCH_UP_MS;
  const behind = (): Watcher[] => watchers.filter((w) => w.lastRevision < revision && !w.compacted && !w.stop.signal.aborted);
  while (behind().length > 0 && ctx.now() < deadline && !ctx.signal.aborted) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, 100);
      function done(): void {
        clearTimeout(timer);
        for (const w of watchers) w.onProgress = undefined;
        resolve();
      }
      for (const w of watchers) w.onProgress = done;
    });
  }
  for (const w of behind()) ctx.log(`watch: watcher ${w.id} reached only ${w.lastRevision} of ${revision} within ${WATCH_CATCH_UP_MS} ms`);
}

/** writer puts and deletes random keys one at a time until the run phase ends. */
async function writer(ctx: WorkloadContext, index: number, keys: readonly string[], out: Acknowledged[]): Promise<void> {
  const random = new Random(workerSeed(ctx.seed, index));
  let client: Concord = newClient(ctx, index);
  let n = 0;
  try {
    while (running(ctx)) {
      const key = random.pick(keys);
      const put = random.chance(0.75);
      const value = `w${index}-${n++}`;
      try {
        if (put) {
          const r = await within(client.put(key, value), OP_DEADLINE_MS, ctx.signal);
          out.push({ key, type: 'put', value, revision: String(r.revision) });
        } else {
          const r = await within(client.delete(key), OP_DEADLINE_MS, ctx.signal);
          if (r.deleted > 0) out.push({ key, type: 'delete', revision: String(r.revision) });
        }
      } catch (error) {
        if (writeFailure(error) === 'not-applied') {
          await sleep(random.between(20, 100), ctx.signal);
          continue;
        }
        ctx.log(`watch: writer ${index} ${put ? 'put' : 'delete'} ${key} unknown (${describeError(error)})`);
        client.close();
        client = newClient(ctx, index + n);
      }
      await sleep(random.between(0, 10), ctx.signal);
    }
  } finally {
    client.close();
  }
}
