import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { etcdserverpb } from '../../src/api/codec/index.js';
import { TestCluster } from './cluster.js';
import { CuttingProxy } from './cutting-proxy.js';
import { blank, grantLease, grpcCodeOf, retrying, sessionMetadata, sleep, UnaryCaller } from './sequencer-grpc.js';

/**
 * Exactly-once retries (docs/sessions.md) against a real 3-member cluster, through a TCP proxy
 * that cuts the connection when the response to every Nth request starts coming back — after
 * the request reached the server and was applied — so the client cannot know the outcome and
 * retries. With session metadata the retry (same seq) is answered from the state machine's
 * record: the counter equals the acknowledged increments. Without it the same workload
 * over-counts (the control run), which shows the proxy really cuts after the apply.
 */

const KEY = new TextEncoder().encode('sessions/counter');
const text = (n: number): Uint8Array => new TextEncoder().encode(String(n));

/** casTxn is "if counter == n then counter = n + 1 else read counter". */
function casTxn(n: number): etcdserverpb.TxnRequest {
  const compare: etcdserverpb.Compare = { ...blank('etcdserverpb.Compare'), key: KEY, target: 3 /* VALUE */, result: 0, targetUnion: { $case: 'value', value: text(n) } };
  const put: etcdserverpb.PutRequest = { ...blank('etcdserverpb.PutRequest'), key: KEY, value: text(n + 1) };
  const range: etcdserverpb.RangeRequest = { ...blank('etcdserverpb.RangeRequest'), key: KEY };
  return {
    compare: [compare],
    success: [{ request: { $case: 'requestPut', value: put } }],
    failure: [{ request: { $case: 'requestRange', value: range } }],
  };
}

function valueOf(r: etcdserverpb.RangeResponse | undefined): number {
  const kv = r?.kvs[0];
  assert.ok(kv !== undefined, 'the counter exists');
  return Number(new TextDecoder().decode(kv.value));
}

interface RunResult {
  readonly acked: number;
  readonly retries: number;
  readonly final: number;
}

