import { performance } from 'node:perf_hooks';
import { codecFor, METHODS } from '../../src/api/codec/index.js';
import { Xorshift32, runClosedLoop, sleep, takeCpuSnapshot, STOP_GRACE_MS, type Measured, type Window } from './closed-loop.js';
import { StallWindow } from './load-generator-stalls.js';
import type { ClientStream, GrpcCallError, GrpcEndpointClient } from './grpc-h2-client.js';
import type { RunContext, WorkloadMeasured } from './workloads.js';

/**
 * Watch delivery: `watchers` Watch streams over the prefix `w/`, spread round-robin over the
 * members, and one writer putting to the leader at a fixed rate (open loop: a put is sent when it
 * is due, whether or not earlier ones were answered, up to WRITES_IN_FLIGHT_MAX). The latency of
 * an event is the time from the put's acknowledgement (its response, which carries the revision)
 * to that revision's event on a watcher; an event that arrives before the acknowledgement counts
 * as 0 ms. Ops are events delivered (one per watcher per put).
 */

const PUT = METHODS['/etcdserverpb.KV/Put'];
const WATCH = METHODS['/etcdserverpb.Watch/Watch'];
const WATCH_CREATE = codecFor('etcdserverpb.WatchCreateRequest');
const PREFIX = Buffer.from('w/');
const PREFIX_END = Buffer.from('w0'); // '/' + 1
/** WRITES_IN_FLIGHT_MAX caps the writer's unanswered puts; past it a due put is skipped (and counted). */
const WRITES_IN_FLIGHT_MAX = 256;
const WRITER_TICK_MS = 2;
const WATCH_KEY_COUNT = 1_000;

/**
 * openPrefixWatch opens a Watch stream on `w/` at `client`: `onEvents` hears each batch's
 * (revision, arrival time) pairs, `onError` an error that ends the stream after it was created
 * (CANCELLED, which `cancel` causes, is not one). Resolves once the watch is created; rejects if
 * the stream ends before.
 */
function openPrefixWatch(
  client: GrpcEndpointClient,
  onEvents: (revisions: readonly number[], atMs: number) => void,
  onError: (error: GrpcCallError) => void,
  onEnded: () => void,
): { stream: ClientStream; created: Promise<void> } {
  let resolveCreated!: () => void;
  let rejectCreated!: (error: Error) => void;
  const created = new Promise<void>((resolve, reject) => { resolveCreated = resolve; rejectCreated = reject; });
  let isCreated = false;
  const stream = client.stream(WATCH.path, {
    onMessage(bytes) {
      const response = WATCH.response.decode(bytes);
      if (response.created && !isCreated) {
        isCreated = true;
        resolveCreated();
      }
      if (response.events.length === 0) return;
      onEvents(response.events.map((event) => Number(event.kv?.modRevision ?? 0n)), performance.now());
    },
    onEnd(error: GrpcCallError | undefined) {
      onEnded();
      if (!isCreated) rejectCreated(error ?? new Error('watch ended before it was created'));
      else if (error !== undefined && error.code !== 1 /* CANCELLED: ours */) onError(error);
    },
  });
  stream.write(WATCH.request.encodeFrame({
    requestUnion: { $case: 'createRequest', value: { ...WATCH_CREATE.create(), key: PREFIX, rangeEnd: PREFIX_END } },
  }));
  return { stream, created };
}

