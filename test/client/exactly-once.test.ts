import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ClientErrorCode, compare, Concord, ConcordClientError, op, type Session } from '../../src/client/index.js';
import type { TestCluster } from '../integration/cluster.js';
import { CuttingProxy } from '../integration/cutting-proxy.js';
import { grpcCodeOf, UnaryCaller } from '../integration/sequencer-grpc.js';
import { endpointsOf, startCluster } from './helpers.js';

/**
 * Exactly-once writes through the public client's sessions (docs/client.md) on a real 3-member
 * cluster. A TCP proxy cuts the client's connection when a response starts coming back (after
 * the request was applied); a session resends the same request with the same seq and gets the
 * recorded answer. Without a session the same cuts surface as CONCORD_CLIENT_OUTCOME_UNKNOWN and
 * a naive retry leaves applied increments unacknowledged. Also: a kill -9 of the leader in the
 * middle of a session workload, and a retry after the session expired.
 */

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** casIncrement runs "if key == n then key = n + 1 else get key" through `txn` and says whether it incremented, and the value seen. */
async function casIncrement(txn: () => ReturnType<Concord['txn']>, key: string, n: number): Promise<{ incremented: boolean; value: number }> {
  const r = await txn().if(compare.value(key, '==', String(n))).then(op.put(key, String(n + 1))).else(op.get(key)).commit();
  if (r.succeeded) return { incremented: true, value: n + 1 };
  const got = r.results[0];
  const kv = got?.type === 'get' ? got.kvs[0] : undefined;
  assert.ok(kv, `${key} exists`);
  return { incremented: false, value: Number(kv.valueText) };
}

