/**
 * The set workload: single-threaded clients add unique elements (a put of `<prefix><element>`)
 * while the faults run; once they have healed, one linearizable read of the prefix (retried until
 * one attempt succeeds) is the final set. An add of unknown outcome is recorded with returnTime
 * null (its client then continues under a new id); an add refused for sure is left out.
 */
import type { SetHistory } from '../../../src/check/workload-histories.js';
import type { Workload, WorkloadContext } from '../workload.js';
import { describeError, finalRead, keyPrefix, newClient, OP_DEADLINE_MS, Random, running, sleep, waitHealed, within, workerSeed, writeFailure } from './support.js';

/** SET_CLIENTS is the number of concurrent adders. */
export const SET_CLIENTS = 3;

type Add = SetHistory['adds'][number];

/** setWorkload runs the set workload (see the file comment). */
export const setWorkload: Workload = {
  name: 'set',
  async run(ctx: WorkloadContext): Promise<SetHistory> {
    const prefix = keyPrefix('set', ctx.seed);
    const adds: Add[] = [];
    let nextClientId = 0;
    await Promise.all(Array.from({ length: SET_CLIENTS }, (_, w) => setWorker(ctx, w, prefix, adds, () => nextClientId++)));
    const unknown = adds.filter((a) => a.returnTime === null).length;
    ctx.log(`set: ${adds.length} adds, ${unknown} of unknown outcome; waiting for the faults to heal`);
    if (!(await waitHealed(ctx))) return { workload: 'set', adds, finalRead: null };
    const read = await finalRead(ctx, 'set final read', async (client) => {
      const r = await client.getRange(prefix);
      return r.kvs.map((kv) => kv.keyText.slice(prefix.length));
    });
    ctx.log(read ? `set: final read has ${read.result.length} elements` : 'set: final read failed');
    return { workload: 'set', adds, finalRead: read ? { time: read.time, elements: read.result } : null };
  },
};

/** setWorker adds elements `<clientId>-<n>` one at a time until the run phase ends. */
async function setWorker(ctx: WorkloadContext, w: number, prefix: string, out: Add[], newClientId: () => number): Promise<void> {
  const random = new Random(workerSeed(ctx.seed, w));
  let clientId = newClientId();
  let client = newClient(ctx, w);
  let n = 0;
  try {
    while (running(ctx)) {
      const element = `${clientId}-${n++}`;
      const callTime = ctx.now();
      try {
        await within(client.put(`${prefix}${element}`, String(callTime)), OP_DEADLINE_MS, ctx.signal);
        out.push({ clientId, callTime, returnTime: ctx.now(), input: { element }, output: {} });
      } catch (error) {
        if (writeFailure(error) === 'not-applied') {
          await sleep(random.between(20, 100), ctx.signal);
          continue;
        }
        out.push({ clientId, callTime, returnTime: null, input: { element } });
        ctx.log(`set: client ${clientId} add ${element} unknown (${describeError(error)}); continuing as a new client`);
        client.close();
        clientId = newClientId();
        client = newClient(ctx, w + clientId);
      }
    }
  } finally {
    client.close();
  }
}
