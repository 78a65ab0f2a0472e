import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Xoshiro128 } from '../lib/prng.js';
import type { NodeId } from '../raft/types.js';
import { TransportRecorder, heartbeat, settle, waitFor } from '../../test/conformance/transport-recorder.js';
import { MemoryNetwork } from './memory-transport.js';

async function trio(): Promise<{ network: MemoryNetwork; t: ReturnType<MemoryNetwork['transport']>[]; r: TransportRecorder[] }> {
  const network = new MemoryNetwork();
  const r = [new TransportRecorder(), new TransportRecorder(), new TransportRecorder()];
  const t = r.map((h, i) => network.transport((i + 1) as NodeId, h));
  for (const x of t) await x.start();
  for (const x of t) for (const y of t) if (x !== y) x.addPeer(y.localId, y.url);
  return { network, t, r };
}

test('a cut link drops and reports; heal restores; isolate cuts every link', async () => {
  const { network, t, r } = await trio();
  try {
    network.cut(1 as NodeId, 2 as NodeId, true);
    t[0]!.send(2 as NodeId, 1, [heartbeat(1, 2, 0)]);
    t[1]!.send(1 as NodeId, 1, [heartbeat(2, 1, 0)]);
    await waitFor('reverse direction delivered', () => r[0]!.received.length === 1);
    await waitFor('cut reported', () => r[0]!.unreachable.length === 1);
    assert.equal(r[1]!.received.length, 0);
    network.heal();
    t[0]!.send(2 as NodeId, 1, [heartbeat(1, 2, 1)]);
    await waitFor('healed', () => r[1]!.received.length === 1);
    network.isolate(3 as NodeId);
    t[0]!.send(3 as NodeId, 1, [heartbeat(1, 3, 0)]);
    t[2]!.send(2 as NodeId, 1, [heartbeat(3, 2, 0)]);
    await settle(10);
    assert.equal(r[2]!.received.length, 0);
    assert.equal(r[1]!.received.length, 1);
  } finally {
    await Promise.all(t.map((x) => x.stop()));
  }
});

test('random loss follows the seed and is silent', async () => {
  const { network, t, r } = await trio();
  try {
    network.setDropRate(0.5, new Xoshiro128(7));
    for (let i = 0; i < 200; i++) t[0]!.send(2 as NodeId, 1, [heartbeat(1, 2, i)]);
    await settle(20);
    const got = r[1]!.received.length;
    assert.ok(got > 50 && got < 150, `delivered ${got} of 200`);
    assert.equal(t[0]!.stats.messagesDropped, 200 - got);
    assert.deepEqual(r[0]!.unreachable, []);
  } finally {
    await Promise.all(t.map((x) => x.stop()));
  }
});

test('one turn of sends is one batch', async () => {
  const { t, r } = await trio();
  try {
    for (let i = 0; i < 100; i++) t[0]!.send(2 as NodeId, i, [heartbeat(1, 2, i)]);
    await waitFor('all', () => r[1]!.received.length === 100);
    assert.equal(t[0]!.stats.batchFramesSent, 1);
  } finally {
    await Promise.all(t.map((x) => x.stop()));
  }
});
