import { METHODS } from '../../src/api/codec/index.js';
import { runClosedLoop } from './closed-loop.js';
import type { ClientStream, GrpcCallError } from './grpc-h2-client.js';
import type { BenchTarget } from './target.js';
import type { RunContext, WorkloadMeasured } from './workloads.js';

/**
 * Lease keep-alive storm (issue 7): LEASE_COUNT leases are granted once per cluster (TTL one hour,
 * so none expires during the benchmark), then `streams` LeaseKeepAlive streams to the leader each
 * renew their share of the leases in a closed loop: send one keep-alive, wait for its answer, send
 * the next. Ops are keep-alives answered.
 */

const GRANT = METHODS['/etcdserverpb.Lease/LeaseGrant'];
const KEEP_ALIVE = METHODS['/etcdserverpb.Lease/LeaseKeepAlive'];
/** LEASE_COUNT is how many leases the storm renews (issue 7). */
export const LEASE_COUNT = 1_000;
const LEASE_TTL_SECONDS = 3_600n;
const GRANTS_IN_FLIGHT = 64;

/** granted remembers each cluster's leases: granted once, renewed by every run. */
const granted = new WeakMap<BenchTarget, bigint[]>();

async function grantLeases(ctx: RunContext): Promise<bigint[]> {
  const known = granted.get(ctx.target);
  if (known !== undefined) return known;
  const leader = ctx.target.members[ctx.leaderIndex]!.client;
  const frame = GRANT.request.encodeFrame({ ...GRANT.request.create(), TTL: LEASE_TTL_SECONDS });
  const ids: bigint[] = [];
  await Promise.all(Array.from({ length: GRANTS_IN_FLIGHT }, async () => {
    while (ids.length < LEASE_COUNT) {
      ids.push(0n);
      const at = ids.length - 1;
      ids[at] = GRANT.response.decode(await leader.unary(GRANT.path, frame)).ID;
    }
  }));
  granted.set(ctx.target, ids);
  return ids;
}

export async function runLeaseKeepAliveStorm(ctx: RunContext, streams: number): Promise<WorkloadMeasured> {
  const leases = await grantLeases(ctx);
  const leader = ctx.target.members[ctx.leaderIndex]!.client;
  const frames = leases.map((ID) => KEEP_ALIVE.request.encodeFrame({ ID }));
  /** waiting[i] are the callers waiting for stream i's next answers, in order. */
  const waiting: { resolve: () => void; reject: (error: Error) => void }[][] = [];
  const opened: ClientStream[] = [];
  let expired = 0;
  for (let i = 0; i < streams; i++) {
    const queue: { resolve: () => void; reject: (error: Error) => void }[] = [];
    waiting.push(queue);
    opened.push(leader.stream(KEEP_ALIVE.path, {
      onMessage(bytes) {
        if (KEEP_ALIVE.response.decode(bytes).TTL <= 0n) expired++;
        queue.shift()?.resolve();
      },
      onEnd(error: GrpcCallError | undefined) {
        const failure = error ?? new Error('keep-alive stream ended');
        for (const w of queue.splice(0)) w.reject(failure);
      },
    }));
  }
  const next = new Array<number>(streams).fill(0);
  try {
    const measured = await runClosedLoop(ctx.target, ctx.window, streams, (i) => new Promise<void>((resolve, reject) => {
      // Stream i renews leases i, i + streams, i + 2·streams, … in turn.
      const lease = (i + streams * next[i]!++) % frames.length;
      waiting[i]!.push({ resolve, reject });
      opened[i]!.write(frames[lease]!);
    }));
    return { ...measured, note: `to the leader; ${LEASE_COUNT} leases${expired > 0 ? `; ${expired} answers said expired` : ''}` };
  } finally {
    for (const stream of opened) stream.cancel();
  }
}
