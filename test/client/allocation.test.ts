import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { Concord, rendezvousOwner, type Allocator } from '../../src/client/index.js';
import { sleep, type TestCluster } from '../integration/cluster.js';
import { endpointsOf, startCluster } from './helpers.js';

const clientUrl = new URL('../../src/client/index.js', import.meta.url).href;
const SERVICE = 'jobs';
const PARTITIONS = Array.from({ length: 12 }, (_, i) => `p${i}`);
const TTL_SECONDS = 2;

/** Acquisition is one `acquired` or `released` event, in the order this process learned of it. */
interface AllocationEvent {
  readonly instance: string;
  readonly type: 'acquired' | 'released';
  readonly partition: string;
  readonly token: number;
}

/** An allocator in its own process: prints every acquired/released event as a JSON line. */
function spawnAllocator(endpoints: string[], instance: string, onEvent: (e: AllocationEvent) => void): ChildProcess {
  const script = `
    import { Concord } from ${JSON.stringify(clientUrl)};
    const client = new Concord({ endpoints: ${JSON.stringify(endpoints)} });
    const allocator = await client.allocate(${JSON.stringify(SERVICE)}, ${JSON.stringify(instance)}, ${JSON.stringify(PARTITIONS)}, { ttl: ${TTL_SECONDS} });
    const out = (type, partition, token) => process.stdout.write(JSON.stringify({ type, partition, token }) + '\\n');
    allocator.on('acquired', (p, token) => out('acquired', p, token));
    allocator.on('released', (p) => out('released', p, 0));
    setInterval(() => {}, 1_000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    const e = JSON.parse(line) as { type: 'acquired' | 'released'; partition: string; token: number };
    onEvent({ instance, ...e });
  });
  return child;
}

async function waitFor(what: string, timeoutMs: number, check: () => boolean, describe: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} ${describe()}`);
    await sleep(50);
  }
}

describe('client work allocation', { concurrency: false }, () => {
  let cluster: TestCluster;
  const clients: Concord[] = [];
  const allocators: Allocator[] = [];
  const children: ChildProcess[] = [];
  before(async () => { cluster = await startCluster(); });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(allocators.map((a) => a.close().catch(() => {})));
    for (const c of clients) c.close();
    await cluster?.destroy();
  });

  test('12 partitions over 3 members, one killed, one added: one owner each, tokens increase, no overlap', async () => {
    const endpoints = endpointsOf(cluster);
    const log: AllocationEvent[] = [];
    const holdings = new Map<string, Map<string, number>>(); // instance -> partition -> token, from the events
    const record = (e: AllocationEvent): void => {
      log.push(e);
      const held = holdings.get(e.instance) ?? new Map<string, number>();
      holdings.set(e.instance, held);
      if (e.type === 'acquired') held.set(e.partition, e.token);
      else held.delete(e.partition);
    };
    const startInProcess = async (instance: string): Promise<Allocator> => {
      const client = new Concord({ endpoints });
      clients.push(client);
      const allocator = await client.allocate(SERVICE, instance, PARTITIONS, { ttl: TTL_SECONDS });
      allocators.push(allocator);
      allocator.on('acquired', (partition, token) => record({ instance, type: 'acquired', partition, token }));
      allocator.on('released', (partition) => record({ instance, type: 'released', partition, token: 0 }));
      return allocator;
    };
    /** balanced: every partition held by exactly the member rendezvous hashing picks among `live`. */
    const describeState = (): string => JSON.stringify({
      holdings: Object.fromEntries([...holdings].map(([m, h]) => [m, Object.fromEntries(h)])),
      members: allocators.map((x) => [x.instance, [...x.members()], x.describe()]),
      expected: Object.fromEntries(PARTITIONS.map((p) => [p, rendezvousOwner(p, ['a', 'b'])])),
      tail: log.map((e) => `${e.instance}:${e.type[0]}:${e.partition}:${e.token}`).join(" "),
    });
    const balanced = (live: string[]): boolean => PARTITIONS.every((p) => {
      const owners = live.filter((m) => holdings.get(m)?.has(p));
      return owners.length === 1 && owners[0] === rendezvousOwner(p, live);
    }) && [...holdings.keys()].filter((m) => !live.includes(m)).every((m) => holdings.get(m)!.size === 0);

    // Stage 1: a and b in this process, c in a child process.
    const child = spawnAllocator(endpoints, 'c', record);
    children.push(child);
    const [a, b] = await Promise.all([startInProcess('a'), startInProcess('b')]);
    await waitFor('a balanced allocation over a, b, c', 20_000, () => balanced(['a', 'b', 'c']));
    const shareOfC = [...holdings.get('c')!.keys()];
    assert.ok(shareOfC.length > 0, 'c owns some partitions (else its kill proves nothing)');
    assert.deepEqual([...a.members()].sort(), ['a', 'b', 'c']);

    // Stage 2: SIGKILL c. Its registration and locks expire; a and b take its partitions.
    child.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((resolve) => child.once('exit', resolve));
    holdings.get('c')!.clear(); // a dead process acts on nothing; its tokens end with its leases
    await waitFor('rebalancing after the kill', TTL_SECONDS * 1000 + 15_000, () => balanced(['a', 'b']), describeState);
    console.log(`${shareOfC.length} partitions of the killed member taken over ${Date.now() - killedAt} ms after SIGKILL (TTL ${TTL_SECONDS} s)`);
    assert.deepEqual([...b.members()].sort(), ['a', 'b']);

    // Stage 3: d joins; partitions move to it from a and b.
    const d = await startInProcess('d');
    await waitFor('rebalancing after a join', 20_000, () => balanced(['a', 'b', 'd']));
    assert.ok(d.owned().size > 0);

    // owned() agrees with the events, and each token is the current lock holder's create revision.
    const probe = new Concord({ endpoints });
    clients.push(probe);
    for (const [instance, allocator] of [['a', a], ['b', b], ['d', d]] as const) {
      assert.deepEqual(new Map(allocator.owned()), holdings.get(instance));
      for (const [partition, token] of allocator.owned()) {
        const queue = await probe.getRange(`alloc/${SERVICE}/${partition}/`);
        const holder = queue.kvs.reduce((min, kv) => (kv.createRevision < min ? kv.createRevision : min), Infinity);
        assert.equal(holder, token, `${partition}: ${instance}'s token is the lock holder's`);
      }
    }

    // Per partition, in the order the events happened: an acquisition only after the previous
    // holder released (or was killed), and tokens strictly increase from owner to owner.
    const holder = new Map<string, string>();
    const lastToken = new Map<string, number>();
    let moves = 0;
    for (const e of log) {
      if (e.type === 'released') {
        assert.equal(holder.get(e.partition), e.instance, `${e.instance} released ${e.partition} that it held`);
        holder.delete(e.partition);
        continue;
      }
      const previous = holder.get(e.partition);
      assert.ok(previous === undefined || (previous === 'c' && shareOfC.includes(e.partition) && e.instance !== 'c'),
        `${e.instance} acquired ${e.partition} while ${previous} held it`);
      assert.ok(e.token > (lastToken.get(e.partition) ?? 0), `${e.partition}: token ${e.token} after ${lastToken.get(e.partition)}`);
      if (lastToken.has(e.partition)) moves++;
      lastToken.set(e.partition, e.token);
      holder.set(e.partition, e.instance);
    }
    assert.ok(moves >= shareOfC.length, `partitions changed owners (${moves} moves)`);
  });
});