export async function runWatchDelivery(ctx: RunContext, watchers: number): Promise<WorkloadMeasured> {
  const { target, data, window } = ctx;
  const leader = target.members[ctx.leaderIndex]!.client;
  let measureStartMs = Number.POSITIVE_INFINITY;
  let measureEndMs = Number.POSITIVE_INFINITY;
  let errors = 0;
  let firstError: string | undefined;
  const latenciesMs: number[] = [];
  /** ackAtMs: revision -> when its put was acknowledged. */
  const ackAtMs = new Map<number, number>();
  /** earlyEvents: revision -> events seen before the put's acknowledgement. */
  const earlyEvents = new Map<number, number>();
  const noteError = (error: unknown): void => {
    if (performance.now() >= measureStartMs && performance.now() < measureEndMs) {
      errors++;
      firstError ??= error instanceof Error ? error.message : String(error);
    }
  };

  // Open the watchers and wait until each is created.
  const streams: ClientStream[] = [];
  let ended = 0;
  const onEvents = (revisions: readonly number[], now: number): void => {
    const inWindow = now >= measureStartMs && now < measureEndMs;
    for (const revision of revisions) {
      const ack = ackAtMs.get(revision);
      if (ack !== undefined) {
        if (inWindow) latenciesMs.push(now - ack);
      } else if (inWindow) {
        earlyEvents.set(revision, (earlyEvents.get(revision) ?? 0) + 1);
      }
    }
  };
  const created = await Promise.all(Array.from({ length: watchers }, (_, w) => {
    const watch = openPrefixWatch(target.members[w % target.members.length]!.client, onEvents, noteError, () => { ended++; });
    streams.push(watch.stream);
    return watch.created;
  })).then(() => true, (error: unknown) => error);
  if (created !== true) {
    for (const s of streams) s.cancel();
    throw created instanceof Error ? created : new Error(String(created));
  }

  // The writer: open loop at the fixed rate.
  const frames = Array.from({ length: WATCH_KEY_COUNT }, (_, i) =>
    PUT.request.encodeFrame({ ...PUT.request.create(), key: Buffer.from(`w/${String(i).padStart(4, '0')}`), value: data.value }));
  let writing = true;
  let sent = 0;
  let skipped = 0;
  let inFlight = 0;
  let putsAcked = 0;
  let eventsBeforeAck = 0;
  let putsAckedTotal = 0;
  const writerStartMs = performance.now();
  const writer = (async () => {
    while (writing) {
      const due = Math.floor(((performance.now() - writerStartMs) / 1000) * ctx.watchRatePerSecond);
      while (sent < due) {
        const seq = sent++;
        if (inFlight >= WRITES_IN_FLIGHT_MAX) {
          skipped++;
          continue;
        }
        inFlight++;
        leader.unary(PUT.path, frames[seq % frames.length]!).then((bytes) => {
          inFlight--;
          const now = performance.now();
          const revision = Number(PUT.response.decode(bytes).header?.revision ?? 0n);
          ackAtMs.set(revision, now);
          putsAckedTotal++;
          if (now >= measureStartMs && now < measureEndMs) putsAcked++;
          const early = earlyEvents.get(revision);
          if (early !== undefined) {
            earlyEvents.delete(revision);
            eventsBeforeAck += early;
            for (let i = 0; i < early; i++) latenciesMs.push(0);
          }
        }, (error: unknown) => {
          inFlight--;
          noteError(error);
        });
      }
      await sleep(WRITER_TICK_MS);
    }
  })();

  await sleep(window.warmupSeconds * 1000);
  const stalls = new StallWindow();
  const cpuStart = takeCpuSnapshot(target);
  measureStartMs = cpuStart.atMs;
  const skippedBefore = skipped;
  await sleep(window.seconds * 1000);
  const cpuEnd = takeCpuSnapshot(target);
  measureEndMs = cpuEnd.atMs;
  const clientStalls = stalls.stop();
  writing = false;
  await writer;
  const graceEnd = performance.now() + STOP_GRACE_MS;
  while (inFlight > 0 && performance.now() < graceEnd) await sleep(10);
  // Events still unmatched belong to puts acknowledged after the window (or never): not counted.
  for (const s of streams) s.cancel();
  const cancelEnd = performance.now() + 2_000;
  while (ended < watchers && performance.now() < cancelEnd) await sleep(10);
  const elapsedSeconds = (measureEndMs - measureStartMs) / 1000;
  const skippedInWindow = skipped - skippedBefore;
  return {
    latenciesMs, errors, firstError, elapsedSeconds, cpuStart, cpuEnd, clientStalls,
    pendingAtEnd: inFlight,
    totalOps: putsAckedTotal, // the writes: what the member counters (fsyncs, entries) relate to
    note: `writer ${(putsAcked / elapsedSeconds).toFixed(0)} puts/s to the leader, ${watchers} watchers round-robin over members; ` +
      `ops = events delivered; ${latenciesMs.length === 0 ? 0 : ((100 * eventsBeforeAck) / latenciesMs.length).toFixed(0)}% of events came before the put's ack (0 ms)` +
      `${skippedInWindow > 0 ? `; ${skippedInWindow} puts skipped (${WRITES_IN_FLIGHT_MAX} in flight)` : ''}`,
  };
}

