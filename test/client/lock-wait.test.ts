import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Concord, ConcordClientError, type LockHandle } from '../../src/client/index.js';
import type { TestCluster } from '../integration/cluster.js';
import { endpointsOf, startCluster } from './helpers.js';

/**
 * A lock wait must end when its predecessor goes away and when it is cancelled, however the
 * predecessor goes. The case that matters most is a holder whose lease simply expires (a crashed
 * process): the member deletes its key with a lease revoke and often writes nothing else for a
 * while, so a waiter whose watch misses that one deletion waits for an unrelated write that may
 * never come. Many leases expiring together make the member apply a burst of revokes while the
 * waiters' watch streams are still sending, which is where a wake-up used to get lost.
 */
const NAMES_PER_ROUND = 12;
const ROUNDS = 3;
/** A waiter that has not acquired within this bound after its predecessor's lease lapsed is stuck (liveness, not speed). */
const STUCK_MS = 20_000;

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

describe('lock waits end', { concurrency: false }, () => {
  let cluster: TestCluster;
  let holder: Concord;
  let waiter: Concord;
  let probe: Concord;
  before(async () => {
    cluster = await startCluster();
    const endpoints = endpointsOf(cluster);
    holder = new Concord({ endpoints });
    waiter = new Concord({ endpoints });
    probe = new Concord({ endpoints });
  });
  after(async () => {
    holder?.close();
    waiter?.close();
    probe?.close();
    await cluster?.destroy();
  });

  test('waiters acquire when their predecessors\' leases expire together (no lost watch wake-up)', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const names = Array.from({ length: NAMES_PER_ROUND }, (_, i) => `expiry/${round}/n${i}`);
      const held = await Promise.all(names.map((n) => holder.lock(n, { ttl: 1 })));
      const waits = names.map((n) => waiter.lock(n, { ttl: 10 }));
      // Let every waiter reach its watch on the holder's key before the leases lapse.
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const h of held) h.lease.release(); // stop keeping alive: the member expires the lease
      const acquired = await Promise.all(waits.map((w, i) => within(w, STUCK_MS, `round ${round}, waiter of ${names[i]}`)));
      for (const [i, lock] of acquired.entries()) {
        assert.ok(lock.token > held[i]!.token, `${names[i]}: the waiter's token ${lock.token} follows the expired holder's ${held[i]!.token}`);
        const queue = await probe.getRange(`${names[i]}/`);
        assert.deepEqual(queue.kvs.map((kv) => kv.createRevision), [lock.token], `${names[i]}: only the new holder's key is queued`);
      }
      await Promise.all(acquired.map((l) => l.release()));
    }
  });

  test('a cancelled wait ends, deletes its contender key, and does not block the contender behind it', async () => {
    for (let i = 0; i < 10; i++) {
      const name = `cancel/${i}`;
      const first = await holder.lock(name, { ttl: 10 });
      const controller = new AbortController();
      const cancelled = waiter.lock(name, { ttl: 10, signal: controller.signal });
      // Cancel at different points: before the waiter has queued, while it queues, while it watches.
      if (i % 3 === 1) await new Promise((resolve) => setImmediate(resolve));
      if (i % 3 === 2) await waitForQueueLength(probe, name, 2);
      const third = holder.lock(name, { ttl: 10 });
      controller.abort(new Error('rebalanced'));
      const outcome = await within(cancelled.then(() => 'acquired', (e: unknown) => e), STUCK_MS, `cancelled wait ${name}`);
      assert.ok(outcome instanceof ConcordClientError && outcome.code === 'CONCORD_CLIENT_ABORTED', `cancelled wait ${name} rejects as aborted (got ${String(outcome)})`);
      await first.release();
      const next: LockHandle = await within(third, STUCK_MS, `the contender behind the cancelled wait on ${name}`);
      const queue = await probe.getRange(`${name}/`);
      assert.deepEqual(queue.kvs.map((kv) => kv.createRevision), [next.token], `${name}: the cancelled contender's key is gone`);
      await next.release();
    }
  });
});

async function waitForQueueLength(client: Concord, name: string, length: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await client.getRange(`${name}/`)).count >= length) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`the queue of ${name} never reached ${length} contenders`);
}
