import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ClientErrorCode, compare, Concord, ConcordClientError, op, WatchCompactedError, type WatchEvent } from '../../src/client/index.js';
import type { TestCluster } from '../integration/cluster.js';
import { endpointsOf, percentile, startCluster } from './helpers.js';

/**
 * The client against a real 3-member cluster: KV and transactions, the four read consistencies,
 * watch compaction, uniqueness claims, STM, and lock latency (printed, not asserted).
 */
describe('client: KV, txn, consistency, watch compaction, claims, STM', { concurrency: false }, () => {
  let cluster: TestCluster;
  let client: Concord;
  before(async () => {
    cluster = await startCluster();
    client = new Concord({ endpoints: endpointsOf(cluster) });
  });
  after(async () => {
    client?.close();
    await cluster?.destroy();
  });

  test('put, get, getRange, delete; bytes and strings', async () => {
    const p = await client.put('crud/a', 'one');
    assert.ok(p.revision > 0);
    await client.put('crud/b', new Uint8Array([0xff, 0x00, 0x01]));
    const prev = await client.put('crud/a', 'two', { prevKv: true });
    assert.equal(prev.prevKv?.valueText, 'one');
    const a = await client.get('crud/a');
    assert.equal(a?.valueText, 'two');
    assert.equal(a?.version, 2);
    assert.equal(a?.createRevision, p.revision);
    assert.deepEqual([...(await client.get('crud/b'))!.value], [0xff, 0x00, 0x01]);
    assert.equal(await client.get('crud/missing'), undefined);
    const range = await client.getRange('crud/');
    assert.deepEqual(range.kvs.map((kv) => kv.keyText), ['crud/a', 'crud/b']);
    const old = await client.get('crud/a', { revision: p.revision });
    assert.equal(old?.valueText, 'one');
    const between = await client.getRange({ start: 'crud/a', end: 'crud/b' });
    assert.equal(between.kvs.length, 1);
    const d = await client.delete('crud/a');
    assert.equal(d.deleted, 1);
    const dp = await client.delete({ prefix: 'crud/' }, { prevKv: true });
    assert.equal(dp.deleted, 1);
    assert.equal(dp.prevKvs[0]?.keyText, 'crud/b');
    assert.equal((await client.getRange('crud/')).kvs.length, 0);
  });

  test('txn builder: compares on value, version, revisions, lease; both branches', async () => {
    const p = await client.put('txn/k', 'v1');
    const ok = await client.txn()
      .if(compare.value('txn/k', '==', 'v1'), compare.version('txn/k', '==', 1), compare.createRevision('txn/k', '==', p.revision),
        compare.modRevision('txn/k', '==', p.revision), compare.lease('txn/k', '==', 0n))
      .then(op.put('txn/k', 'v2'), op.get('txn/k'))
      .else(op.get('txn/k'))
      .commit();
    assert.equal(ok.succeeded, true);
    const got = ok.results[1];
    assert.equal(got?.type === 'get' ? got.kvs[0]?.valueText : undefined, 'v2');
    const no = await client.txn().if(compare.value('txn/k', '==', 'v1')).then(op.put('txn/k', 'v3')).else(op.get('txn/k')).commit();
    assert.equal(no.succeeded, false);
    const first = no.results[0];
    assert.equal(first?.type === 'get' ? first.kvs[0]?.valueText : undefined, 'v2');
    const absent = await client.txn().if(compare.absent('txn/none')).then(op.put('txn/none', 'x')).commit();
    assert.equal(absent.succeeded, true);
    const nested = await client.txn().then(op.txn([compare.value('txn/none', '!=', 'x')], [op.delete('txn/none')], [op.delete({ prefix: 'txn/' })])).commit();
    const inner = nested.results[0];
    assert.equal(inner?.type === 'txn' ? inner.result.succeeded : undefined, false);
    assert.equal((await client.getRange('txn/')).kvs.length, 0);
  });

  test('all four read consistencies read an acknowledged write', async () => {
    for (const consistency of ['linearizable', 'serializable', 'log', 'lease'] as const) {
      const w = await client.put(`consistency/${consistency}`, consistency);
      const r = await client.get(`consistency/${consistency}`, { consistency });
      if (consistency === 'serializable') {
        // A follower may lag; it catches up within moments and never goes back.
        let kv = r;
        for (let i = 0; i < 50 && kv?.modRevision !== w.revision; i++) kv = await client.get(`consistency/${consistency}`, { consistency });
        assert.equal(kv?.valueText, consistency);
      } else {
        assert.equal(r?.valueText, consistency, consistency);
        assert.equal(r?.modRevision, w.revision);
      }
    }
    await assert.rejects(client.get('x', { consistency: 'bogus' as 'log' }), (e: unknown) => e instanceof ConcordClientError && e.code === ClientErrorCode.InvalidArgument);
  });

  test('watch delivers puts and deletes; a compacted start throws WatchCompactedError', async () => {
    const start = (await client.put('w/a', '1')).revision;
    await client.put('w/b', '2');
    await client.delete('w/a');
    const seen: WatchEvent[] = [];
    for await (const ev of client.watch('w/', { fromRevision: start })) {
      seen.push(ev);
      if (seen.length === 3) break;
    }
    assert.deepEqual(seen.map((e) => `${e.type} ${e.key} ${e.revision - start}`), ['put w/a 0', 'put w/b 1', 'delete w/a 2']);

    const last = (await client.put('w/c', '3')).revision;
    await client.compact(last);
    // A watch is served from the state of the member it lands on (as in etcd): wait until every
    // member has applied the compaction.
    const target = Math.max(...(await Promise.all(cluster.members.map((m) => cluster.status(m.name)))).map((s) => s.applied));
    await cluster.waitFor('every member to apply the compaction', 10_000, async () =>
      (await Promise.all(cluster.members.map((m) => cluster.status(m.name)))).every((s) => s.applied >= target));
    await assert.rejects(async () => {
      for await (const ev of client.watch('w/', { fromRevision: start })) void ev;
    }, (e: unknown) => e instanceof WatchCompactedError && e.compactRevision === last && e.code === ClientErrorCode.WatchCompacted);
    await assert.rejects(client.get('w/b', { revision: start }), (e: unknown) => e instanceof ConcordClientError && e.code === ClientErrorCode.Compacted);
  });

  test('claimUnique: 20 concurrent claims, exactly one winner, others told who', async () => {
    const clients = Array.from({ length: 20 }, () => new Concord({ endpoints: endpointsOf(cluster) }));
    try {
      const results = await Promise.all(clients.map((c, i) => c.claimUnique('usernames', 'alice', `user-${i}`)));
      const winners = results.map((r, i) => ({ r, i })).filter(({ r }) => r.claimed);
      assert.equal(winners.length, 1);
      const winner = `user-${winners[0]!.i}`;
      for (const r of results) if (!r.claimed) assert.equal(r.takenBy, winner);
      // The winner claiming again is answered "claimed" (retry-safe); anyone else still loses.
      assert.equal((await client.claimUnique('usernames', 'alice', winner)).claimed, true);
      const late = await client.claimUnique('usernames', 'alice', 'late');
      assert.equal(late.claimed, false);
      assert.equal(late.claimed ? undefined : late.takenBy, winner);
    } finally {
      for (const c of clients) c.close();
    }
  });

  test('STM: concurrent transfers keep the total constant', async () => {
    const accounts = 5;
    for (let i = 0; i < accounts; i++) await client.put(`bank/${i}`, '100');
    const workers = Array.from({ length: 4 }, () => new Concord({ endpoints: endpointsOf(cluster) }));
    let conflicts = 0;
    try {
      await Promise.all(workers.map(async (w, wi) => {
        for (let n = 0; n < 15; n++) {
          const from = (wi + n) % accounts;
          const to = (wi + n * 3 + 1) % accounts;
          if (from === to) continue;
          const r = await w.stm(async (tx) => {
            const a = Number(await tx.get(`bank/${from}`));
            const b = Number(await tx.get(`bank/${to}`));
            const amount = Math.min(a, 7);
            tx.put(`bank/${from}`, String(a - amount));
            tx.put(`bank/${to}`, String(b + amount));
          }, { retries: 50 });
          conflicts += r.attempts - 1;
        }
      }));
    } finally {
      for (const w of workers) w.close();
    }
    const total = (await client.getRange('bank/')).kvs.reduce((s, kv) => s + Number(kv.valueText), 0);
    assert.equal(total, 100 * accounts);
    console.log(`STM: 60 transfers, ${conflicts} conflict retries`);
  });

  test('lock: acquire/release latency (printed), tokens strictly increase', async () => {
    const acquireMs: number[] = [];
    const releaseMs: number[] = [];
    let lastToken = 0;
    for (let i = 0; i < 40; i++) {
      const t0 = performance.now();
      const lock = await client.lock('bench-lock', { ttl: 5 });
      const t1 = performance.now();
      assert.ok(lock.token > lastToken);
      lastToken = lock.token;
      await lock.release();
      const t2 = performance.now();
      acquireMs.push(t1 - t0);
      releaseMs.push(t2 - t1);
    }
    const f = (x: number) => x.toFixed(1);
    console.log(`lock latency (uncontended, 3 members, ${acquireMs.length} rounds): acquire p50 ${f(percentile(acquireMs, 50))} ms p99 ${f(percentile(acquireMs, 99))} ms; release p50 ${f(percentile(releaseMs, 50))} ms p99 ${f(percentile(releaseMs, 99))} ms`);
  });
});
