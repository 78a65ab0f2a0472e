import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NodeId } from '../../src/raft/types.js';
import type { Transport } from '../../src/transport/transport.js';
import { TransportRecorder, app, heartbeat, settle, snapshotMessage, waitFor } from './transport-recorder.js';

/**
 * TransportCluster is `size` connected transports, member ids 1..size (transports[i] is member
 * i + 1), every one a peer of every other, handlers given by the suite.
 */
export interface TransportCluster {
  readonly transports: readonly Transport[];
  /** close stops every transport still running. */
  close(): Promise<void>;
}

/**
 * TransportClusterFactory builds a TransportCluster whose transports report to `handlers[i]`
 * and resolves once every member can deliver to every other.
 */
export type TransportClusterFactory = (handlers: readonly TransportRecorder[]) => Promise<TransportCluster>;

const id = (n: number): NodeId => n as NodeId;

async function withCluster(factory: TransportClusterFactory, size: number, body: (t: readonly Transport[], r: readonly TransportRecorder[]) => Promise<void>): Promise<void> {
  const recorders = Array.from({ length: size }, () => new TransportRecorder());
  const cluster = await factory(recorders);
  try {
    await body(cluster.transports, recorders);
  } finally {
    await cluster.close();
  }
}

/**
 * transportConformance registers the behaviour every Transport must show (the contract in
 * src/transport/transport.ts), run against each implementation from transport.test.ts.
 */
export function transportConformance(name: string, factory: TransportClusterFactory): void {
  describe(`transport conformance: ${name}`, () => {
    test('delivers messages of several groups in order per peer, both directions', async () => {
      await withCluster(factory, 3, async ([t1, t2, t3], [r1, r2, r3]) => {
        const count = 300;
        for (let i = 0; i < count; i++) {
          t1!.send(id(2), i % 3, [heartbeat(1, 2, i)]);
          t3!.send(id(2), 7, [heartbeat(3, 2, i)]);
          t2!.send(id(1), 1_000_000 + (i % 2), [heartbeat(2, 1, i)]);
          if (i % 50 === 0) await settle(1);
        }
        await waitFor('all messages', () => r2!.received.length === 2 * count && r1!.received.length === count);
        const from1 = r2!.received.filter((r) => r.from === 1);
        assert.deepEqual(from1.map((r) => (r.message as { commit: number }).commit), [...Array(count).keys()]);
        assert.deepEqual(from1.map((r) => r.groupId), [...Array(count).keys()].map((i) => i % 3));
        assert.deepEqual(r2!.received.filter((r) => r.from === 3).map((r) => r.groupId), Array<number>(count).fill(7));
        assert.deepEqual(r1!.received.map((r) => r.groupId), [...Array(count).keys()].map((i) => 1_000_000 + (i % 2)));
        assert.equal(r3!.received.length, 0);
        assert.deepEqual(r1!.unreachable, []);
      });
    });

    test('delivers messages byte-identical (entries with data)', async () => {
      await withCluster(factory, 2, async ([t1], [, r2]) => {
        const sent = [app(1, 2, 10, 3, 100), app(1, 2, 13, 0), app(1, 2, 13, 1, 70_000)];
        t1!.send(id(2), 4, sent);
        await waitFor('three messages', () => r2!.received.length === 3);
        assert.deepEqual(r2!.received.map((r) => r.message), sent);
      });
    });

    test('a send to an unknown peer neither throws nor delivers; it is reported unreachable', async () => {
      await withCluster(factory, 2, async ([t1], [r1, r2]) => {
        t1!.send(id(9), 5, [heartbeat(1, 9, 0)]);
        await waitFor('unreachable report', () => r1!.unreachable.length > 0);
        assert.deepEqual(r1!.unreachable[0], { peer: 9, groupId: 5 });
        assert.equal(r2!.received.length, 0);
      });
    });

    test('reports are never made inside send()', async () => {
      await withCluster(factory, 2, async ([t1], [r1]) => {
        t1!.send(id(9), 5, [heartbeat(1, 9, 0), snapshotMessage(1, 9, 3, 10)]);
        assert.equal(r1!.unreachable.length + r1!.snapshots.length, 0);
        await waitFor('snapshot failure', () => r1!.snapshots.length === 1);
        assert.deepEqual(r1!.snapshots[0], { peer: 9, groupId: 5, snapshotIndex: 3, status: 'failure' });
      });
    });

    test('a snapshot of several MiB arrives whole and is reported finished', async () => {
      await withCluster(factory, 2, async ([t1], [r1, r2]) => {
        const snap = snapshotMessage(1, 2, 42, 3 * 1024 * 1024 + 17);
        t1!.send(id(2), 8, [heartbeat(1, 2, 1), snap, heartbeat(1, 2, 2)]);
        await waitFor('snapshot status', () => r1!.snapshots.length === 1, 10_000);
        assert.deepEqual(r1!.snapshots[0], { peer: 2, groupId: 8, snapshotIndex: 42, status: 'finished' });
        const got = r2!.received.find((r) => r.message.type === 'MsgSnap');
        assert.ok(got !== undefined, 'snapshot delivered before finished was reported');
        assert.equal(got.groupId, 8);
        assert.deepEqual(got.message, snap);
        await waitFor('heartbeats', () => r2!.received.length === 3);
      });
    });

    test('sends to a stopped member are reported unreachable and snapshots fail', async () => {
      await withCluster(factory, 2, async ([t1, t2], [r1, r2]) => {
        await t2!.stop();
        await waitFor('peer down noticed', () => {
          t1!.send(id(2), 1, [heartbeat(1, 2, 0)]);
          return r1!.unreachable.some((u) => u.peer === 2);
        });
        t1!.send(id(2), 1, [snapshotMessage(1, 2, 5, 4096)]);
        await waitFor('snapshot failure', () => r1!.snapshots.length === 1);
        assert.deepEqual(r1!.snapshots[0], { peer: 2, groupId: 1, snapshotIndex: 5, status: 'failure' });
        assert.equal(r2!.received.length, 0);
      });
    });

    test('after removePeer, sends are dropped and reported', async () => {
      await withCluster(factory, 2, async ([t1], [r1, r2]) => {
        t1!.removePeer(id(2));
        t1!.send(id(2), 3, [heartbeat(1, 2, 0), snapshotMessage(1, 2, 6, 100)]);
        await waitFor('reports', () => r1!.unreachable.length > 0 && r1!.snapshots.length === 1);
        assert.equal(r1!.snapshots[0]?.status, 'failure');
        await settle(20);
        assert.equal(r2!.received.length, 0);
      });
    });

    test('stop() resolves, later sends do not throw, and no callback runs after it', async () => {
      await withCluster(factory, 2, async ([t1, t2], [r1]) => {
        t1!.send(id(9), 1, [heartbeat(1, 9, 0)]);
        await t1!.stop();
        t1!.send(id(2), 1, [heartbeat(1, 2, 0), snapshotMessage(1, 2, 1, 10)]);
        await t1!.stop();
        await settle(20);
        assert.deepEqual(r1!.unreachable, []);
        assert.deepEqual(r1!.snapshots, []);
        void t2;
      });
    });
  });
}
