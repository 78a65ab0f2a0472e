import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { TestCluster, sleep } from './cluster.js';

/**
 * The `etcd3` npm client (the Node world's etcd client, over @grpc/grpc-js) against a real
 * 3-member Concord cluster: CRUD, txn, watch resuming across member failures, leases with
 * keep-alive, its lock and election helpers, and STM.
 */
describe('the etcd3 npm client against a 3-member Concord cluster', { concurrency: false }, () => {
  let cluster: TestCluster;
  let client: Etcd3;
  const hosts = (): string[] => cluster.members.map((m) => `http://127.0.0.1:${m.clientPort}`);

  before(async () => {
    cluster = await TestCluster.create(3, { extraFlags: ['--heartbeat-interval=50', '--election-timeout=500'] });
    cluster.startAll();
    await cluster.waitForLeader(20_000);
    client = new Etcd3({ hosts: hosts(), dialTimeout: 5_000 });
  });
  after(async () => {
    client?.close();
    await cluster?.destroy();
  });

  test('CRUD: put, get, getAll with prefix, delete', async () => {
    await client.put('crud/a').value('1');
    await client.put('crud/b').value('2');
    await client.put('crud/c').value('3');
    assert.equal(await client.get('crud/a').string(), '1');
    assert.deepEqual(await client.getAll().prefix('crud/').strings(), { 'crud/a': '1', 'crud/b': '2', 'crud/c': '3' });
    assert.equal(await client.getAll().prefix('crud/').count(), 3);
    await client.delete().key('crud/b');
    assert.deepEqual(await client.getAll().prefix('crud/').keys(), ['crud/a', 'crud/c']);
    assert.equal(await client.get('crud/b').string(), null);
  });

  test('txn: compare-and-swap succeeds once, then fails', async () => {
    await client.put('cas').value('v1');
    const first = await client.if('cas', 'Value', '==', 'v1').then(client.put('cas').value('v2')).else(client.get('cas')).commit();
    assert.equal(first.succeeded, true);
    const second = await client.if('cas', 'Value', '==', 'v1').then(client.put('cas').value('v3')).else(client.get('cas')).commit();
    assert.equal(second.succeeded, false);
    assert.equal(await client.get('cas').string(), 'v2');
  });

  test('watch: every event in order, resumed across kill -9 of each member in turn', async () => {
    const seen: string[] = [];
    const watcher = await client.watch().prefix('watched/').create();
    watcher.on('put', (kv) => seen.push(kv.value.toString()));
    const written: string[] = [];
    let n = 0;
    for (const m of cluster.members) {
      for (let i = 0; i < 5; i++) {
        await client.put('watched/k').value(String(n));
        written.push(String(n++));
      }
      await cluster.kill(m.name);
      for (let i = 0; i < 5; i++) {
        await writeWithRetry(async () => { await client.put('watched/k').value(String(n)); });
        written.push(String(n++));
      }
      cluster.start(m.name);
      await cluster.waitForLeader(20_000);
    }
    await cluster.waitFor('the watcher to see every write', 20_000, async () => seen.length >= written.length);
    await watcher.cancel();
    assert.deepEqual(seen, written, 'each revision exactly once, in order');
  });

  test('a lease granted through the leader is renewed at once through a follower that has not applied the grant yet', async () => {
    const leader = await cluster.waitForLeader(20_000);
    // The raw etcd calls through each member's JSON gateway, so each request goes to one member.
    const post = async (name: string, path: string, body: unknown): Promise<string> => {
      const res = await fetch(`http://127.0.0.1:${cluster.member(name).clientPort}${path}`, { method: 'POST', body: JSON.stringify(body) });
      assert.equal(res.status, 200, `${path} on ${name}`);
      return res.text();
    };
    const followers = cluster.members.map((m) => m.name).filter((name) => name !== leader);
    // A follower learns the grant's commit index with the next heartbeat, after the leader has
    // answered the grant: it must catch up before calling the lease unknown (TTL 0).
    for (let i = 0; i < 10; i++) {
      const granted = JSON.parse(await post(leader, '/v3/lease/grant', { TTL: '30' })) as { ID: string };
      for (const follower of followers) {
        const line = (await post(follower, '/v3/lease/keepalive', { ID: granted.ID })).split('\n')[0]!;
        const renewed = (JSON.parse(line) as { result: { ID: string; TTL?: string } }).result;
        assert.equal(renewed.TTL, '30', `lease ${granted.ID} renewed through ${follower} (round ${i})`);
      }
      await post(leader, '/v3/lease/revoke', { ID: granted.ID });
    }
  });

  test('leases: keep-alive keeps keys alive past their TTL; revoke deletes them', async () => {
    const lease = client.lease(2);
    await lease.put('leased/k').value('v');
    let lost = false;
    lease.on('lost', () => { lost = true; });
    await sleep(4_000);
    assert.equal(lost, false);
    assert.equal(await client.get('leased/k').string(), 'v', 'kept alive beyond its 2 s TTL');
    await lease.revoke();
    assert.equal(await client.get('leased/k').string(), null);
  });

  test('lock helper: holders never overlap (its lock is a try-lock: contenders retry)', async () => {
    let inside = 0;
    let maxInside = 0;
    let refusals = 0;
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3].map(async (i) => {
      for (;;) {
        try {
          await client.lock('the-lock').ttl(5).do(async () => {
            inside++;
            maxInside = Math.max(maxInside, inside);
            order.push(i);
            await sleep(100);
            inside--;
          });
          return;
        } catch (error) {
          if (!String(error).includes('Failed to acquire')) throw error;
          refusals++;
          await sleep(20);
        }
      }
    }));
    assert.equal(maxInside, 1);
    assert.equal(order.length, 4);
    assert.ok(refusals > 0, 'contenders were refused while the lock was held');
  });

  test('election helper: one leader at a time, observers follow resignation', async () => {
    const election = client.election('the-election', 2);
    const a = election.campaign('alice');
    await new Promise<void>((resolve, reject) => { a.on('elected', () => resolve()); a.on('error', reject); });
    assert.equal(await election.leader(), 'alice');
    const b = election.campaign('bob');
    let bobElected = false;
    b.on('elected', () => { bobElected = true; });
    await sleep(500);
    assert.equal(bobElected, false);
    await a.resign();
    await cluster.waitFor('bob to lead', 10_000, async () => bobElected && (await election.leader()) === 'bob');
    await b.resign();
  });

  test('STM: concurrent increments of one counter are serializable', async () => {
    await client.put('counter').value('0');
    await Promise.all(Array.from({ length: 8 }, () => client.stm({ retries: 50 }).transact(async (tx) => {
      const value = Number(await tx.get('counter'));
      await tx.put('counter').value(String(value + 1));
    })));
    assert.equal(await client.get('counter').string(), '8');
  });
});

async function writeWithRetry(write: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await write();
      return;
    } catch (error) {
      if (attempt >= 50) throw error;
      await sleep(100);
    }
  }
}
