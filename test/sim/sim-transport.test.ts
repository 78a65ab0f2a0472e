import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message, NodeId } from '../../src/raft/index.js';
import type { TransportHandler } from '../../src/transport/transport.js';
import { SimTransportHub } from './sim-transport.js';

const id = (n: number): NodeId => n as NodeId;

function recorder() {
  const received: { from: NodeId; groupId: number; message: Message }[] = [];
  const unreachable: NodeId[] = [];
  const handler: TransportHandler = {
    onMessage: (from, groupId, message) => received.push({ from, groupId, message }),
    onUnreachable: (peer) => unreachable.push(peer),
    onSnapshotStatus: () => {},
  };
  return { received, unreachable, handler };
}

test('over a lossy, partitioned simulated network every message is delivered once or reported lost, in order per link', async () => {
  const hub = new SimTransportHub(7, {
    dropRate: 0.3, duplicateRate: 0, delayStepsMin: 1, delayStepsMax: 5, longDelayRate: 0, longDelayStepsMax: 5, reorder: false,
  });
  const a = recorder();
  const b = recorder();
  const t1 = hub.transport(id(1), a.handler);
  const t2 = hub.transport(id(2), b.handler);
  await t1.start();
  await t2.start();
  t1.addPeer(id(2));
  const count = 500;
  for (let i = 0; i < count; i++) {
    if (i === 250) hub.network.cut(id(1), id(2));
    if (i === 300) hub.network.uncut(id(1), id(2));
    t1.send(id(2), 4, [{ type: 'MsgHeartbeat', from: id(1), to: id(2), term: 1, commit: i, context: '', sentTick: i }]);
    hub.step();
  }
  for (let i = 0; i < 20; i++) hub.step();
  await new Promise((resolve) => setImmediate(resolve));
  const commits = b.received.map((r) => (r.message as { commit: number }).commit);
  assert.equal(commits.length + a.unreachable.length, count, 'each message delivered or reported, never both or neither');
  assert.deepEqual(commits, [...commits].sort((x, y) => x - y), 'FIFO per link');
  assert.ok(commits.every((c) => c < 250 || c >= 300), 'nothing crossed the partition');
  assert.ok(b.received.every((r) => r.groupId === 4 && r.from === 1));
  assert.ok(a.unreachable.length > 50, 'losses were reported');
});
