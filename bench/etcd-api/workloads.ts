import { etcdserverpb, METHODS } from '../../src/api/codec/index.js';
import { runClosedLoop, Xorshift32, type Measured, type Window } from './closed-loop.js';
import type { BenchTarget } from './target.js';
import { runWatchDelivery, runWatchThroughput } from './watch-delivery.js';
import { runLeaseKeepAliveStorm } from './lease-storm.js';

/**
 * The workloads of issue 7, driven through the etcd v3 gRPC API: puts, linearizable and
 * serializable ranges, compare-and-swap transactions and watch delivery, on `keyCount` keys with
 * `valueBytes` values. Writes go to the leader; reads go round-robin over every member, call by
 * call (so one client reads from the leader and the followers alike).
 */

/** WorkloadFamily selects a group of workloads with `--workloads`. */
export type WorkloadFamily = 'put' | 'get' | 'sget' | 'range' | 'txn' | 'lease' | 'watch' | 'watchput' | 'lock' | 'seq';

/** WorkloadSpec is one row of the table. */
export interface WorkloadSpec {
  /** id selects it with `--workloads` (as does its family): `put-64`. */
  readonly id: string;
  readonly family: WorkloadFamily;
  /** label is the table's first column. */
  readonly label: string;
  readonly clients: number;
}

/** WORKLOADS are the default rows, in order (issue 7's table, with the concurrency the brief asks for). */
export function defaultWorkloads(watchers: number, watchRatePerSecond: number): WorkloadSpec[] {
  return [
    { id: 'put-1', family: 'put', label: 'put, 1 client', clients: 1 },
    { id: 'put-16', family: 'put', label: 'put, 16 clients', clients: 16 },
    { id: 'put-64', family: 'put', label: 'put, 64 clients', clients: 64 },
    { id: 'put-256', family: 'put', label: 'put, 256 clients', clients: 256 },
    { id: 'get-1', family: 'get', label: 'linearizable get, 1 client', clients: 1 },
    { id: 'get-64', family: 'get', label: 'linearizable get, 64 clients', clients: 64 },
    { id: 'sget-64', family: 'sget', label: 'serializable get, 64 clients', clients: 64 },
    { id: 'range-16', family: 'range', label: 'linearizable range of 1,000 keys, 16 clients', clients: 16 },
    { id: 'txn-16', family: 'txn', label: 'txn CAS (100 keys), 16 clients', clients: 16 },
    { id: 'txn-64', family: 'txn', label: 'txn CAS (100 keys), 64 clients', clients: 64 },
    { id: 'lock-1', family: 'lock', label: 'lock + unlock (v3lock, uncontended), 1 client', clients: 1 },
    { id: 'lock-16', family: 'lock', label: 'lock + unlock (v3lock, 16 locks), 16 clients', clients: 16 },
    { id: 'seq-1', family: 'seq', label: 'increment-and-get, 1 client (etcd: CAS loop)', clients: 1 },
    { id: 'seq-16', family: 'seq', label: 'increment-and-get, 16 clients (etcd: CAS loop)', clients: 16 },
    { id: 'lease-64', family: 'lease', label: 'lease keep-alive storm (1,000 leases), 64 streams', clients: 64 },
    { id: 'watchput-64', family: 'watchput', label: 'put→watch event, 64 writers, 1 watcher', clients: 64 },
    { id: `watch-${watchers}`, family: 'watch', label: `put→watch event, ${watchRatePerSecond}/s, ${watchers} watchers`, clients: watchers },
  ];
}

/**
 * scalingWorkloads are the rows of "how cost grows" (`--clients 1,16,64,256,1024`): a put row and
 * a linearizable get row at each client count, in that order.
 */
