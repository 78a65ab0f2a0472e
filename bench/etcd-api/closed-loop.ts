import { performance } from 'node:perf_hooks';
import { StallWindow, type LoadGeneratorStalls } from './load-generator-stalls.js';
import { clientCpuMicros, machineBusyMicros, processCpuMicros } from './process-cpu.js';
import type { BenchTarget } from './target.js';

/**
 * The measuring part shared by every workload: a warm-up, then a fixed window during which
 * completed operations, their latencies, errors and the CPU time of the members and of the load
 * generator are counted.
 */

/** Window is the timing of one run. */
export interface Window {
  readonly warmupSeconds: number;
  readonly seconds: number;
}

/** CpuSnapshot is the CPU time used so far by each member (in target order) and by this process, µs. */
export interface CpuSnapshot {
  readonly membersUs: readonly number[];
  readonly clientUs: number;
  /** machineUs is the CPU time of every process on the machine (see machineBusyMicros). */
  readonly machineUs: number;
  readonly atMs: number;
}

/** takeCpuSnapshot reads the CPU time of every member process and of the load generator. */
export function takeCpuSnapshot(target: BenchTarget): CpuSnapshot {
  return {
    membersUs: target.members.map((m) => processCpuMicros(m.pid)),
    clientUs: clientCpuMicros(),
    machineUs: machineBusyMicros(),
    atMs: performance.now(),
  };
}

/** Measured is what one run counted inside its window. */
export interface Measured {
  /** latenciesMs of the operations completed inside the window, unsorted. */
  readonly latenciesMs: number[];
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly elapsedSeconds: number;
  readonly cpuStart: CpuSnapshot;
  readonly cpuEnd: CpuSnapshot;
  /** clientStalls: the load generator's own event-loop delay and GC pauses inside the window. */
  readonly clientStalls: LoadGeneratorStalls;
  /** pendingAtEnd counts calls still unanswered `STOP_GRACE_MS` after the window closed. */
  readonly pendingAtEnd: number;
  /** totalOps counts every operation completed in the run, warm-up and drain included (for ratios to member counters). */
  readonly totalOps: number;
}

/** STOP_GRACE_MS is how long running calls get to finish after the window closes. */
export const STOP_GRACE_MS = 10_000;
/** ERROR_BACKOFF_MS is how long a client waits after a failed call (no hot loop while there is no leader). */
const ERROR_BACKOFF_MS = 5;

/** Operation is one client's call; it rejects on failure. `clientIndex` < clients. */
export type Operation = (clientIndex: number) => Promise<void>;

/**
 * runClosedLoop runs `clients` concurrent clients, each calling `operation` in a loop (the next
 * call starts when the previous one completes), for the warm-up then the measured window.
 */
export async function runClosedLoop(
  target: BenchTarget, window: Window, clients: number, operation: Operation,
  /** onWindow hears the measured window's bounds (performance.now() ms) as it opens and closes. */
  onWindow?: (startMs: number, endMs: number) => void,
): Promise<Measured> {
  let measureStartMs = Number.POSITIVE_INFINITY;
  let measureEndMs = Number.POSITIVE_INFINITY;
  let stopped = false;
  let errors = 0;
  let firstError: string | undefined;
  let running = clients;
  let totalOps = 0;
  const latenciesMs: number[] = [];
  const client = async (index: number): Promise<void> => {
    while (!stopped) {
      const t0 = performance.now();
      try {
        await operation(index);
        totalOps++;
        const t1 = performance.now();
        if (t1 >= measureStartMs && t1 < measureEndMs) latenciesMs.push(t1 - t0);
      } catch (error) {
        const t1 = performance.now();
        if (t1 >= measureStartMs && t1 < measureEndMs) {
          errors++;
          firstError ??= error instanceof Error ? error.message : String(error);
        }
        await sleep(ERROR_BACKOFF_MS);
      }
    }
    running--;
  };
  const all = Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  await sleep(window.warmupSeconds * 1000);
  const stalls = new StallWindow();
  const cpuStart = takeCpuSnapshot(target);
  measureStartMs = cpuStart.atMs;
  onWindow?.(measureStartMs, Number.POSITIVE_INFINITY);
  await sleep(window.seconds * 1000);
  const cpuEnd = takeCpuSnapshot(target);
  measureEndMs = cpuEnd.atMs;
  onWindow?.(measureStartMs, measureEndMs);
  const clientStalls = stalls.stop();
  stopped = true;
  await Promise.race([all, sleep(STOP_GRACE_MS)]);
  return {
    latenciesMs, errors, firstError,
    elapsedSeconds: (measureEndMs - measureStartMs) / 1000,
    cpuStart, cpuEnd, clientStalls,
    pendingAtEnd: running,
    totalOps,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Xorshift32 is a tiny seeded PRNG for key choice (one per client; no Math.random on the hot path). */
export class Xorshift32 {
  private state: number;
  constructor(seed: number) {
    this.state = (seed | 0) || 0x9e3779b9;
  }
  /** below returns an integer in [0, n). */
  below(n: number): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x;
    return (x >>> 0) % n;
  }
}
