/**
 * The sequencer workload: single-threaded clients call concord.v1.Sequencer/Next on one counter
 * for 1 or a few numbers at a time and record each call with the first number it got (a decimal
 * string). The client has no sequencer method (docs/sequencer.md), so the calls go through the
 * client's EndpointPool as writes, like `concord seq`: the same leader routing, and the same rule
 * that a call of unknown outcome is never retried. Such a call is recorded with returnTime null
 * and its client continues under a new id with a new pool.
 */
import { METHODS } from '../../../src/api/codec/index.js';
import { EndpointPool } from '../../../src/client/endpoint-pool.js';
import type { SequencerHistory } from '../../../src/check/workload-histories.js';
import type { Workload, WorkloadContext } from '../workload.js';
import {
  CLIENT_DIAL_TIMEOUT_MS, CLIENT_REQUEST_TIMEOUT_MS, describeError, keyPrefix, OP_DEADLINE_MS, Random, rotate, running, sleep, within,
  workerSeed, writeFailure,
} from './support.js';

/** SEQUENCER_CLIENTS is the number of concurrent callers. */
export const SEQUENCER_CLIENTS = 4;
/** SEQUENCER_COUNT_MAX is the largest count one call asks for. */
export const SEQUENCER_COUNT_MAX = 5;

const NEXT = METHODS['/concord.v1.Sequencer/Next'];

type Call = SequencerHistory['calls'][number];

/** sequencerWorkload runs the sequencer workload (see the file comment). */
export const sequencerWorkload: Workload = {
  name: 'sequencer',
  async run(ctx: WorkloadContext): Promise<SequencerHistory> {
    const name = `${keyPrefix('sequencer', ctx.seed)}counter`;
    const calls: Call[] = [];
    let nextClientId = 0;
    await Promise.all(Array.from({ length: SEQUENCER_CLIENTS }, (_, w) => caller(ctx, w, name, calls, () => nextClientId++)));
    const unknown = calls.filter((c) => c.returnTime === null).length;
    ctx.log(`sequencer: ${calls.length} calls, ${unknown} of unknown outcome`);
    return { workload: 'sequencer', calls };
  },
};

function newPool(ctx: WorkloadContext, index: number): EndpointPool {
  return new EndpointPool({
    endpoints: rotate(ctx.endpoints, index),
    dialTimeoutMs: CLIENT_DIAL_TIMEOUT_MS,
    requestTimeoutMs: CLIENT_REQUEST_TIMEOUT_MS,
    attemptsMax: 12,
  });
}

/** caller takes numbers one call at a time until the run phase ends. */
async function caller(ctx: WorkloadContext, w: number, name: string, out: Call[], newClientId: () => number): Promise<void> {
  const random = new Random(workerSeed(ctx.seed, w));
  let clientId = newClientId();
  let pool = newPool(ctx, w);
  try {
    while (running(ctx)) {
      const count = random.chance(0.5) ? 1 : random.between(2, SEQUENCER_COUNT_MAX);
      const input = { name, count };
      const callTime = ctx.now();
      try {
        const r = await within(pool.unary(NEXT, { name, count }, 'write'), OP_DEADLINE_MS, ctx.signal);
        // Recorded as asked: a server that took another count shows up as a gap or an overlap.
        if (r.count !== count) ctx.log(`sequencer: asked for ${count} numbers, the server says it took ${r.count}`);
        out.push({ clientId, callTime, returnTime: ctx.now(), input, output: { first: r.first.toString() } });
      } catch (error) {
        if (writeFailure(error) === 'not-applied') {
          await sleep(random.between(20, 100), ctx.signal);
          continue;
        }
        out.push({ clientId, callTime, returnTime: null, input });
        ctx.log(`sequencer: client ${clientId} next(${count}) unknown (${describeError(error)}); continuing as a new client`);
        pool.close();
        clientId = newClientId();
        pool = newPool(ctx, w + clientId);
      }
    }
  } finally {
    pool.close();
  }
}