/**
 * Watch throughput (issue 7's "put → watch event, 64 writers, 1 watcher"): `writers` closed-loop
 * clients put to the leader under `w/` as fast as they are answered, and one Watch stream on a
 * follower receives the events. The latency of an event is the time from its put being sent to
 * the event's arrival at the watcher (what a reader of the change waits for); ops are events
 * delivered inside the window, so ops/s is the watcher's event rate.
 */
export async function runWatchThroughput(ctx: RunContext, writers: number): Promise<WorkloadMeasured> {
  const { target, data, window } = ctx;
  const leader = target.members[ctx.leaderIndex]!.client;
  const watcherIndex = (ctx.leaderIndex + 1) % target.members.length;
  const watcherMember = target.members[watcherIndex]!;
  let measureStartMs = Number.POSITIVE_INFINITY;
  let measureEndMs = Number.POSITIVE_INFINITY;
  const latenciesMs: number[] = [];
  /** sentAtMs: revision -> when its put was sent (known once the put is answered). */
  const sentAtMs = new Map<number, number>();
  /** arrivedAtMs: revision -> when its event arrived, for events that came before their put's answer. */
  const arrivedAtMs = new Map<number, number>();
  let watchError: string | undefined;
  let eventsBeforeAnswer = 0;
  const record = (arrived: number, sent: number): void => {
    if (arrived >= measureStartMs && arrived < measureEndMs) latenciesMs.push(arrived - sent);
  };

  let ended = false;
  const { stream, created } = openPrefixWatch(watcherMember.client, (revisions, now) => {
    for (const revision of revisions) {
      const sent = sentAtMs.get(revision);
      if (sent !== undefined) {
        sentAtMs.delete(revision);
        record(now, sent);
      } else {
        arrivedAtMs.set(revision, now);
      }
    }
  }, (error) => { watchError ??= error.message; }, () => { ended = true; });
  await created;

  const frames = Array.from({ length: WATCH_KEY_COUNT }, (_, i) =>
    PUT.request.encodeFrame({ ...PUT.request.create(), key: Buffer.from(`w/${String(i).padStart(4, '0')}`), value: data.value }));
  const rng = Array.from({ length: writers }, (_, i) => new Xorshift32(0x3a7c + i * 7919));
  let measured: Measured;
  const onWindow = (startMs: number, endMs: number): void => {
    measureStartMs = startMs;
    measureEndMs = endMs;
  };
  try {
    measured = await runClosedLoop(target, window, writers, async (i) => {
      const sent = performance.now();
      const revision = Number(PUT.response.decode(await leader.unary(PUT.path, frames[rng[i]!.below(frames.length)]!)).header?.revision ?? 0n);
      const arrived = arrivedAtMs.get(revision);
      if (arrived !== undefined) {
        arrivedAtMs.delete(revision);
        eventsBeforeAnswer++;
        record(arrived, sent);
      } else {
        sentAtMs.set(revision, sent);
      }
    }, onWindow);
  } finally {
    // Events of puts answered in the grace period still land; then the stream is closed.
    const settleEnd = performance.now() + 1_000;
    while (sentAtMs.size > 0 && !ended && performance.now() < settleEnd) await sleep(10);
    stream.cancel();
  }
  const unmatched = sentAtMs.size;
  return {
    ...measured,
    latenciesMs,
    errors: measured.errors + (watchError !== undefined ? 1 : 0),
    firstError: measured.firstError ?? watchError,
    note: `${writers} writers to the leader, 1 watcher on ${watcherMember.name} (a follower); ops = events delivered; ` +
      `${measured.latenciesMs.length > 0 ? (measured.latenciesMs.length / measured.elapsedSeconds).toFixed(0) : 0} puts/s answered; ` +
      `${latenciesMs.length === 0 ? 0 : ((100 * eventsBeforeAnswer) / latenciesMs.length).toFixed(0)}% of events came before the put's answer` +
      (unmatched > 0 ? `; ${unmatched} answered puts without an event` : ''),
  };
}
