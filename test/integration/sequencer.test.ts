import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { TestCluster } from './cluster.js';
import { grantLease, grpcCodeOf, retrying, sessionMetadata, sleep, UnaryCaller } from './sequencer-grpc.js';

/**
 * concord.v1.Sequencer against a real 3-member cluster (real processes, TCP, fsync):
 * throughput with 1 and 16 clients, then 10 clients taking 10k numbers while the leader is
 * killed with SIGKILL. Acknowledged numbers must be unique, and every number up to the counter's
 * final value must be accounted for: acknowledged, or taken by a call whose outcome its client
 * never learned (at most one number per such call, since count = 1).
 */
describe('sequencer on a real cluster', { concurrency: false }, () => {
  let cluster: TestCluster;
  const targets = (): string[] => cluster.members.map((m) => `127.0.0.1:${m.clientPort}`);

  before(async () => {
    cluster = await TestCluster.create(3, { extraFlags: ['--heartbeat-interval=50', '--election-timeout=500'] });
    cluster.startAll();
    await cluster.waitForLeader(20_000);
  });
  after(async () => {
    await cluster?.destroy();
  });

  test('Next over gRPC and the JSON gateway; bad requests are refused', async () => {
    const leader = await cluster.waitForLeader(10_000);
    const caller = new UnaryCaller(`127.0.0.1:${cluster.member(leader).clientPort}`);
    try {
      const a = await caller.call('/concord.v1.Sequencer/Next', { name: 'smoke', count: 0 });
      assert.equal(a.first, 1n);
      assert.equal(a.count, 1);
      assert.ok(a.header !== undefined && a.header.memberId !== 0n && a.header.raftTerm > 0n);
      const b = await caller.call('/concord.v1.Sequencer/Next', { name: 'smoke', count: 10 });
      assert.deepEqual([b.first, b.count], [2n, 10]);
      const res = await fetch(cluster.url(leader, '/v3/concord/sequencer/next'), { method: 'POST', body: JSON.stringify({ name: 'smoke', count: 5 }) });
      assert.equal(res.status, 200);
      const json = (await res.json()) as { header: { revision: string }; first: string; count: number };
      assert.deepEqual([json.first, json.count], ['12', 5], 'uint64 as a JSON string, uint32 as a number');
      await assert.rejects(caller.call('/concord.v1.Sequencer/Next', { name: '', count: 1 }), (e: unknown) => grpcCodeOf(e) === 3);
      await assert.rejects(caller.call('/concord.v1.Sequencer/Next', { name: 'x', count: 10_001 }), (e: unknown) => grpcCodeOf(e) === 3);
    } finally {
      caller.close();
    }
  });

  test('throughput: numbers/s with 1 and 16 clients, count 1 and 100', async () => {
    const leader = await cluster.waitForLeader(10_000);
    const target = `127.0.0.1:${cluster.member(leader).clientPort}`;
    const lines: string[] = [];
    for (const clients of [1, 16]) {
      for (const count of [1, 100]) {
        const callers = Array.from({ length: clients }, () => new UnaryCaller(target));
        const name = `bench-${clients}-${count}`;
        await Promise.all(callers.map((c) => c.call('/concord.v1.Sequencer/Next', { name, count }))); // connect + warm up
        const durationMs = 2_000;
        const start = performance.now();
        let calls = 0;
        await Promise.all(callers.map(async (c) => {
          while (performance.now() - start < durationMs) {
            await c.call('/concord.v1.Sequencer/Next', { name, count }, {}, 30_000);
            calls++;
          }
        }));
        const seconds = (performance.now() - start) / 1000;
        for (const c of callers) c.close();
        const line = `clients=${clients} count=${count}: ${Math.round((calls * count) / seconds)} numbers/s (${Math.round(calls / seconds)} calls/s)`;
        lines.push(line);
        console.log(`# sequencer throughput ${line}`);
        assert.ok(calls > 0);
      }
    }
  });

  test('10 clients, 10k numbers, kill -9 of the leader in the middle: unique, and gapless but for unknown outcomes', async () => {
    const name = 'failover';
    const total = 10_000;
    const workers = 10;
    const perWorker = total / workers;
    const hosts = targets();
    const lease = await retrying(hosts, 30_000, (c) => grantLease(c, 600));

    const acked: number[] = [];
    let unknownOutcomes = 0; // plain calls that failed: each may or may not have taken a number
    let sessionRetries = 0;
    let killed: string | undefined;
    const run = async (w: number): Promise<void> => {
      const callers = hosts.map((h) => new UnaryCaller(h));
      // Half the clients use an exactly-once session and retry a failed call with the same seq;
      // the others are plain etcd-style clients that give a failed call up.
      const sessioned = w < workers / 2;
      const clientId = `seq-it-${w}-${randomUUID()}`;
      let at = w % hosts.length;
      try {
        for (let seq = 1; seq <= perWorker; seq++) {
          for (let attempt = 0; ; attempt++) {
            const metadata = sessioned ? sessionMetadata(clientId, lease, seq, seq - 1) : {};
            try {
              const r = await callers[at]!.call('/concord.v1.Sequencer/Next', { name, count: 1 }, metadata, 3_000);
              acked.push(Number(r.first));
              break;
            } catch (error) {
              const code = grpcCodeOf(error);
              assert.ok(code === 14 || code === 4 || code === 1, `retryable failure, got ${String(error)}`);
              at = (at + 1) % hosts.length;
              if (!sessioned || attempt >= 200) {
                unknownOutcomes++;
                break;
              }
              sessionRetries++;
              await sleep(20);
            }
          }
        }
      } finally {
        for (const c of callers) c.close();
      }
    };
    const killer = (async () => {
      while (acked.length < total / 2) await sleep(10);
      killed = await cluster.waitForLeader(10_000);
      await cluster.kill(killed);
    })();
    const started = performance.now();
    await Promise.all([...Array.from({ length: workers }, (_, w) => run(w)), killer]);
    const seconds = (performance.now() - started) / 1000;
    assert.ok(killed !== undefined);
    cluster.start(killed);
    await cluster.waitForLeader(20_000);

    // The final value: one more Next, exactly-once (a session) so that its retries take one number.
    const probe = sessionMetadata(`seq-it-probe-${randomUUID()}`, lease, 1, 0);
    const final = Number((await retrying(hosts, 30_000, (c) => c.call('/concord.v1.Sequencer/Next', { name, count: 1 }, probe))).first) - 1;

    const unique = new Set(acked);
    assert.equal(unique.size, acked.length, 'acknowledged numbers are unique');
    const max = Math.max(...acked);
    assert.ok(max <= final, `acknowledged numbers (max ${max}) <= the counter's final value ${final}`);
    // Every number in 1..final was taken by exactly one applied command; those not acknowledged
    // were taken by calls whose outcome was unknown to their client (count 1 each).
    const missing = final - acked.length;
    assert.ok(missing >= 0 && missing <= unknownOutcomes, `${missing} numbers unacknowledged, ${unknownOutcomes} unknown outcomes`);
    assert.ok(acked.length + unknownOutcomes === total, 'every call was acknowledged or given up');
    for (const n of acked) assert.ok(Number.isSafeInteger(n) && n >= 1);
    console.log(`# sequencer failover: ${acked.length} acknowledged of ${total} in ${seconds.toFixed(1)} s, counter ${final}, ` +
      `${missing} taken by calls with unknown outcome (${unknownOutcomes} given up), ${sessionRetries} session retries, leader ${killed} killed`);
  });
});
