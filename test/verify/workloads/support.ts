/**
 * What every workload shares: bounded waits (no await of a workload may hang), the verdict on a
 * failed write (definitely not applied, or of unknown outcome), seeded random choices, clients
 * with short timeouts, and the run/heal phases of a WorkloadContext.
 */
import { ClientErrorCode, Concord, ConcordClientError } from '../../../src/client/index.js';
import { randomChance, randomInt, Xoshiro128, type Prng } from '../../../src/lib/prng.js';
import type { WorkloadContext } from '../workload.js';

/** OP_DEADLINE_MS bounds one operation of a workload client; past it the outcome is unknown and the client is replaced. */
export const OP_DEADLINE_MS = 4_000;
/** CLIENT_REQUEST_TIMEOUT_MS is the client's own request timeout (below OP_DEADLINE_MS, so the client usually answers first). */
export const CLIENT_REQUEST_TIMEOUT_MS = 3_000;
/** CLIENT_DIAL_TIMEOUT_MS bounds connecting to one endpoint. */
export const CLIENT_DIAL_TIMEOUT_MS = 1_000;
/** HEAL_WAIT_MS_MAX bounds the wait for `healed`; past it the workload makes its final reads anyway. */
export const HEAL_WAIT_MS_MAX = 180_000;
/** FINAL_READ_ATTEMPTS bounds the attempts of a final read after the faults healed. */
export const FINAL_READ_ATTEMPTS = 8;

/** DeadlineExceeded rejects a bounded wait whose time ran out. */
export class DeadlineExceeded extends Error {
  override name = 'DeadlineExceeded';
}

/** RunAborted rejects a bounded wait cut short by the run's AbortSignal. */
export class RunAborted extends Error {
  override name = 'RunAborted';
}

/**
 * within waits for `promise` at most `ms` (rejecting with DeadlineExceeded) and no longer than
 * `signal` stays unaborted (rejecting with RunAborted). The promise keeps running; a late
 * rejection of it is swallowed.
 */
export function within<T>(promise: Promise<T>, ms: number, signal?: AbortSignal): Promise<T> {
  promise.catch(() => {});
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) return reject(new RunAborted('run aborted'));
    const timer = setTimeout(() => finish(() => reject(new DeadlineExceeded(`no answer within ${ms} ms`))), ms);
    const onAbort = (): void => finish(() => reject(new RunAborted('run aborted')));
    signal?.addEventListener('abort', onAbort, { once: true });
    let done = false;
    function finish(settle: () => void): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    }
    promise.then((v) => finish(() => resolve(v)), (e: unknown) => finish(() => reject(e)));
  });
}

/** sleep waits `ms`, or less if `signal` aborts; it never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * DEFINITE_FAILURES are the client error codes that prove a write was not applied: it was never
 * sent (Unavailable), refused before entering the log (NoLeader), invalid, or answered with a
 * clear rejection (LeaseNotFound, Fenced). Every other failure of a write is of unknown outcome.
 */
const DEFINITE_FAILURES: ReadonlySet<string> = new Set([
  ClientErrorCode.Unavailable,
  ClientErrorCode.NoLeader,
  ClientErrorCode.InvalidArgument,
  ClientErrorCode.LeaseNotFound,
  ClientErrorCode.Fenced,
]);

/** WriteFailure says what a failed write means for the history. */
export type WriteFailure = 'not-applied' | 'unknown';

/** writeFailure classifies the error of a write: 'not-applied' only when the client proves it. */
export function writeFailure(error: unknown): WriteFailure {
  return error instanceof ConcordClientError && DEFINITE_FAILURES.has(error.code) ? 'not-applied' : 'unknown';
}

/** describeError is a short text for the log. */
export function describeError(error: unknown): string {
  if (error instanceof ConcordClientError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Random draws a workload's choices from its seed (one per worker, derived from the run's seed). */
export class Random {
  private readonly prng: Prng;

  constructor(seed: number) {
    this.prng = new Xoshiro128(seed);
  }

  /** int returns an integer in [0, bound). */
  int(bound: number): number {
    return randomInt(this.prng, bound);
  }

  /** between returns an integer in [min, max]. */
  between(min: number, max: number): number {
    return min + randomInt(this.prng, max - min + 1);
  }

  chance(p: number): boolean {
    return randomChance(this.prng, p);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[randomInt(this.prng, items.length)]!;
  }
}

/** workerSeed derives worker `index`'s seed from the run's seed. */
export function workerSeed(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 31) + Math.imul(index + 1, 0x9e3779b9)) >>> 0;
}

/** rotate returns `items` starting at `by` (so clients start on different members). */
export function rotate<T>(items: readonly T[], by: number): T[] {
  const n = items.length;
  return n === 0 ? [] : items.map((_, i) => items[(i + by) % n]!);
}

/** newClient opens a workload client with short timeouts, its first endpoint chosen by `index`. */
export function newClient(ctx: WorkloadContext, index: number): Concord {
  return new Concord({
    endpoints: rotate(ctx.endpoints, index),
    requestTimeoutMs: CLIENT_REQUEST_TIMEOUT_MS,
    dialTimeoutMs: CLIENT_DIAL_TIMEOUT_MS,
  });
}

/** running tells whether the operation phase goes on: neither `durationMs` passed nor the run aborted. */
export function running(ctx: WorkloadContext): boolean {
  return !ctx.signal.aborted && ctx.now() < ctx.durationMs;
}

/**
 * waitHealed waits for `ctx.healed` (at most HEAL_WAIT_MS_MAX); false when the run was aborted
 * meanwhile, so the caller skips its final reads.
 */
export async function waitHealed(ctx: WorkloadContext): Promise<boolean> {
  try {
    await within(ctx.healed, HEAL_WAIT_MS_MAX, ctx.signal);
  } catch (error) {
    if (error instanceof RunAborted) return false;
    ctx.log(`healed did not resolve (${describeError(error)}); final reads anyway`);
  }
  return !ctx.signal.aborted;
}

/**
 * finalRead runs a read with a fresh client until one attempt succeeds (FINAL_READ_ATTEMPTS at
 * most, each bounded); it returns the result and the time the successful attempt was called
 * (the read took effect at or after it), or undefined when every attempt failed or the run aborted.
 */
export async function finalRead<T>(ctx: WorkloadContext, what: string, read: (client: Concord) => Promise<T>): Promise<{ result: T; time: number } | undefined> {
  for (let attempt = 0; attempt < FINAL_READ_ATTEMPTS && !ctx.signal.aborted; attempt++) {
    const client = newClient(ctx, attempt);
    try {
      const time = ctx.now();
      const result = await within(read(client), OP_DEADLINE_MS + CLIENT_REQUEST_TIMEOUT_MS, ctx.signal);
      return { result, time };
    } catch (error) {
      ctx.log(`${what}: attempt ${attempt + 1} failed: ${describeError(error)}`);
      await sleep(250 * (attempt + 1), ctx.signal);
    } finally {
      client.close();
    }
  }
  return undefined;
}

/** KeyPrefix names the keys of one workload run: `verify/<workload>/<seed>/`. */
export function keyPrefix(workload: string, seed: number): string {
  return `verify/${workload}/${seed >>> 0}/`;
}
