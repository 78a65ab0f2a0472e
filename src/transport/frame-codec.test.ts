import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CodecError } from '../lib/binary.js';
import type { Message, NodeId } from '../raft/types.js';
import { app, heartbeat, snapshotMessage } from '../../test/conformance/transport-recorder.js';
import {
  BATCH_HEADER_BYTES, FrameType, decodeFrame, encodeBatchFrames, encodeHello, encodeRefuse, encodeSnapshotAck,
  encodeSnapshotBegin, encodeSnapshotEnd, RefusalCode, type Frame,
} from './frame-codec.js';
import { FrameReader } from './frame-reader.js';
import { TRANSPORT_LIMITS } from './limits.js';

/** framesOf cuts a byte stream into decoded frames. */
function framesOf(bytes: Uint8Array, frameBytesMax = TRANSPORT_LIMITS.frameBytesMax): Frame[] {
  const reader = new FrameReader(frameBytesMax);
  reader.push(bytes);
  const out: Frame[] = [];
  for (let raw = reader.next(); raw !== undefined; raw = reader.next()) out.push(decodeFrame(raw.type, raw.payload, TRANSPORT_LIMITS));
  assert.equal(reader.bufferedBytes, 0);
  return out;
}

function concat(buffers: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(buffers));
}

test('one batch frame when everything fits, as a single buffer', () => {
  const messages: Message[] = [heartbeat(1, 2, 1), app(1, 2, 5, 2), heartbeat(1, 2, 2)];
  const batch = encodeBatchFrames([1, 2, 3], messages, TRANSPORT_LIMITS.frameBytesMax);
  assert.equal(batch.frames, 1);
  assert.equal(batch.buffers.length, 1);
  assert.equal(batch.bytes, batch.buffers[0]!.byteLength);
  assert.deepEqual(framesOf(batch.buffers[0]!), [{ type: FrameType.Batch, groups: [1, 2, 3], messages }]);
});

test('batches split at frameBytesMax; an oversized message is skipped and reported', () => {
  const frameBytesMax = 4096;
  const messages: Message[] = [];
  for (let i = 0; i < 30; i++) messages.push(app(1, 2, i, 1, i === 12 ? 5000 : 400));
  const groups = messages.map((_, i) => i);
  const batch = encodeBatchFrames(groups, messages, frameBytesMax);
  assert.deepEqual(batch.oversized, [12]);
  const frames = framesOf(concat(batch.buffers), frameBytesMax);
  assert.equal(frames.length, batch.frames);
  assert.ok(batch.frames >= 4);
  const got = frames.flatMap((f) => (f.type === FrameType.Batch ? f.messages : []));
  assert.deepEqual(got, messages.filter((_, i) => i !== 12));
  assert.deepEqual(frames.flatMap((f) => (f.type === FrameType.Batch ? f.groups : [])), groups.filter((g) => g !== 12));
  for (const b of batch.buffers) assert.ok(b.byteLength <= frameBytesMax + 4);
});

test('an empty or all-oversized batch produces no frame', () => {
  assert.equal(encodeBatchFrames([], [], 1024).frames, 0);
  const batch = encodeBatchFrames([1], [app(1, 2, 0, 1, 2000)], 1024);
  assert.deepEqual({ frames: batch.frames, buffers: batch.buffers.length, oversized: batch.oversized }, { frames: 0, buffers: 0, oversized: [0] });
});