describe('exactly-once retries through a connection-cutting proxy', { concurrency: false }, () => {
  let cluster: TestCluster;
  let hosts: string[];

  before(async () => {
    cluster = await TestCluster.create(3, { extraFlags: ['--heartbeat-interval=50', '--election-timeout=500'] });
    cluster.startAll();
    await cluster.waitForLeader(20_000);
    hosts = cluster.members.map((m) => `127.0.0.1:${m.clientPort}`);
  });
  after(async () => {
    await cluster?.destroy();
  });

  /**
   * run has `workers` clients each send `requests` CAS increments (each retried until it gets a
   * response) through a proxy cutting every `cutEvery`th response.
   */
  async function run(sessioned: boolean, workers: number, requests: number, cutEvery: number): Promise<RunResult & { cuts: number }> {
    const leader = await cluster.waitForLeader(10_000);
    await retrying(hosts, 30_000, (c) => c.call('/etcdserverpb.KV/Put', { ...blank('etcdserverpb.PutRequest'), key: KEY, value: text(0) }));
    const lease = await retrying(hosts, 30_000, (c) => grantLease(c, 600));
    const proxy = new CuttingProxy(cluster.member(leader).clientPort, cutEvery);
    const port = await proxy.listen();
    let acked = 0;
    let retries = 0;
    const worker = async (w: number): Promise<void> => {
      const caller = new UnaryCaller(`127.0.0.1:${port}`);
      const clientId = `sessions-it-${w}-${randomUUID()}`;
      try {
        let value = 0;
        let seq = 0;
        for (; seq < requests;) {
          seq++;
          const request = casTxn(value);
          let response: etcdserverpb.TxnResponse | undefined;
          for (let attempt = 0; response === undefined; attempt++) {
            try {
              response = await caller.call('/etcdserverpb.KV/Txn', request, sessioned ? sessionMetadata(clientId, lease, seq, seq - 1) : {}, 10_000);
            } catch (error) {
              const code = grpcCodeOf(error);
              if (!((code === 14 || code === 4 || code === 1) && attempt < 100)) {
                console.log(cluster.members.map((m) => `${m.name} running=${cluster.isRunning(m.name)}: ${(cluster.output.get(m.name) ?? []).slice(-5).join(' | ')}`).join('\n'));
                assert.fail(`retryable failure expected, got ${String(error)} (attempt ${attempt})`);
              }
              retries++;
              await sleep(10);
            }
          }
          if (response.succeeded) {
            acked++;
            value++;
          } else {
            const op = response.responses[0]?.response;
            value = valueOf(op?.$case === 'responseRange' ? op.value : undefined);
          }
        }
      } finally {
        caller.close();
      }
    };
    await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
    await proxy.close();
    const read = await retrying(hosts, 30_000, (c) => c.call('/etcdserverpb.KV/Range', { ...blank('etcdserverpb.RangeRequest'), key: KEY }));
    return { acked, retries, final: valueOf(read), cuts: proxy.cuts };
  }

  test('with sessions: the counter equals the acknowledged increments despite cut connections', async () => {
    const r = await run(true, 3, 40, 5);
    console.log(`# sessions: ${r.acked} acknowledged increments, counter ${r.final}, ${r.cuts} connections cut after the request was served, ${r.retries} retries`);
    assert.ok(r.cuts >= 5, `the proxy cut connections (${r.cuts})`);
    assert.equal(r.final, r.acked, 'exactly once: counter == acknowledged increments');
  });

  test('control, without sessions: the same workload over-counts (retries of applied requests)', async () => {
    const r = await run(false, 3, 40, 5);
    console.log(`# no sessions (control): ${r.acked} acknowledged increments, counter ${r.final}, ${r.cuts} cuts, ${r.retries} retries`);
    assert.ok(r.cuts >= 5);
    assert.ok(r.final > r.acked, `without sessions the counter (${r.final}) exceeds the acknowledged increments (${r.acked})`);
  });

  test('session errors: seq at or below ack, unknown lease, revoked lease; the gateway takes the same headers', async () => {
    const leader = await cluster.waitForLeader(10_000);
    const caller = new UnaryCaller(`127.0.0.1:${cluster.member(leader).clientPort}`);
    try {
      const lease = await grantLease(caller, 600);
      const id = `sessions-it-errors-${randomUUID()}`;
      const put = (seq: number, ack: number, leaseId = lease): Promise<etcdserverpb.PutResponse> =>
        caller.call('/etcdserverpb.KV/Put', { ...blank('etcdserverpb.PutRequest'), key: text(seq), value: text(seq) }, sessionMetadata(id, leaseId, seq, ack));
      const first = await put(1, 0);
      const again = await put(1, 0);
      assert.equal(again.header?.revision, first.header?.revision, 'a retry is answered with the same revision');
      await put(2, 1);
      await assert.rejects(put(1, 1), (e: unknown) => grpcCodeOf(e) === 3, 'ack >= seq is INVALID_ARGUMENT');
      await assert.rejects(put(1, 0), (e: unknown) => grpcCodeOf(e) === 9 && /session seq/.test(String(e)), 'below the acknowledged window: FAILED_PRECONDITION');
      await assert.rejects(
        caller.call('/etcdserverpb.KV/Put', { ...blank('etcdserverpb.PutRequest'), key: text(9) }, sessionMetadata(`${id}-x`, 123456789n, 1, 0)),
        (e: unknown) => grpcCodeOf(e) === 5 && /session lease not found/.test(String(e)),
      );
      await assert.rejects(
        caller.call('/etcdserverpb.KV/Put', { ...blank('etcdserverpb.PutRequest'), key: text(9) }, { 'x-concord-seq': '1' }),
        (e: unknown) => grpcCodeOf(e) === 3,
      );
      // The JSON gateway: same headers, same record.
      const res = await fetch(cluster.url(leader, '/v3/kv/put'), {
        method: 'POST',
        headers: sessionMetadata(id, lease, 2, 1),
        body: JSON.stringify({ key: Buffer.from('gw').toString('base64'), value: 'eA==' }),
      });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { header: { revision: string } }).header.revision, String((await put(2, 1)).header?.revision));
      await caller.call('/etcdserverpb.Lease/LeaseRevoke', { ID: lease });
      await assert.rejects(put(3, 2), (e: unknown) => grpcCodeOf(e) === 5, 'the session ended with its lease');
    } finally {
      caller.close();
    }
  });
});
