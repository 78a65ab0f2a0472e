import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { METHODS, type MethodPath } from '../../src/api/codec/index.js';
import { TestCluster, sleep } from './cluster.js';

/**
 * A client whose connection drops while its calls are still being handled must not hurt the
 * member: the answers are dropped with the connection and the member keeps serving.
 */
describe('clients that disconnect mid-call', { concurrency: false }, () => {
  let cluster: TestCluster;
  let url: string;
  before(async () => {
    cluster = await TestCluster.create(1, { extraFlags: ['--heartbeat-interval=50', '--election-timeout=500'] });
    cluster.startAll();
    await cluster.waitForLeader(20_000);
    url = `http://127.0.0.1:${cluster.members[0]!.clientPort}`;
  });
  after(async () => {
    await cluster?.destroy();
  });

  function call<P extends MethodPath>(session: http2.ClientHttp2Session, path: P, request: unknown): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve(Buffer.concat(chunks)));
      stream.on('error', reject);
      const full = { ...(METHODS[path].request.create() as object), ...(request as object) };
      stream.end(Buffer.from(METHODS[path].request.encodeFrame(full as never)));
    });
  }

  test('a waiting Lock whose client vanished is answered into the void; the member survives', async () => {
    const owner = http2.connect(url);
    const grant = METHODS['/etcdserverpb.Lease/LeaseGrant'].response.decode(
      (await call(owner, '/etcdserverpb.Lease/LeaseGrant', { TTL: 30n, ID: 0n })).subarray(5));
    const grant2 = METHODS['/etcdserverpb.Lease/LeaseGrant'].response.decode(
      (await call(owner, '/etcdserverpb.Lease/LeaseGrant', { TTL: 30n, ID: 0n })).subarray(5));
    const name = new TextEncoder().encode('vanishing-lock');
    const held = METHODS['/v3lockpb.Lock/Lock'].response.decode(
      (await call(owner, '/v3lockpb.Lock/Lock', { name, lease: grant.ID })).subarray(5));
    // A second client queues behind the holder on its own connection, with more calls pending.
    const waiter = http2.connect(url);
    const pending = [
      call(waiter, '/v3lockpb.Lock/Lock', { name, lease: grant2.ID }),
      call(waiter, '/v3lockpb.Lock/Lock', { name, lease: grant2.ID }),
    ];
    for (const p of pending) p.catch(() => {});
    await sleep(300);
    waiter.destroy();
    // The holder releases: the waiters' turn comes while their connection is gone.
    await call(owner, '/v3lockpb.Lock/Unlock', { key: held.key });
    await sleep(500);
    const health = await fetch(`${url}/health`);
    assert.equal(health.status, 200, 'the member still serves');
    const range = await call(owner, '/etcdserverpb.KV/Range', { key: new TextEncoder().encode('anything') });
    assert.ok(range.byteLength > 0);
    assert.equal(cluster.isRunning('m1'), true);
    owner.close();
  });

  test('a long Lock wait that wakes on many unrelated writes keeps one abort listener (no leak, no warning)', async () => {
    const owner = http2.connect(url);
    const lease = async (): Promise<bigint> => METHODS['/etcdserverpb.Lease/LeaseGrant'].response.decode(
      (await call(owner, '/etcdserverpb.Lease/LeaseGrant', { TTL: 30n, ID: 0n })).subarray(5)).ID;
    const name = new TextEncoder().encode('busy-lock');
    const held = METHODS['/v3lockpb.Lock/Lock'].response.decode(
      (await call(owner, '/v3lockpb.Lock/Lock', { name, lease: await lease() })).subarray(5));
    const waiting = call(owner, '/v3lockpb.Lock/Lock', { name, lease: await lease() });
    await sleep(200);
    // Every applied write wakes the waiter to re-check its turn.
    for (let i = 0; i < 40; i++) await call(owner, '/etcdserverpb.KV/Put', { key: new TextEncoder().encode(`noise/${i}`), value: new Uint8Array([1]) });
    await call(owner, '/v3lockpb.Lock/Unlock', { key: held.key });
    const got = METHODS['/v3lockpb.Lock/Lock'].response.decode((await waiting).subarray(5));
    assert.ok(got.key.byteLength > 0, 'the waiter got the lock');
    const warnings = (cluster.output.get('m1') ?? []).filter((l) => l.includes('MaxListenersExceededWarning'));
    assert.deepEqual(warnings, [], 'no listener piled up on the call\'s signal');
    owner.close();
  });

  test('a connection cut with many writes in flight: the writes apply, the member survives', async () => {
    for (let round = 0; round < 5; round++) {
      const session = http2.connect(url);
      await new Promise((resolve) => session.once('connect', resolve));
      const calls = Array.from({ length: 200 }, (_, i) =>
        call(session, '/etcdserverpb.KV/Put', { key: new TextEncoder().encode(`cut/${round}/${i}`), value: new Uint8Array([1]) }));
      for (const c of calls) c.catch(() => {});
      await sleep(round * 3);
      session.destroy();
    }
    await sleep(1_000);
    assert.equal(cluster.isRunning('m1'), true, 'the member did not crash');
    assert.equal((await fetch(`${url}/health`)).status, 200);
  });
});
