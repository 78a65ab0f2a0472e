import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { Concord, rendezvousOwner, type Allocator } from '../../src/client/index.js';
import { sleep, type TestCluster } from '../integration/cluster.js';
import { endpointsOf, startCluster } from './helpers.js';
import { auditOwnership } from './ownership-audit.js';

const clientUrl = new URL('../../src/client/index.js', import.meta.url).href;
const auditUrl = new URL('./ownership-audit.js', import.meta.url).href;
const SERVICE = 'jobs';
const PARTITIONS = Array.from({ length: 12 }, (_, i) => `p${i}`);
const TTL_SECONDS = 2;
const QUEUE_PREFIX = `alloc/${SERVICE}/`;

/** AllocationEvent is one `acquired` or `released` event, in the order this process learned of it. */
interface AllocationEvent {
  readonly instance: string;
  readonly type: 'acquired' | 'released';
  readonly partition: string;
  readonly token: number;
}

/** An allocator in its own process: prints every acquired/released event, and every audit violation, as a JSON line. */
function spawnAllocator(endpoints: string[], instance: string, onEvent: (e: AllocationEvent) => void, onViolation: (v: string) => void): ChildProcess {
  const script = `
    import { Concord } from ${JSON.stringify(clientUrl)};
    import { auditOwnership } from ${JSON.stringify(auditUrl)};
    const client = new Concord({ endpoints: ${JSON.stringify(endpoints)} });
    const allocator = await client.allocate(${JSON.stringify(SERVICE)}, ${JSON.stringify(instance)}, ${JSON.stringify(PARTITIONS)}, { ttl: ${TTL_SECONDS} });
    const out = (line) => process.stdout.write(JSON.stringify(line) + '\\n');
    allocator.on('acquired', (partition, token) => out({ type: 'acquired', partition, token }));
    allocator.on('released', (partition) => out({ type: 'released', partition, token: 0 }));
    for (;;) {
      try {
        for (const v of await auditOwnership(client, [allocator], ${JSON.stringify(QUEUE_PREFIX)})) out({ type: 'violation', text: v });
      } catch {}
      await new Promise((resolve) => setTimeout(resolve, 20));
    }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    const e = JSON.parse(line) as { type: 'acquired' | 'released' | 'violation'; partition: string; token: number; text: string };
    if (e.type === 'violation') onViolation(`${instance}: ${e.text}`);
    else onEvent({ instance, type: e.type, partition: e.partition, token: e.token });
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

  test('12 partitions, 4 members, two killed, one added, the leader killed: one owner each, never two valid tokens at once', async () => {
    const endpoints = endpointsOf(cluster);
    const log: AllocationEvent[] = [];
    const violations: string[] = [];
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
    const describeState = (): string => JSON.stringify({
      holdings: Object.fromEntries([...holdings].map(([m, h]) => [m, Object.fromEntries(h)])),
      members: allocators.map((x) => [x.instance, [...x.members()], x.describe()]),
      tail: log.slice(-40).map((e) => `${e.instance}:${e.type[0]}:${e.partition}:${e.token}`).join(' '),
    });
    /** balanced: every partition held by exactly the member rendezvous hashing picks among `live`, and nobody else holds anything. */
    const balanced = (live: string[]): boolean => PARTITIONS.every((p) => {
      const owners = live.filter((m) => holdings.get(m)?.has(p));
      return owners.length === 1 && owners[0] === rendezvousOwner(p, live);
    }) && [...holdings.keys()].filter((m) => !live.includes(m)).every((m) => holdings.get(m)!.size === 0);

    // The audit of this process's allocators runs for the whole test (the children audit themselves).
    const auditor = new Concord({ endpoints });
    clients.push(auditor);
    let auditing = true;
    let audits = 0;
    const auditLoop = (async () => {
      while (auditing) {
        try {
          violations.push(...await auditOwnership(auditor, allocators, QUEUE_PREFIX));
          audits++;
        } catch {
          // a read failed (the leader is being killed): skip this sample
        }
        await sleep(20);
      }
    })();

    try {
      // Stage 1: a and b in this process, c and e in child processes.
      const killed = ['c', 'e'];
      const childOf = new Map(killed.map((name) => [name, spawnAllocator(endpoints, name, record, (v) => violations.push(v))]));
      children.push(...childOf.values());
      const [a, b] = await Promise.all([startInProcess('a'), startInProcess('b')]);
      await waitFor('a balanced allocation over a, b, c, e', 20_000, () => balanced(['a', 'b', 'c', 'e']), describeState);
      const shareOfKilled = killed.flatMap((m) => [...holdings.get(m)!.keys()]);
      assert.ok(killed.every((m) => holdings.get(m)!.size > 0), 'c and e own some partitions (else their kills prove nothing)');
      assert.deepEqual([...a.members()].sort(), ['a', 'b', 'c', 'e']);

      // Stage 2: SIGKILL c and e. Their registrations and locks expire; a and b take their partitions.
      const killedAt = Date.now();
      await Promise.all(killed.map(async (m) => {
        const child = childOf.get(m)!;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
        holdings.get(m)!.clear(); // a dead process acts on nothing; its tokens end with its leases
      }));
      await waitFor('rebalancing after the kills', TTL_SECONDS * 1000 + 15_000, () => balanced(['a', 'b']), describeState);
      console.log(`${shareOfKilled.length} partitions of the killed members taken over ${Date.now() - killedAt} ms after SIGKILL (TTL ${TTL_SECONDS} s)`);
      assert.deepEqual([...b.members()].sort(), ['a', 'b']);

      // Stage 3: d joins; partitions move to it from a and b.
      const d = await startInProcess('d');
      await waitFor('rebalancing after a join', 20_000, () => balanced(['a', 'b', 'd']), describeState);
      assert.ok(d.owned().size > 0);

      // Stage 4: SIGKILL the cluster's leader. Leases may lapse during the election (their
      // partitions are then released and retaken); the allocation settles again either way.
      const leader = await cluster.waitForLeader(10_000);
      await cluster.kill(leader);
      await cluster.waitForLeader(20_000, cluster.members.map((m) => m.name).filter((n) => n !== leader));
      await waitFor('a balanced allocation after the leader was killed', 30_000, () => balanced(['a', 'b', 'd']), describeState);

      // owned() agrees with the events, and each token is the current lock holder's create revision.
      for (const [instance, allocator] of [['a', a], ['b', b], ['d', d]] as const) {
        assert.deepEqual(new Map(allocator.owned()), holdings.get(instance));
        for (const [partition, token] of allocator.owned()) {
          const queue = await auditor.getRange(`${QUEUE_PREFIX}${partition}/`);
          const holder = queue.kvs.reduce((min, kv) => (kv.createRevision < min ? kv.createRevision : min), Infinity);
          assert.equal(holder, token, `${partition}: ${instance}'s token is the lock holder's`);
        }
      }
    } finally {
      auditing = false;
      await auditLoop;
    }
    assert.ok(audits > 50, `the ownership audit ran (${audits} times)`);
    assert.deepEqual(violations, [], 'no member ever claimed a partition whose valid token was not its own');

    // Per partition: each token is acquired once, by one instance, and released (if at all) by it;
    // the tokens of one partition strictly increase; and, among the events of this process (whose
    // order is reliable), an acquisition comes only after the previous holder's release.
    const tokenOwner = new Map<string, string>(); // `${partition}@${token}` -> instance
    const lastToken = new Map<string, number>();
    const inProcessHolder = new Map<string, string>();
    const current = new Map<string, number>(); // `${instance}/${partition}` -> token held
    let moves = 0;
    for (const e of log) {
      const id = `${e.instance}/${e.partition}`;
      if (e.type === 'released') {
        assert.ok(current.has(id), `${e.instance} released ${e.partition} that it held`);
        current.delete(id);
        if (inProcessHolder.get(e.partition) === e.instance) inProcessHolder.delete(e.partition);
        continue;
      }
      const tokenId = `${e.partition}@${e.token}`;
      assert.ok(!tokenOwner.has(tokenId), `${tokenId} acquired by ${e.instance} after ${tokenOwner.get(tokenId)}`);
      tokenOwner.set(tokenId, e.instance);
      current.set(id, e.token);
      if (!['c', 'e'].includes(e.instance)) {
        const previous = inProcessHolder.get(e.partition);
        assert.ok(previous === undefined, `${e.instance} acquired ${e.partition} while ${previous} held it`);
        inProcessHolder.set(e.partition, e.instance);
        assert.ok(e.token > (lastToken.get(e.partition) ?? 0), `${e.partition}: token ${e.token} after ${lastToken.get(e.partition)}`);
        if (lastToken.has(e.partition)) moves++;
        lastToken.set(e.partition, e.token);
      }
    }
    assert.ok(moves >= 1, `partitions changed owners (${moves} moves)`);
  });
});
