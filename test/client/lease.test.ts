import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ClientErrorCode, Concord } from '../../src/client/index.js';
import { sleep, type TestCluster } from '../integration/cluster.js';
import { endpointsOf, startCluster } from './helpers.js';

/** Leases: keep-alive keeps keys beyond the TTL; `lost` fires when the cluster is gone long enough. */
describe('client leases', { concurrency: false }, () => {
  let cluster: TestCluster;
  before(async () => { cluster = await startCluster(); });
  after(async () => { await cluster?.destroy(); });

  test('keep-alive keeps a key past its TTL; without keep-alive it expires; revoke deletes', async () => {
    const client = new Concord({ endpoints: endpointsOf(cluster) });
    try {
      const kept = await client.lease(2);
      const dropped = await client.lease(2, { keepAlive: false });
      await client.put('lease/kept', 'x', { lease: kept.id });
      await client.put('lease/dropped', 'x', { lease: dropped.id });
      await sleep(2 * kept.ttlSeconds * 1000 + 1_000);
      assert.equal((await client.get('lease/kept'))?.valueText, 'x');
      assert.equal(await client.get('lease/dropped'), undefined);
      assert.equal(kept.lost.aborted, false);
      const ttl = await kept.timeToLive();
      assert.ok(ttl.ttlSeconds > 0 && ttl.keys.length === 1);
      await kept.revoke();
      assert.equal(kept.lost.aborted, true);
      assert.equal(await client.get('lease/kept'), undefined);
    } finally {
      client.close();
    }
  });

  test('lost fires when every member is down for longer than the TTL', async () => {
    const client = new Concord({ endpoints: endpointsOf(cluster) });
    try {
      const lease = await client.lease(2);
      await sleep(1_000);
      assert.equal(lease.lost.aborted, false);
      const t0 = Date.now();
      await Promise.all(cluster.members.map((m) => cluster.kill(m.name)));
      const reason = await lease.whenLost();
      const afterMs = Date.now() - t0;
      assert.equal(reason.code, ClientErrorCode.LeaseLost);
      assert.ok(afterMs <= lease.ttlSeconds * 1000 + 500, `lost within the TTL of the last renewal (${afterMs} ms)`);
      console.log(`lease lost ${afterMs} ms after the cluster stopped (TTL ${lease.ttlSeconds} s): ${reason.message}`);
    } finally {
      client.close();
    }
  });
});
