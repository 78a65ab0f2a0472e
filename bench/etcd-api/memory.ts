import fs from 'node:fs';
import { METHODS } from '../../src/api/codec/index.js';
import { metricValues, scrapeMetrics } from './member-metrics.js';
import type { BenchTarget } from './target.js';

/**
 * Memory per member (issue 7): load `keyCount` extra keys (`mem/0000000`…) of `valueBytes` through
 * the leader, 64 puts in flight, then read each member's resident set size (VmRSS from
 * /proc/<pid>/status; Linux only). etcd's figure includes the pages of its bbolt file that it has
 * mapped and touched; Concord's is its heap and buffers.
 */

const PUT = METHODS['/etcdserverpb.KV/Put'];
const PUTS_IN_FLIGHT = 64;

/** MemoryResult is one system's resident size per member after the load. */
export interface MemoryResult {
  readonly system: string;
  readonly keyCount: number;
  readonly valueBytes: number;
  readonly loadSeconds: number;
  /** retries counts puts that failed and were sent again during the load. */
  readonly retries: number;
  /** firstRetryError is the error of the first put that was retried, if any. */
  readonly firstRetryError: string | undefined;
  /** rssMiB per member, in target order (NaN if unknown). */
  readonly rssMiB: readonly number[];
  /**
   * heapMiB per member, read from /metrics when the RSS is: the language runtime's heap in use
   * (Concord: nodejs_heap_size_used_bytes, live and not yet collected objects; etcd:
   * go_memstats_heap_inuse_bytes), and Concord's memory outside the heap
   * (nodejs_external_memory_bytes: the slabs of keys and values, I/O buffers); NaN if unknown.
   */
  readonly heapMiB: readonly number[];
  readonly externalMiB: readonly number[];
}

/** residentMiB reads VmRSS of a process, in MiB (NaN if unknown). */
export function residentMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? Number.NaN : Number(match[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** loadAndMeasureMemory writes the keys and returns every member's resident size. */
export async function loadAndMeasureMemory(target: BenchTarget, leaderIndex: number, keyCount: number, valueBytes: number): Promise<MemoryResult> {
  const leader = target.members[leaderIndex]!.client;
  const value = Buffer.alloc(valueBytes, 'm');
  const width = String(keyCount - 1).length;
  const started = Date.now();
  let next = 0;
  let retries = 0;
  let firstRetryError: string | undefined;
  await Promise.all(Array.from({ length: PUTS_IN_FLIGHT }, async () => {
    while (next < keyCount) {
      const key = Buffer.from(`mem/${String(next++).padStart(width, '0')}`);
      const frame = PUT.request.encodeFrame({ ...PUT.request.create(), key, value });
      for (let attempt = 0; ; attempt++) {
        try {
          await leader.unary(PUT.path, frame);
          break;
        } catch (error) {
          // A loaded machine can time a put out (or move the leader): retry, as the preload does.
          if (attempt >= 20) throw error;
          retries++;
          firstRetryError ??= error instanceof Error ? error.message : String(error);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }
  }));
  const loadSeconds = (Date.now() - started) / 1000;
  // Let the members settle (followers apply the tail, a snapshot may be running).
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const rssMiB = target.members.map((m) => residentMiB(m.pid));
  const scraped = await Promise.all(target.members.map(async (m) => metricValues(await scrapeMetrics(m.clientPort))));
  const mib = (v: number | undefined): number => (v === undefined ? Number.NaN : v / (1024 * 1024));
  return {
    system: target.system, keyCount, valueBytes, loadSeconds, retries, firstRetryError, rssMiB,
    heapMiB: scraped.map((g) => mib(g.get('nodejs_heap_size_used_bytes') ?? g.get('go_memstats_heap_inuse_bytes'))),
    externalMiB: scraped.map((g) => mib(g.get('nodejs_external_memory_bytes'))),
  };
}

/** describeMemory renders one result as a line. */
export function describeMemory(r: MemoryResult): string {
  const list = (values: readonly number[]): string => values.map((v) => (Number.isNaN(v) ? '?' : v.toFixed(0))).join(' / ');
  const parts = [`heap in use ${list(r.heapMiB)}`, ...(r.externalMiB.some((v) => !Number.isNaN(v)) ? [`outside the heap ${list(r.externalMiB)}`] : [])];
  return `memory: ${r.system.padEnd(7)} RSS per member after ${r.keyCount.toLocaleString('en-US')} more keys of ${r.valueBytes} B: ${list(r.rssMiB)} MiB ` +
    `(${parts.join(', ')} MiB; loaded in ${r.loadSeconds.toFixed(1)} s${r.retries > 0 ? `, ${r.retries} puts retried, the first after: ${r.firstRetryError ?? '?'}` : ''})`;
}
