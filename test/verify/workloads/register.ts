/**
 * The register workload: a few single-threaded clients run random put / get / compare-and-set /
 * delete operations on a few keys and record each as an Operation<KvInput, KvOutput> for the
 * linearizability checker (kvModel). Reads are linearizable. A write the client proves was not
 * applied is left out; one of unknown outcome (timeout, lost connection, OP_DEADLINE_MS passed)
 * is recorded with returnTime null, and its client is then treated as crashed: the history goes
 * on under a new client id with a new connection, as no process may have two operations open.
 */
import { compare, op, type Concord } from '../../../src/client/index.js';
import type { Operation } from '../../../src/check/history.js';
import type { KvInput, KvOutput } from '../../../src/check/kv-model.js';
import type { RegisterHistory } from '../../../src/check/workload-histories.js';
import type { Workload, WorkloadContext } from '../workload.js';
import { describeError, keyPrefix, newClient, OP_DEADLINE_MS, Random, running, sleep, within, workerSeed, writeFailure } from './support.js';

/** REGISTER_CLIENTS is the number of concurrent clients. */
export const REGISTER_CLIENTS = 4;
/** REGISTER_KEYS is the number of registers (keys) they share. */
export const REGISTER_KEYS = 3;

type KvOperation = Operation<KvInput, KvOutput>;

/** registerWorkload runs the register workload (see the file comment). */
export const registerWorkload: Workload = {
  name: 'register',
  async run(ctx: WorkloadContext): Promise<RegisterHistory> {
    const prefix = keyPrefix('register', ctx.seed);
    const keys = Array.from({ length: REGISTER_KEYS }, (_, i) => `${prefix}k${i}`);
    const operations: KvOperation[] = [];
    let nextClientId = 0;
    await Promise.all(Array.from({ length: REGISTER_CLIENTS }, (_, w) =>
      registerWorker(ctx, w, keys, operations, () => nextClientId++)));
    const unknown = operations.filter((o) => o.returnTime === null).length;
    ctx.log(`register: ${operations.length} operations, ${unknown} of unknown outcome, ${nextClientId} client ids`);
    return { workload: 'register', operations };
  },
};

/** registerWorker is one worker: one operation at a time until the run phase ends. */
async function registerWorker(ctx: WorkloadContext, w: number, keys: readonly string[], out: KvOperation[], newClientId: () => number): Promise<void> {
  const random = new Random(workerSeed(ctx.seed, w));
  let clientId = newClientId();
  let client = newClient(ctx, w);
  let n = 0;
  // Values this worker has seen or written per key: CAS expectations that sometimes hold.
  const seen = new Map<string, string[]>();
  const remember = (key: string, value: string | undefined): void => {
    if (value === undefined) return;
    const list = seen.get(key) ?? [];
    list.push(value);
    if (list.length > 4) list.shift();
    seen.set(key, list);
  };
  try {
    while (running(ctx)) {
      const key = random.pick(keys);
      const value = `${clientId}-${n++}`;
      const roll = random.int(100);
      const input: KvInput = roll < 40 ? { type: 'get', key }
        : roll < 65 ? { type: 'put', key, value }
        : roll < 90 ? { type: 'cas', key, expected: random.chance(0.25) ? undefined : random.pick(seen.get(key) ?? ['none']), value }
        : { type: 'delete', key };
      const callTime = ctx.now();
      try {
        const output = await within(perform(client, input), OP_DEADLINE_MS, ctx.signal);
        out.push({ clientId, callTime, returnTime: ctx.now(), input, output });
        if (input.type === 'get') remember(key, output.value ?? undefined);
        if (input.type === 'put' || (input.type === 'cas' && output.ok === true)) remember(key, input.value);
      } catch (error) {
        if (input.type === 'get') continue; // a failed read changed nothing: left out
        if (writeFailure(error) === 'not-applied') {
          await sleep(random.between(20, 100), ctx.signal);
          continue;
        }
        out.push({ clientId, callTime, returnTime: null, input });
        ctx.log(`register: client ${clientId} ${input.type} ${key} unknown (${describeError(error)}); continuing as a new client`);
        client.close();
        clientId = newClientId();
        client = newClient(ctx, w + clientId);
      }
    }
  } finally {
    client.close();
  }
}

/** perform runs one operation through the client and returns what it observed. */
async function perform(client: Concord, input: KvInput): Promise<KvOutput> {
  switch (input.type) {
    case 'get': {
      const kv = await client.get(input.key);
      return { value: kv === undefined ? null : kv.valueText };
    }
    case 'put':
      await client.put(input.key, input.value);
      return {};
    case 'cas': {
      const guard = input.expected === undefined ? compare.absent(input.key) : compare.value(input.key, '==', input.expected);
      const r = await client.txn().if(guard).then(op.put(input.key, input.value)).commit();
      return { ok: r.succeeded };
    }
    case 'delete': {
      const r = await client.delete(input.key);
      return { deleted: r.deleted > 0 };
    }
  }
}