describe('client sessions: exactly-once writes', { concurrency: false }, () => {
  let cluster: TestCluster;
  let direct: Concord;

  before(async () => {
    cluster = await startCluster();
    direct = new Concord({ endpoints: endpointsOf(cluster), requestTimeoutMs: 20_000 });
  });
  after(async () => {
    direct?.close();
    await cluster?.destroy();
  });

  /** proxied starts a proxy to the leader's client port and a client whose only endpoint is the proxy. */
  async function proxied(cutEvery: number): Promise<{ proxy: CuttingProxy; client: Concord; close: () => Promise<void> }> {
    const leader = await cluster.waitForLeader(10_000);
    const proxy = new CuttingProxy(cluster.member(leader).clientPort, cutEvery);
    const port = await proxy.listen();
    const client = new Concord({ endpoints: [`127.0.0.1:${port}`], requestTimeoutMs: 20_000 });
    return { proxy, client, close: async () => { client.close(); await proxy.close(); } };
  }

  /** sumCounters reads the workers' counters back through a direct client. */
  async function sumCounters(keys: readonly string[]): Promise<number> {
    let sum = 0;
    for (const k of keys) sum += Number((await direct.get(k))?.valueText ?? 'NaN');
    return sum;
  }

  test('CAS increments on one session through a proxy cutting every 5th response: all answered, counter == acknowledged', async () => {
    const workers = 4;
    const requests = 25;
    const keys = Array.from({ length: workers }, (_, w) => `eo/cas/${w}`);
    for (const k of keys) await direct.put(k, '0');
    const { proxy, client, close } = await proxied(5);
    let session: Session | undefined;
    try {
      session = await client.session({ ttl: 30 });
      const s = session;
      let acked = 0;
      await Promise.all(keys.map(async (key) => {
        let value = 0;
        for (let i = 0; i < requests; i++) {
          const r = await casIncrement(() => s.txn(), key, value); // throws on any error: every call must be answered
          if (r.incremented) acked++;
          value = r.value;
        }
      }));
      const counter = await sumCounters(keys);
      const stats = s.stats;
      console.log(`# session CAS: ${workers}x${requests} calls, ${acked} acknowledged increments, counter ${counter}, ${proxy.cuts} cuts of ${proxy.responses} responses, ${stats.retries} retries, ${stats.recovered} writes recovered, ack ${s.ack}`);
      assert.ok(proxy.cuts >= 5, `the proxy cut connections (${proxy.cuts})`);
      assert.ok(stats.recovered >= 1, 'some writes were answered only after a retry');
      assert.equal(stats.unknown, 0);
      assert.equal(counter, acked, 'exactly once: counter == acknowledged increments');
      assert.equal(acked, workers * requests, 'no increment was lost to an unknown outcome: each CAS saw its own previous value');
      assert.equal(s.ack, stats.writes, 'every seq answered: the ack reached the last seq');
      await s.close();
      assert.ok(s.lost.aborted);
      await assert.rejects(s.put('eo/after-close', 'x'), (e: unknown) => e instanceof ConcordClientError && e.code === ClientErrorCode.Closed);
    } finally {
      await close();
    }
  });

  test('sequencer next on one session through the cutting proxy: the numbers handed out are exactly 1..N', async () => {
    const workers = 4;
    const requests = 25;
    const count = 3;
    const name = `eo-seq-${Date.now()}`;
    const { proxy, client, close } = await proxied(4);
    try {
      const session = await client.session({ ttl: 30 });
      const numbers: number[] = [];
      await Promise.all(Array.from({ length: workers }, async () => {
        for (let i = 0; i < requests; i++) {
          const block = await session.next(name, count);
          assert.equal(block.count, count);
          for (let n = block.first; n < block.first + block.count; n++) numbers.push(n);
        }
      }));
      const stats = session.stats;
      console.log(`# session sequencer: ${workers}x${requests} calls of ${count}, ${numbers.length} numbers, ${proxy.cuts} cuts, ${stats.retries} retries, ${stats.recovered} recovered`);
      numbers.sort((a, b) => a - b);
      assert.deepEqual(numbers, Array.from({ length: workers * requests * count }, (_, i) => i + 1),
        'unique and gapless: no call took a second block, every block was answered');
      assert.ok(proxy.cuts >= 5 && stats.recovered >= 1, `cuts ${proxy.cuts}, recovered ${stats.recovered}`);
      // The counter took nothing more: the next block starts right after.
      assert.equal((await session.next(name)).first, workers * requests * count + 1);
      await session.close();
    } finally {
      await close();
    }
  });

  test('a small window queues concurrent writes; read-only txns take no seq; a definite server error surfaces and is recorded', async () => {
    const { proxy, client, close } = await proxied(3);
    try {
      const session = await client.session({ ttl: 30, windowMax: 2 });
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => session.put(`eo/window/${i}`, String(i))));
      assert.equal(new Set(results.map((r) => r.revision)).size, 12, 'twelve distinct writes, one revision each');
      for (let i = 0; i < 12; i++) assert.equal((await direct.get(`eo/window/${i}`))?.version, 1, `eo/window/${i} written once`);
      assert.equal(session.stats.writes, 12);
      assert.equal(session.ack, 12);
      const read = await session.txn().if(compare.value('eo/window/0', '==', '0')).then(op.get('eo/window/1')).commit();
      assert.equal(read.succeeded, true);
      assert.equal(session.stats.writes, 12, 'a txn of gets is a read: no seq');
      // A put on a lease that does not exist: the server answers an error, which is not retried.
      await assert.rejects(session.put('eo/window/bad', 'x', { lease: 0x7ead0ead0eadn }),
        (e: unknown) => e instanceof ConcordClientError && e.code === ClientErrorCode.LeaseNotFound);
      assert.equal(session.stats.writes, 13);
      assert.equal(session.ack, 13);
      console.log(`# window 2: 13 writes, ${proxy.cuts} cuts, ${session.stats.retries} retries`);
      await session.close();
    } finally {
      await close();
    }
  });

  test('control, plain client without a session: cuts surface as OUTCOME_UNKNOWN and a naive retry leaves increments unacknowledged', async () => {
    const workers = 4;
    const requests = 25;
    const keys = Array.from({ length: workers }, (_, w) => `eo/control/${w}`);
    for (const k of keys) await direct.put(k, '0');
    const { proxy, client, close } = await proxied(5);
    try {
      let acked = 0;
      let unknown = 0;
      await Promise.all(keys.map(async (key) => {
        let value = 0;
        for (let i = 0; i < requests; i++) {
          for (;;) {
            try {
              const r = await casIncrement(() => client.txn(), key, value);
              if (r.incremented) acked++;
              value = r.value;
              break;
            } catch (error) {
              if (!(error instanceof ConcordClientError && error.code === ClientErrorCode.OutcomeUnknown)) throw error;
              unknown++; // the naive caller sends the same CAS again
            }
          }
        }
      }));
      const counter = await sumCounters(keys);
      console.log(`# no session (control): ${acked} acknowledged increments, counter ${counter}, ${unknown} outcome-unknown errors, ${proxy.cuts} cuts`);
      assert.ok(unknown >= 1, 'the client reported unknown outcomes');
      assert.ok(counter > acked, `applied increments whose answers were cut are not acknowledged (counter ${counter} > ${acked})`);
    } finally {
      await close();
    }
  });

  test('session expiry: the retry of a write whose answer was lost fails with SESSION_EXPIRED and never re-applies it', async () => {
    const leader = await cluster.waitForLeader(10_000);
    const { proxy, client, close } = await proxied(0);
    const admin = new UnaryCaller(`127.0.0.1:${cluster.member(leader).clientPort}`);
    try {
      const session = await client.session({ ttl: 2, requestTimeoutMs: 60_000 });
      await session.put('eo/expiry/warm', 'x'); // the session exists on the server
      proxy.cutEvery = 1; // from now on every answer is cut after the request was served
      const pending = session.put('eo/expiry/k', 'once').then(() => undefined, (e: unknown) => e);
      // Wait until the write was applied (its answer is cut, so the client keeps retrying).
      const appliedBy = Date.now() + 20_000;
      while ((await direct.get('eo/expiry/k')) === undefined) {
        assert.ok(Date.now() < appliedBy, 'the write reached the server');
        await sleep(50);
      }
      // Partition the client: keep-alives stop reaching the server and the lease expires there.
      proxy.refuse(true);
      const expiredBy = Date.now() + 30_000;
      for (;;) {
        const ttl = await admin.call('/etcdserverpb.Lease/LeaseTimeToLive', { ID: session.leaseId, keys: false });
        if (ttl.TTL < 0n) break;
        assert.ok(Date.now() < expiredBy, 'the session lease expired on the server');
        await sleep(200);
      }
      proxy.cutEvery = 0;
      proxy.refuse(false); // the next retry reaches the server, which has forgotten the session
      const error = await pending;
      assert.ok(error instanceof ConcordClientError, `the write failed (${String(error)})`);
      assert.equal(error.code, ClientErrorCode.SessionExpired, error.message);
      assert.match(error.message, /never twice/);
      const kv = await direct.get('eo/expiry/k');
      assert.equal(kv?.version, 1, 'applied once, not again by the retry');
      assert.ok(session.lost.aborted, 'the session reports it ended');
      await assert.rejects(session.put('eo/expiry/k', 'later'), (e: unknown) => e instanceof ConcordClientError && e.code === ClientErrorCode.SessionExpired);
      assert.equal((await direct.get('eo/expiry/k'))?.version, 1, 'a write on an expired session is not sent');
    } finally {
      admin.close();
      await close();
    }
  });

  test('kill -9 of the leader during a session workload: every write answered, none applied twice', async () => {
    const workers = 4;
    const requests = 30;
    const name = `eo-kill-${Date.now()}`;
    const keys = Array.from({ length: workers }, (_, w) => `eo/kill/${w}`);
    for (const k of keys) await direct.put(k, '0');
    const client = new Concord({ endpoints: endpointsOf(cluster), requestTimeoutMs: 30_000 });
    const leader = await cluster.waitForLeader(10_000);
    try {
      const session = await client.session({ ttl: 30 });
      const numbers: number[] = [];
      let acked = 0;
      let done = 0;
      const killed = (async () => {
        while (done < (workers * requests) / 3) await sleep(20);
        await cluster.kill(leader);
      })();
      await Promise.all(keys.map(async (key) => {
        let value = 0;
        for (let i = 0; i < requests; i++) {
          const r = await casIncrement(() => session.txn(), key, value);
          if (r.incremented) acked++;
          value = r.value;
          const block = await session.next(name);
          numbers.push(block.first);
          done++;
        }
      }));
      await killed;
      const counter = await sumCounters(keys);
      const stats = session.stats;
      console.log(`# kill -9 of ${leader}: ${stats.writes} session writes, ${acked} acknowledged increments, counter ${counter}, ${numbers.length} sequencer numbers, ${stats.retries} retries, ${stats.recovered} recovered`);
      assert.equal(counter, acked);
      assert.equal(acked, workers * requests, 'every increment acknowledged once');
      numbers.sort((a, b) => a - b);
      assert.deepEqual(numbers, Array.from({ length: workers * requests }, (_, i) => i + 1), 'sequencer: unique and gapless');
      assert.ok(stats.retries >= 1, 'writes in flight at the kill were retried');
      await session.close();
    } catch (error) {
      console.log(`# grpc ${String(grpcCodeOf(error))}: ${cluster.members.map((m) => `${m.name} running=${cluster.isRunning(m.name)}`).join(', ')}`);
      throw error;
    } finally {
      client.close();
      if (!cluster.isRunning(leader)) cluster.start(leader);
    }
  });
});