test('control and snapshot frames round-trip', () => {
  const snap = snapshotMessage(1, 2, 9, 100);
  const bytes = concat([
    encodeHello('tok', 1 as NodeId, 2 as NodeId),
    encodeRefuse(RefusalCode.ClusterIdMismatch, 'cluster id mismatch', 1024),
    encodeSnapshotBegin(4, snap),
    encodeSnapshotEnd(4, true),
    encodeSnapshotAck(4, 9, 'failure', 'no room'),
  ]);
  const frames = framesOf(bytes);
  assert.deepEqual(frames[0], { type: FrameType.Hello, magic: 0x434e4344, version: 1, clusterId: 'tok', fromId: 1, toId: 2 });
  assert.deepEqual(frames[1], { type: FrameType.Refuse, code: RefusalCode.ClusterIdMismatch, reason: 'cluster id mismatch' });
  assert.deepEqual(frames[2], {
    type: FrameType.SnapshotBegin, groupId: 4, dataBytes: 100, message: { ...snap, snapshot: { ...snap.snapshot, data: new Uint8Array(0) } },
  });
  assert.deepEqual(frames[3], { type: FrameType.SnapshotEnd, groupId: 4, aborted: true });
  assert.deepEqual(frames[4], { type: FrameType.SnapshotAck, groupId: 4, snapshotIndex: 9, status: 'failure', reason: 'no room' });
});

test('malformed payloads throw CodecError', () => {
  const cases: [number, number[]][] = [
    [99, []],
    [FrameType.Batch, [1, 0, 0, 0]],
    [FrameType.Batch, [0, 0, 0, 0, 7]],
    [FrameType.SnapshotEnd, [0, 0, 0, 0, 0, 0, 0, 0, 2]],
    [FrameType.SnapshotAck, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0]],
    [FrameType.Hello, [0x44, 0x43, 0x4e, 0x43, 1, 0, 3, 0, 0, 0, 0x61]],
  ];
  for (const [type, payload] of cases) {
    assert.throws(() => decodeFrame(type, new Uint8Array(payload), TRANSPORT_LIMITS), CodecError, `type ${type}`);
  }
  const longId = encodeHello('x'.repeat(300), 1 as NodeId, 2 as NodeId);
  assert.throws(() => framesOf(longId), /cluster id/);
});

test('a hello of another version decodes (to be refused), whatever follows the version', () => {
  const payload = new Uint8Array([0x44, 0x43, 0x4e, 0x43, 2, 0, 0xde, 0xad]);
  const frame = decodeFrame(FrameType.Hello, payload, TRANSPORT_LIMITS);
  assert.equal(frame.type === FrameType.Hello && frame.version, 2);
});

test('FrameReader reassembles frames fed one byte at a time and rejects oversized or empty frames early', () => {
  const batch = encodeBatchFrames([7, 8], [heartbeat(1, 2, 1), app(1, 2, 3, 3, 50)], 1 << 20);
  const bytes = concat([...batch.buffers, encodeSnapshotEnd(1, false)]);
  const reader = new FrameReader(1 << 20);
  const types: number[] = [];
  for (const byte of bytes) {
    reader.push(Uint8Array.of(byte));
    for (let raw = reader.next(); raw !== undefined; raw = reader.next()) types.push(raw.type);
  }
  assert.deepEqual(types, [FrameType.Batch, FrameType.SnapshotEnd]);
  const big = new FrameReader(100);
  big.push(Uint8Array.of(101, 0, 0, 0));
  assert.throws(() => big.next(), /exceeds the limit of 100/);
  const empty = new FrameReader(100);
  empty.push(Uint8Array.of(0, 0, 0, 0));
  assert.throws(() => empty.next(), /empty frame/);
});

test('decoded message data is a copy, not a view of the received chunk', () => {
  const batch = encodeBatchFrames([1], [app(1, 2, 0, 1, 32)], 1 << 20);
  const chunk = Buffer.from(batch.buffers[0]!);
  const reader = new FrameReader(1 << 20);
  reader.push(chunk);
  const raw = reader.next()!;
  const frame = decodeFrame(raw.type, raw.payload, TRANSPORT_LIMITS);
  chunk.fill(0xee);
  assert.ok(frame.type === FrameType.Batch);
  const m = frame.messages[0]!;
  assert.ok(m.type === 'MsgApp');
  assert.equal(Object.getPrototypeOf(m.entries[0]!.data), Uint8Array.prototype);
  assert.deepEqual(m.entries[0]!.data, new Uint8Array(32).fill(0));
  assert.ok(BATCH_HEADER_BYTES === 9);
});
