import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { GrpcEndpointClient, type ClientStream, type GrpcCallError } from '../../bench/etcd-api/grpc-h2-client.js';
import { METHODS } from '../../src/api/codec/index.js';
import { TestCluster } from './cluster.js';

/**
 * Lease keep-alive storm on a real 3-member cluster (real processes, TCP, fsync): many
 * LeaseKeepAlive streams on every member renew the same few leases concurrently and as fast as
 * they are answered, so keep-alives are coalesced into shared checkpoint commands and join
 * renewals in flight. A lease kept alive through the storm never expires (its key survives, no
 * answer says TTL 0) while a lease nobody renews still expires and takes its key with it.
 */

const KEEP_ALIVE = METHODS['/etcdserverpb.Lease/LeaseKeepAlive'];
const TIME_TO_LIVE = METHODS['/etcdserverpb.Lease/LeaseTimeToLive'];
const TTL_SECONDS = 3;
const KEPT_LEASES = 20;
const STREAMS_PER_MEMBER = 16;
const STORM_MS = 3 * TTL_SECONDS * 1000;

describe('lease keep-alive storm', { concurrency: false }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await TestCluster.create(3, { extraFlags: ['--heartbeat-interval=50', '--election-timeout=500'] });
    cluster.startAll();
    await cluster.waitForLeader(20_000);
  });
  after(async () => {
    await cluster?.destroy();
  });

  test('leases renewed by many concurrent streams never expire; an abandoned one does', async () => {
    const hosts = cluster.members.map((m) => `http://127.0.0.1:${m.clientPort}`);
    const etcd = new Etcd3({ hosts, dialTimeout: 5_000 });
    const grpcClients = await Promise.all(cluster.members.map((m) => GrpcEndpointClient.connect('127.0.0.1', m.clientPort, 2)));
    const streams: ClientStream[] = [];
    try {
      const kept: bigint[] = [];
      for (let i = 0; i < KEPT_LEASES; i++) {
        const lease = etcd.lease(TTL_SECONDS, { autoKeepAlive: false });
        kept.push(BigInt(await lease.grant()));
        await lease.put(`storm/kept/${i}`).value('x');
      }
      const abandoned = etcd.lease(TTL_SECONDS, { autoKeepAlive: false });
      const abandonedId = BigInt(await abandoned.grant());
      await abandoned.put('storm/abandoned').value('x');
      const leaderName = await cluster.waitForLeader(10_000);
      const indexBefore = (await cluster.status(leaderName)).lastIndex;

      // Every stream renews every kept lease in turn, starting at its own offset, one keep-alive in
      // flight: many keep-alives of the same lease arrive together on every member.
      const frames = kept.map((ID) => KEEP_ALIVE.request.encodeFrame({ ID }));
      const stopAtMs = Date.now() + STORM_MS;
      const answeredTtls = new Map<bigint, number>();
      let answered = 0;
      let expiredAnswers = 0;
      await Promise.all(grpcClients.flatMap((client, member) => Array.from({ length: STREAMS_PER_MEMBER }, (_, s) =>
        new Promise<void>((resolve, reject) => {
          let next = member * STREAMS_PER_MEMBER + s;
          const send = (): void => stream.write(frames[next++ % frames.length]!);
          const stream: ClientStream = client.stream(KEEP_ALIVE.path, {
            onMessage(bytes) {
              const response = KEEP_ALIVE.response.decode(bytes);
              answered++;
              if (response.TTL <= 0n) expiredAnswers++;
              answeredTtls.set(response.ID, Number(response.TTL));
              if (Date.now() < stopAtMs) send();
              else resolve();
            },
            onEnd(error: GrpcCallError | undefined) {
              reject(error ?? new Error('keep-alive stream ended by the server'));
            },
          });
          streams.push(stream);
          send();
        }))));
      for (const stream of streams.splice(0)) stream.cancel();

      assert.equal(expiredAnswers, 0, 'no keep-alive of a kept lease was answered "expired"');
      assert.deepEqual([...answeredTtls.keys()].sort(), [...kept].sort(), 'every kept lease was renewed');
      for (const ttl of answeredTtls.values()) assert.equal(ttl, TTL_SECONDS, 'answered with the granted TTL');
      for (let i = 0; i < KEPT_LEASES; i++) {
        assert.equal(await etcd.get(`storm/kept/${i}`).string(), 'x', `kept lease ${i} never expired: its key is there`);
      }
      const remaining = await Promise.all(kept.map(async (ID) =>
        TIME_TO_LIVE.response.decode(await grpcClients[0]!.unary(TIME_TO_LIVE.path, TIME_TO_LIVE.request.encodeFrame({ ID, keys: false }))).TTL));
      for (const ttl of remaining) assert.ok(ttl > 0n, `kept lease alive after the storm (TTL ${ttl})`);

      // The abandoned lease expired during the storm (3 TTLs) and its key went with it.
      assert.equal(await etcd.get('storm/abandoned').string(), null, 'the abandoned lease expired');
      const abandonedTtl = TIME_TO_LIVE.response.decode(await grpcClients[1]!.unary(TIME_TO_LIVE.path,
        TIME_TO_LIVE.request.encodeFrame({ ID: abandonedId, keys: false }))).TTL;
      assert.equal(abandonedTtl, -1n, 'the abandoned lease no longer exists');

      // Keep-alives share log entries: far fewer entries than keep-alives answered.
      const entries = (await cluster.status(await cluster.waitForLeader(10_000))).lastIndex - indexBefore;
      console.log(`${answered} keep-alives answered on ${3 * STREAMS_PER_MEMBER} streams in ${STORM_MS} ms; ${entries} log entries`);
      assert.ok(answered > KEPT_LEASES * 3, `the storm ran (${answered} keep-alives answered)`);
      assert.ok(entries * 2 < answered, `keep-alives were coalesced (${entries} entries for ${answered} keep-alives)`);
    } finally {
      for (const stream of streams) stream.cancel();
      for (const client of grpcClients) client.close();
      etcd.close();
    }
  });
});
