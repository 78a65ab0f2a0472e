import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { MemoryLogger } from '../lib/logger.js';
import type { NodeId } from '../raft/types.js';
import { TransportRecorder, app, heartbeat, settle, snapshotMessage, waitFor } from '../../test/conformance/transport-recorder.js';
import { FrameType, encodeHello } from './frame-codec.js';
import type { TransportLimits } from './limits.js';
import { TcpTransport } from './tcp-transport.js';

const id = (n: number): NodeId => n as NodeId;
const fastReconnect: Partial<TransportLimits> = { reconnectBackoffMsMin: 5, reconnectBackoffMsMax: 40 };

/** Member is one started transport with its recorder and log. */
interface Member {
  readonly transport: TcpTransport;
  readonly recorder: TransportRecorder;
  readonly logger: MemoryLogger;
}

const running: TcpTransport[] = [];
const sockets: net.Socket[] = [];
after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(running.map((t) => t.stop()));
});

async function member(localId: number, options: { clusterId?: string; port?: number; limits?: Partial<TransportLimits> } = {}): Promise<Member> {
  const recorder = new TransportRecorder();
  const logger = new MemoryLogger();
  const transport = new TcpTransport({
    localId: id(localId), clusterId: options.clusterId ?? 'test-cluster', handler: recorder, logger,
    listenPort: options.port ?? 0, limits: { ...fastReconnect, ...options.limits },
  });
  running.push(transport);
  await transport.start();
  return { transport, recorder, logger };
}

async function connectPair(a: Member, b: Member): Promise<void> {
  a.transport.addPeer(b.transport.localId, b.transport.url);
  b.transport.addPeer(a.transport.localId, a.transport.url);
  await waitFor('pair connected', () => a.transport.isConnected(b.transport.localId) && b.transport.isConnected(a.transport.localId));
}

async function stopAll(...members: Member[]): Promise<void> {
  await Promise.all(members.map((m) => m.transport.stop()));
}

function logged(logger: MemoryLogger, message: string): { reason?: unknown; peer?: unknown } | undefined {
  return logger.lines.find((l) => l.message === message)?.fields;
}

/** rawClient opens a plain socket to `port` and records whether it was closed by the other end. */
async function rawClient(port: number): Promise<{ socket: net.Socket; closed: Promise<void>; data: Buffer[] }> {
  const socket = net.createConnection({ host: '127.0.0.1', port });
  sockets.push(socket);
  const data: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => data.push(chunk));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, closed, data };
}

function withinMs<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))]);
}