export function scalingWorkloads(clientCounts: readonly number[]): WorkloadSpec[] {
  for (const n of clientCounts) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`--clients: ${n} is not a positive integer`);
  }
  return [
    ...clientCounts.map((n): WorkloadSpec => ({ id: `put-${n}`, family: 'put', label: `put, ${n} client${n === 1 ? '' : 's'}`, clients: n })),
    ...clientCounts.map((n): WorkloadSpec => ({ id: `get-${n}`, family: 'get', label: `linearizable get, ${n} client${n === 1 ? '' : 's'}`, clients: n })),
  ];
}

/** selectWorkloads keeps the workloads named (by id or family) in `selection` (comma-separated). */
export function selectWorkloads(all: readonly WorkloadSpec[], selection: string | undefined): WorkloadSpec[] {
  if (selection === undefined || selection === '' || selection === 'all') return [...all];
  const names = new Set(selection.split(',').map((s) => s.trim()).filter((s) => s !== ''));
  const chosen = all.filter((w) => names.has(w.id) || names.has(w.family));
  const known = new Set(all.flatMap((w) => [w.id, w.family]));
  const unknown = [...names].filter((n) => !known.has(n));
  if (unknown.length > 0) throw new Error(`unknown workload(s) ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
  return chosen;
}

/**
 * Frames are request frames by key index: an array (encoded once) or, for large data sets,
 * encoded on each call (see PREENCODED_KEYS_MAX). `at(i)` is defined for 0 ≤ i < length.
 */
export interface Frames {
  readonly length: number;
  at(index: number): Uint8Array | undefined;
}

/**
 * PREENCODED_KEYS_MAX: up to this many keys, every request frame is encoded once before the runs
 * (the client's CPU is not what is measured). Beyond it (`--keys 1000000`) frames are encoded per
 * call (≈ 2 µs of client CPU, against ≈ 80 µs for the call itself): millions of retained buffers
 * would cost the load generator more in GC pauses than the encoding does.
 */
export const PREENCODED_KEYS_MAX = 100_000;

/** DataSet is the keys and values every workload uses. */
export interface DataSet {
  readonly keyCount: number;
  readonly valueBytes: number;
  /** key(i) is the i-th key, `key/` + i zero-padded. */
  readonly key: (index: number) => Uint8Array;
  readonly value: Uint8Array;
  /** putFrames.at(i) is the framed PutRequest of key(i). */
  readonly putFrames: Frames;
  readonly getFrames: Frames;
  readonly serializableGetFrames: Frames;
  /** rangeFrame is a linearizable Range over the first RANGE_KEY_COUNT keys (all keys if fewer). */
  readonly rangeFrame: Uint8Array;
  readonly casKeys: readonly Uint8Array[];
}

/** RANGE_KEY_COUNT is how many keys the range workload reads per call (issue 7). */
export const RANGE_KEY_COUNT = 1_000;

const PUT = METHODS['/etcdserverpb.KV/Put'];
const RANGE = METHODS['/etcdserverpb.KV/Range'];
const TXN = METHODS['/etcdserverpb.KV/Txn'];
const LEASE_GRANT = METHODS['/etcdserverpb.Lease/LeaseGrant'];
const LOCK = METHODS['/v3lockpb.Lock/Lock'];
const UNLOCK = METHODS['/v3lockpb.Lock/Unlock'];
const SEQUENCER_NEXT = METHODS['/concord.v1.Sequencer/Next'];
/** CAS_KEY_COUNT is how many keys the compare-and-swap workload contends on (issue 7). */
export const CAS_KEY_COUNT = 100;

/** makeDataSet encodes `keyCount` keys (`key/00000`…) with a `valueBytes` value. */
export function makeDataSet(keyCount: number, valueBytes: number): DataSet {
  if (!Number.isInteger(keyCount) || keyCount < 1) throw new Error(`--keys: ${keyCount} is not a positive integer`);
  const width = String(keyCount - 1).length;
  const key = (i: number): Uint8Array => Buffer.from(`key/${String(i).padStart(width, '0')}`);
  const value = Buffer.alloc(valueBytes, 'v');
  const casKeys = Array.from({ length: CAS_KEY_COUNT }, (_, i) => Buffer.from(`cas/${String(i).padStart(3, '0')}`));
  const frames = (encode: (key: Uint8Array) => Uint8Array): Frames => keyCount <= PREENCODED_KEYS_MAX
    ? Array.from({ length: keyCount }, (_, i) => encode(key(i)))
    : { length: keyCount, at: (i) => (i >= 0 && i < keyCount ? encode(key(i)) : undefined) };
  return {
    keyCount, valueBytes, key, value, casKeys,
    putFrames: frames((k) => PUT.request.encodeFrame({ ...PUT.request.create(), key: k, value })),
    getFrames: frames((k) => RANGE.request.encodeFrame({ ...RANGE.request.create(), key: k })),
    serializableGetFrames: frames((k) => RANGE.request.encodeFrame({ ...RANGE.request.create(), key: k, serializable: true })),
    rangeFrame: RANGE.request.encodeFrame({
      ...RANGE.request.create(),
      key: key(0),
      // 'key/' + 1 ends the range after every key when there are no more than RANGE_KEY_COUNT.
      rangeEnd: keyCount > RANGE_KEY_COUNT ? key(RANGE_KEY_COUNT) : Buffer.from('key0'),
    }),
  };
}

/**
 * PRELOAD_PUTS_PER_TXN keys are written per preload transaction (distinct keys; etcd's and
 * Concord's default --max-txn-ops is 128), PRELOAD_TXNS_IN_FLIGHT transactions at a time: one
 * proposal and one fsync per 100 keys instead of per key, so 1M keys load in minutes, not hours.
 */
export const PRELOAD_PUTS_PER_TXN = 100;
export const PRELOAD_TXNS_IN_FLIGHT = 16;

/** PreloadOptions bound the preload's time and report its progress. */
export interface PreloadOptions {
  /** timeoutMs: the preload fails with an error past this (default 20 min). */
  readonly timeoutMs?: number;
  /** onProgress is called about every `progressEveryMs` (default 10 s) with the keys written so far. */
  readonly onProgress?: (written: number, total: number, elapsedMs: number) => void;
  readonly progressEveryMs?: number;
}

/**
 * preload writes every key and every CAS key once, through the leader, in transactions of
 * PRELOAD_PUTS_PER_TXN puts. A failed transaction is retried (a loaded machine can time one out);
 * it rewrites the same keys with the same value, so a retry after a lost answer is harmless.
 */
export async function preload(target: BenchTarget, leaderIndex: number, data: DataSet, options: PreloadOptions = {}): Promise<void> {
  const leader = target.members[leaderIndex]!.client;
  const timeoutMs = options.timeoutMs ?? 20 * 60_000;
  const progressEveryMs = options.progressEveryMs ?? 10_000;
  const total = data.keyCount + data.casKeys.length;
  const keyAt = (i: number): Uint8Array => (i < data.keyCount ? data.key(i) : data.casKeys[i - data.keyCount]!);
  const started = Date.now();
  let lastProgress = started;
  let next = 0;
  let written = 0;
  await Promise.all(Array.from({ length: PRELOAD_TXNS_IN_FLIGHT }, async () => {
    while (next < total) {
      const first = next;
      const end = Math.min(total, first + PRELOAD_PUTS_PER_TXN);
      next = end;
      const success: etcdserverpb.RequestOp[] = [];
      for (let i = first; i < end; i++) {
        success.push({ request: { $case: 'requestPut', value: { ...PUT.request.create(), key: keyAt(i), value: data.value } } });
      }
      const frame = TXN.request.encodeFrame({ compare: [], success, failure: [] });
      for (let attempt = 0; ; attempt++) {
        if (Date.now() - started > timeoutMs) {
          throw new Error(`${target.system}: preload of ${total} keys did not finish within ${timeoutMs / 1000} s (${written} written)`);
        }
        try {
          TXN.response.decode(await leader.unary(TXN.path, frame));
          break;
        } catch (error) {
          if (attempt >= 20) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      written += end - first;
      const now = Date.now();
      if (options.onProgress !== undefined && now - lastProgress >= progressEveryMs) {
        lastProgress = now;
        options.onProgress(written, total, now - started);
      }
    }
  }));
}

/** RunContext is what a workload run needs besides its spec. */
export interface RunContext {
  readonly target: BenchTarget;
  readonly leaderIndex: number;
  readonly data: DataSet;
  readonly window: Window;
  readonly watchRatePerSecond: number;
}

/** WorkloadMeasured is a run's measurement plus a note for the table (success rate, achieved rate). */
export interface WorkloadMeasured extends Measured {
  readonly note: string;
}

/** runWorkload runs one workload against one target. */
export async function runWorkload(spec: WorkloadSpec, ctx: RunContext): Promise<WorkloadMeasured> {
  const { target, data, window } = ctx;
  const leader = target.members[ctx.leaderIndex]!.client;
  const members = target.members.map((m) => m.client);
  const rngs = Array.from({ length: spec.clients }, (_, i) => new Xorshift32(0x5eed + i * 7919));
  switch (spec.family) {
    case 'put': {
      const measured = await runClosedLoop(target, window, spec.clients, async (i) => {
        const frame = data.putFrames.at(rngs[i]!.below(data.keyCount))!;
        PUT.response.decode(await leader.unary(PUT.path, frame));
      });
      return { ...measured, note: 'to the leader' };
    }
    case 'get':
    case 'sget': {
      const frames = spec.family === 'get' ? data.getFrames : data.serializableGetFrames;
      let nextMember = 0;
      let misses = 0;
      const measured = await runClosedLoop(target, window, spec.clients, async (i) => {
        const member = members[nextMember]!;
        nextMember = (nextMember + 1) % members.length;
        const response = RANGE.response.decode(await member.unary(RANGE.path, frames.at(rngs[i]!.below(data.keyCount))!));
        if (response.kvs.length !== 1) misses++;
      });
      return { ...measured, note: `round-robin over ${members.length} members${misses > 0 ? `; ${misses} empty ranges` : ''}` };
    }
    case 'range': {
      // Decoding 1,000 KVs per response would make the load generator the bottleneck: every
      // 64th response is decoded and its count checked, the others only counted.
      let nextMember = 0;
      let calls = 0;
      let short = 0;
      const expected = Math.min(RANGE_KEY_COUNT, data.keyCount);
      const measured = await runClosedLoop(target, window, spec.clients, async () => {
        const member = members[nextMember]!;
        nextMember = (nextMember + 1) % members.length;
        const bytes = await member.unary(RANGE.path, data.rangeFrame);
        if (calls++ % 64 === 0 && RANGE.response.decode(bytes).kvs.length !== expected) short++;
      });
      return { ...measured, note: `round-robin over ${members.length} members${short > 0 ? `; ${short} short ranges` : ''}` };
    }
    case 'lease':
      return await runLeaseKeepAliveStorm(ctx, spec.clients);
    case 'txn': {
      const known = new Array<bigint>(data.casKeys.length).fill(0n);
      let succeeded = 0;
      let total = 0;
      const measured = await runClosedLoop(target, window, spec.clients, async (i) => {
        const k = rngs[i]!.below(data.casKeys.length);
        const key = data.casKeys[k]!;
        const frame = TXN.request.encodeFrame(casRequest(key, known[k]!, data.value));
        const response = TXN.response.decode(await leader.unary(TXN.path, frame));
        total++;
        if (response.succeeded) {
          succeeded++;
          known[k] = response.header?.revision ?? 0n;
        } else {
          const range = response.responses[0]?.response;
          if (range?.$case === 'responseRange') known[k] = range.value.kvs[0]?.modRevision ?? 0n;
        }
      });
      const rate = total === 0 ? 0 : (100 * succeeded) / total;
      return { ...measured, note: `to the leader; ${rate.toFixed(0)}% of compares succeeded` };
    }
    case 'watch':
      return await runWatchDelivery(ctx, spec.clients);
    case 'watchput':
      return await runWatchThroughput(ctx, spec.clients);
    case 'lock': {
      // Each client holds one lease (granted before the window) and takes and releases its own
      // lock through the v3lock service, as `etcdctl lock` does: one cycle is one operation.
      const leases = await Promise.all(Array.from({ length: spec.clients }, async () =>
        LEASE_GRANT.response.decode(await leader.unary(LEASE_GRANT.path, LEASE_GRANT.request.encodeFrame({ ...LEASE_GRANT.request.create(), TTL: 60n }))).ID));
      const measured = await runClosedLoop(target, window, spec.clients, async (i) => {
        const locked = LOCK.response.decode(await leader.unary(LOCK.path, LOCK.request.encodeFrame({ name: Buffer.from(`bench-lock/${i}`), lease: leases[i]! })));
        UNLOCK.response.decode(await leader.unary(UNLOCK.path, UNLOCK.request.encodeFrame({ key: locked.key })));
      });
      return { ...measured, note: 'to the leader; one operation = lock + unlock' };
    }
    case 'seq': {
      // Concord: concord.v1.Sequencer/Next, one call per number. etcd has no sequencer; its
      // idiom is a compare-and-swap loop on a counter key, which is what runs against it (every
      // failed compare is retried inside the operation, so the figure is numbers handed out).
      const counter = Buffer.from('bench-seq/counter');
      const nextFrame = SEQUENCER_NEXT.request.encodeFrame({ name: 'bench-seq', count: 1 });
      let value = 0n;
      let modRevision = 0n;
      let retries = 0;
      const concord = target.system === 'Concord';
      const measured = await runClosedLoop(target, window, spec.clients, async () => {
        if (concord) {
          SEQUENCER_NEXT.response.decode(await leader.unary(SEQUENCER_NEXT.path, nextFrame));
          return;
        }
        for (;;) {
          const frame = TXN.request.encodeFrame(casRequest(counter, modRevision, Buffer.from(String(value + 1n))));
          const response = TXN.response.decode(await leader.unary(TXN.path, frame));
          if (response.succeeded) {
            value += 1n;
            modRevision = response.header?.revision ?? 0n;
            return;
          }
          retries++;
          const range = response.responses[0]?.response;
          const kv = range?.$case === 'responseRange' ? range.value.kvs[0] : undefined;
          if (kv) {
            value = BigInt(Buffer.from(kv.value).toString());
            modRevision = kv.modRevision;
          }
        }
      });
      return { ...measured, note: concord ? 'Sequencer/Next to the leader' : `CAS loop to the leader; ${retries} failed compares retried` };
    }
    default:
      return unreachable(spec.family);
  }
}

/** casRequest: if key's mod revision is `expected`, put `value`; else read the key (to learn its revision). */
function casRequest(key: Uint8Array, expected: bigint, value: Uint8Array): etcdserverpb.TxnRequest {
  return {
    compare: [{
      result: etcdserverpb.Compare_CompareResult.EQUAL,
      target: etcdserverpb.Compare_CompareTarget.MOD,
      key,
      targetUnion: { $case: 'modRevision', value: expected },
      rangeEnd: new Uint8Array(0),
    }],
    success: [{ request: { $case: 'requestPut', value: { ...PUT.request.create(), key, value } } }],
    failure: [{ request: { $case: 'requestRange', value: { ...RANGE.request.create(), key } } }],
  };
}

function unreachable(x: never): never {
  throw new Error(`unreachable: ${String(x)}`);
}
