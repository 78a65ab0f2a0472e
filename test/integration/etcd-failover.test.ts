import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Etcd3, type IKeyValue } from 'etcd3';
import { TestCluster, sleep } from './cluster.js';

/**
 * Failover through the etcd API: continuous writes from several clients and several watchers
 * while the leader is killed with SIGKILL. Afterwards every acknowledged write is readable at its
 * revision, and every watcher saw every revision of the prefix exactly once, in order.
 */
describe('etcd API failover: kill -9 of the leader under writes and watches', { concurrency: false }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await TestCluster.create(3, { extraFlags: ['--heartbeat-interval=50', '--election-timeout=500'] });
    cluster.startAll();
    await cluster.waitForLeader(20_000);
  });
  after(async () => {
    await cluster?.destroy();
  });

  test('no acknowledged write lost, watchers see each revision exactly once', async () => {
    const hosts = cluster.members.map((m) => `http://127.0.0.1:${m.clientPort}`);
    const client = new Etcd3({ hosts, dialTimeout: 5_000 });
    const start = Number((await client.get('failover/none').exec()).header.revision) + 1;
    const watchers = await Promise.all([0, 1, 2].map(async (i) => {
      const c = new Etcd3({ hosts: [...hosts.slice(i), ...hosts.slice(0, i)], dialTimeout: 5_000 });
      const revisions: number[] = [];
      const w = await c.watch().prefix('failover/').startRevision(String(start)).create();
      w.on('put', (kv: IKeyValue) => revisions.push(Number(kv.mod_revision)));
      return { c, w, revisions };
    }));

    const acked: { key: string; value: string; revision: number }[] = [];
    let stop = false;
    const writers = [0, 1, 2, 3].map(async (w) => {
      for (let i = 0; !stop; i++) {
        const key = `failover/w${w}`;
        const value = `${w}-${i}`;
        try {
          const r = await client.put(key).value(value).exec();
          acked.push({ key, value, revision: Number(r.header.revision) });
        } catch {
          await sleep(50); // unknown outcome or unavailable: try the next write
        }
      }
    });
    await sleep(1_500);
    const leader = await cluster.waitForLeader(10_000);
    await cluster.kill(leader);
    const ackedBeforeKill = acked.length;
    await sleep(3_000);
    stop = true;
    await Promise.all(writers);
    assert.ok(acked.length > ackedBeforeKill, 'writes continued after the failover');
    cluster.start(leader);
    await cluster.waitForLeader(20_000);

    for (const a of acked) {
      const got = await client.get(a.key).revision(String(a.revision)).string();
      assert.equal(got, a.value, `acknowledged write ${a.key}=${a.value} at revision ${a.revision}`);
    }
    // The full history of the prefix, replayed from the store by a fresh watcher.
    const end = Number((await client.get('failover/none').exec()).header.revision);
    const history: number[] = [];
    const replay = await client.watch().prefix('failover/').startRevision(String(start)).create();
    replay.on('put', (kv: IKeyValue) => history.push(Number(kv.mod_revision)));
    await cluster.waitFor('the replay', 10_000, async () => history.length > 0 && history[history.length - 1]! >= lastWrite(acked, end));
    await replay.cancel();
    const ackedRevisions = new Set(acked.map((a) => a.revision));
    for (const r of ackedRevisions) assert.ok(history.includes(r), `acknowledged revision ${r} is in the history`);
    for (const { w, c, revisions } of watchers) {
      await cluster.waitFor('a watcher to catch up', 20_000, async () => revisions.length >= history.length);
      assert.deepEqual(revisions.slice(0, history.length), history, 'exactly once, in order');
      await w.cancel();
      c.close();
    }
    client.close();
    console.log(`# failover under load: ${acked.length} acknowledged writes, ${history.length} revisions watched by 3 watchers`);
  });
});

function lastWrite(acked: readonly { revision: number }[], fallback: number): number {
  let max = 0;
  for (const a of acked) max = Math.max(max, a.revision);
  return max || fallback;
}