describe('TcpTransport', () => {
  test('many sends in one event-loop turn go out as one batch frame in one socket write', async () => {
    const a = await member(1);
    const b = await member(2);
    try {
      await connectPair(a, b);
      const before = { ...a.transport.stats };
      const receivedBefore = b.transport.stats.batchFramesReceived;
      for (let i = 0; i < 500; i++) a.transport.send(id(2), i % 5, [heartbeat(1, 2, i), app(1, 2, i)]);
      await waitFor('1000 messages', () => b.recorder.received.length === 1000);
      assert.equal(a.transport.stats.batchFramesSent - before.batchFramesSent, 1);
      assert.equal(a.transport.stats.socketWrites - before.socketWrites, 1);
      assert.equal(a.transport.stats.messagesSent - before.messagesSent, 1000);
      assert.equal(b.transport.stats.batchFramesReceived - receivedBefore, 1);
      // The next turn is another batch.
      a.transport.send(id(2), 0, [heartbeat(1, 2, 1000)]);
      await waitFor('one more', () => b.recorder.received.length === 1001);
      assert.equal(a.transport.stats.batchFramesSent - before.batchFramesSent, 2);
    } finally {
      await stopAll(a, b);
    }
  });

  test('flushNow writes what this turn queued at once, in one batch; later sends of the turn form the next batch', async () => {
    const a = await member(1);
    const b = await member(2);
    try {
      await connectPair(a, b);
      const before = { ...a.transport.stats };
      for (let i = 0; i < 10; i++) a.transport.send(id(2), 0, [app(1, 2, i)]);
      assert.equal(a.transport.stats.socketWrites - before.socketWrites, 0, 'send only queues');
      a.transport.flushNow();
      // Written before this turn ends, not on a later one.
      assert.equal(a.transport.stats.socketWrites - before.socketWrites, 1);
      assert.equal(a.transport.stats.messagesSent - before.messagesSent, 10);
      a.transport.flushNow(); // nothing queued: no write
      assert.equal(a.transport.stats.socketWrites - before.socketWrites, 1);
      a.transport.send(id(2), 0, [heartbeat(1, 2, 10)]);
      await waitFor('11 messages', () => b.recorder.received.length === 11);
      assert.equal(a.transport.stats.batchFramesSent - before.batchFramesSent, 2);
      assert.deepEqual(b.recorder.received.map((r) => r.message.type), [...Array(10).fill('MsgApp'), 'MsgHeartbeat'], 'FIFO kept');
    } finally {
      await stopAll(a, b);
    }
  });

  test('a turn larger than frameBytesMax is split into frames; a message too large for any frame is dropped', async () => {
    const limits = { frameBytesMax: 64 * 1024, snapshotChunkBytes: 32 * 1024 };
    const a = await member(1, { limits });
    const b = await member(2, { limits });
    try {
      await connectPair(a, b);
      const before = a.transport.stats.batchFramesSent;
      const messages = Array.from({ length: 40 }, (_, i) => app(1, 2, i * 10, 4, 1000));
      a.transport.send(id(2), 1, messages.slice(0, 20));
      a.transport.send(id(2), 2, [app(1, 2, 999, 1, 100 * 1024)]); // oversized
      a.transport.send(id(2), 1, messages.slice(20));
      await waitFor('40 messages', () => b.recorder.received.length === 40);
      assert.deepEqual(b.recorder.received.map((r) => r.message), messages);
      assert.ok(a.transport.stats.batchFramesSent - before >= 3, `split into ${a.transport.stats.batchFramesSent - before} frames`);
      await waitFor('unreachable for the oversized group', () => a.recorder.unreachable.some((u) => u.groupId === 2));
      assert.ok(logged(a.logger, 'message exceeds the frame limit; dropped'));
      assert.ok(a.transport.isConnected(id(2)), 'the connection survives');
    } finally {
      await stopAll(a, b);
    }
  });

  test('reconnects after the peer restarts; sends while it is down are dropped and reported', async () => {
    const a = await member(1);
    let b = await member(2);
    const port = b.transport.listenPort;
    try {
      await connectPair(a, b);
      a.transport.send(id(2), 1, [heartbeat(1, 2, 0)]);
      await waitFor('first message', () => b.recorder.received.length === 1);
      await b.transport.stop();
      await waitFor('connection loss noticed', () => !a.transport.isConnected(id(2)));
      const droppedBefore = a.transport.stats.messagesDropped;
      a.transport.send(id(2), 1, [heartbeat(1, 2, 1)]);
      await waitFor('unreachable', () => a.recorder.unreachable.some((u) => u.peer === 2));
      assert.ok(a.transport.stats.messagesDropped > droppedBefore);
      b = await member(2, { port });
      b.transport.addPeer(id(1), a.transport.url);
      await waitFor('reconnected', () => a.transport.isConnected(id(2)), 5000);
      a.transport.send(id(2), 1, [heartbeat(1, 2, 2)]);
      await waitFor('delivery resumes', () => b.recorder.received.length === 1);
      assert.equal((b.recorder.received[0]?.message as { commit: number }).commit, 2, 'the message sent while down was dropped');
      assert.ok(logged(a.logger, 'peer connection lost'));
    } finally {
      await stopAll(a, b);
    }
  });

  test('a peer with another cluster id is refused, logged on both sides', async () => {
    const a = await member(1, { clusterId: 'abc' });
    const b = await member(2, { clusterId: 'def' });
    try {
      a.transport.addPeer(id(2), b.transport.url);
      await waitFor('refusal logged on both sides', () => logged(b.logger, 'refused peer connection') !== undefined && logged(a.logger, 'peer refused our connection') !== undefined);
      assert.deepEqual(
        { ...logged(b.logger, 'refused peer connection') },
        { peer: 1, address: logged(b.logger, 'refused peer connection')?.['address' as 'peer'], reason: 'cluster id mismatch (theirs abc, ours def)' },
      );
      assert.equal(logged(a.logger, 'peer refused our connection')?.reason, 'cluster id mismatch (theirs abc, ours def)');
      a.transport.send(id(2), 1, [heartbeat(1, 2, 0)]);
      await settle(30);
      assert.equal(b.recorder.received.length, 0);
      assert.ok(!a.transport.isConnected(id(2)));
      assert.ok(a.transport.stats.connectionsRefused >= 1 && b.transport.stats.connectionsRefused >= 1);
    } finally {
      await stopAll(a, b);
    }
  });

  test('a connection naming the wrong target member id is refused', async () => {
    const a = await member(1);
    const b = await member(2);
    try {
      a.transport.addPeer(id(3), b.transport.url); // member 2 listens there, not 3
      await waitFor('refusal', () => logged(b.logger, 'refused peer connection') !== undefined);
      assert.equal(logged(b.logger, 'refused peer connection')?.reason, 'wrong target member id (they want member 3, this is member 2)');
      await waitFor('refusal seen by sender', () => logged(a.logger, 'peer refused our connection') !== undefined);
      assert.ok(!a.transport.isConnected(id(3)));
    } finally {
      await stopAll(a, b);
    }
  });

  test('a removed member is refused', async () => {
    const a = await member(1);
    const b = await member(2);
    try {
      b.transport.removePeer(id(1));
      a.transport.addPeer(id(2), b.transport.url);
      await waitFor('refusal', () => logged(b.logger, 'refused peer connection') !== undefined);
      assert.equal(logged(b.logger, 'refused peer connection')?.reason, 'member 1 was removed from this cluster');
    } finally {
      await stopAll(a, b);
    }
  });

  test('malformed, unknown, oversized and non-Concord frames close that connection; others keep working', async () => {
    const a = await member(1);
    const b = await member(2, { limits: { frameBytesMax: 1024 * 1024, snapshotChunkBytes: 512 * 1024 } });
    try {
      await connectPair(a, b);
      const port = b.transport.listenPort;
      const attacks: ((s: net.Socket) => void)[] = [
        (s) => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
        (s) => { s.write(encodeHello('test-cluster', id(7), id(2))); s.write(Buffer.from([2, 0, 0, 0, 99, 0])); },
        (s) => { s.write(encodeHello('test-cluster', id(7), id(2))); s.write(Buffer.from([0xff, 0xff, 0xff, 0x7f, FrameType.Batch])); },
        (s) => { s.write(encodeHello('test-cluster', id(7), id(2))); s.write(Buffer.from([9, 0, 0, 0, FrameType.Batch, 200, 0, 0, 0, 1, 2, 3, 4])); },
        (s) => { s.write(encodeHello('test-cluster', id(7), id(2))); s.write(Buffer.from([9, 0, 0, 0, FrameType.SnapshotChunk, 0, 0, 0, 0, 0, 0, 0, 0])); },
      ];
      for (const attack of attacks) {
        const client = await rawClient(port);
        attack(client.socket);
        await withinMs(client.closed, 3000, 'receiver closes a bad connection');
      }
      assert.equal(b.transport.stats.protocolErrors, attacks.length);
      assert.ok(b.logger.lines.some((l) => l.level === 'error' && l.message === 'closing peer connection: protocol error' && String(l.fields?.['reason']).includes('exceeds the limit')));
      a.transport.send(id(2), 1, [heartbeat(1, 2, 5)]);
      await waitFor('still serving', () => b.recorder.received.length === 1);
      const late = await member(3);
      try {
        await connectPair(late, b);
        late.transport.send(id(2), 1, [heartbeat(3, 2, 6)]);
        await waitFor('still accepting', () => b.recorder.received.length === 2);
      } finally {
        await stopAll(late);
      }
    } finally {
      await stopAll(a, b);
    }
  });

  test('a snapshot of several MiB streams in chunks, interleaved with small messages, byte-identical', async () => {
    const a = await member(1, { limits: { snapshotChunkBytes: 256 * 1024 } });
    const b = await member(2);
    try {
      await connectPair(a, b);
      const snaps = [snapshotMessage(1, 2, 100, 6 * 1024 * 1024 + 3), snapshotMessage(1, 2, 7, 0)];
      a.transport.send(id(2), 11, [snaps[0]!]);
      a.transport.send(id(2), 12, [snaps[1]!]);
      for (let i = 0; i < 5; i++) {
        a.transport.send(id(2), 13, [heartbeat(1, 2, i)]);
        await settle(1);
      }
      await waitFor('both snapshot statuses', () => a.recorder.snapshots.length === 2, 15_000);
      assert.deepEqual(a.recorder.snapshots, [
        { peer: 2, groupId: 11, snapshotIndex: 100, status: 'finished' },
        { peer: 2, groupId: 12, snapshotIndex: 7, status: 'finished' },
      ]);
      const got = b.recorder.received.filter((r) => r.message.type === 'MsgSnap');
      assert.deepEqual(got.map((r) => r.groupId), [11, 12]);
      assert.ok(Buffer.from((got[0]!.message as typeof snaps[0]).snapshot.data).equals(Buffer.from(snaps[0]!.snapshot.data)));
      assert.deepEqual(got[0]!.message, snaps[0]);
      assert.equal(b.recorder.received.filter((r) => r.groupId === 13).length, 5);
      assert.equal(a.transport.stats.snapshotsSent, 2);
      assert.equal(b.transport.stats.snapshotsReceived, 2);
    } finally {
      await stopAll(a, b);
    }
  });

  test('a snapshot over the receiver budget fails; the connection keeps working', async () => {
    const a = await member(1);
    const b = await member(2, { limits: { snapshotReceiveBytesMax: 1024 * 1024 } });
    try {
      await connectPair(a, b);
      a.transport.send(id(2), 1, [snapshotMessage(1, 2, 9, 3 * 1024 * 1024)]);
      await waitFor('snapshot status', () => a.recorder.snapshots.length === 1);
      assert.equal(a.recorder.snapshots[0]?.status, 'failure');
      a.transport.send(id(2), 1, [heartbeat(1, 2, 1), snapshotMessage(1, 2, 10, 512 * 1024)]);
      await waitFor('second snapshot status', () => a.recorder.snapshots.length === 2);
      assert.equal(a.recorder.snapshots[1]?.status, 'finished');
      assert.deepEqual(b.recorder.received.map((r) => r.message.type), ['MsgHeartbeat', 'MsgSnap']);
    } finally {
      await stopAll(a, b);
    }
  });

  test('a snapshot to a dead peer is reported failure', async () => {
    const a = await member(1);
    const b = await member(2);
    try {
      await connectPair(a, b);
      await b.transport.stop();
      await waitFor('down', () => !a.transport.isConnected(id(2)));
      a.transport.send(id(2), 4, [snapshotMessage(1, 2, 3, 2 * 1024 * 1024)]);
      await waitFor('failure', () => a.recorder.snapshots.length === 1);
      assert.deepEqual(a.recorder.snapshots[0], { peer: 2, groupId: 4, snapshotIndex: 3, status: 'failure' });
    } finally {
      await stopAll(a, b);
    }
  });

  test('a snapshot in flight when the peer dies is reported failure', async () => {
    const a = await member(1, { limits: { snapshotChunkBytes: 64 * 1024 } });
    const b = await member(2);
    try {
      await connectPair(a, b);
      a.transport.send(id(2), 4, [snapshotMessage(1, 2, 3, 32 * 1024 * 1024)]);
      await settle(5);
      await b.transport.stop();
      await waitFor('failure', () => a.recorder.snapshots.length === 1, 10_000);
      assert.equal(a.recorder.snapshots[0]?.status, 'failure');
    } finally {
      await stopAll(a, b);
    }
  });

  test('a silent client is closed after handshakeTimeoutMs', async () => {
    const b = await member(2, { limits: { handshakeTimeoutMs: 50 } });
    try {
      const client = await rawClient(b.transport.listenPort);
      await withinMs(client.closed, 3000, 'silent connection closed');
      assert.ok(logged(b.logger, 'closing peer connection: no hello'));
    } finally {
      await stopAll(b);
    }
  });

  test('stop() closes accepted and outbound sockets and resolves', async () => {
    const a = await member(1);
    const b = await member(2);
    await connectPair(a, b);
    const client = await rawClient(b.transport.listenPort);
    await withinMs(Promise.all([a.transport.stop(), b.transport.stop()]), 3000, 'stop');
    await withinMs(client.closed, 3000, 'accepted socket closed by stop');
  });
});
