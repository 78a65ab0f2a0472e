/**
 * Unit tests of ReadOnly, the queue of ReadIndex requests waiting for a heartbeat round: FIFO
 * release (an ack of the newest context confirms every older one), acks per context, duplicate
 * contexts, the queue cap, and reuse of a context once released.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { READ_INDEX_PENDING_MAX, ReadOnly } from './read-only.js';
import { ReadOnlyOption } from './config.js';
import { NONE, type NodeId } from './types.js';

const n = (id: number): NodeId => id as NodeId;

test('read-only: requests queue in order; lastPendingContext is the newest', () => {
  const ro = new ReadOnly(ReadOnlyOption.Safe);
  assert.equal(ro.option, ReadOnlyOption.Safe);
  assert.equal(ro.lastPendingContext(), '');
  assert.equal(ro.addRequest(5, { from: NONE, context: 'a' }), true);
  assert.equal(ro.addRequest(6, { from: n(2), context: 'b' }), true);
  assert.equal(ro.size, 2);
  assert.equal(ro.lastPendingContext(), 'b');
});

test('read-only: a duplicate pending context is refused and does not change the first request', () => {
  const ro = new ReadOnly(ReadOnlyOption.Safe);
  ro.addRequest(5, { from: n(1), context: 'a' });
  assert.equal(ro.addRequest(9, { from: n(2), context: 'a' }), false);
  assert.equal(ro.size, 1);
  const [status] = ro.advance('a');
  assert.equal(status!.index, 5);
  assert.equal(status!.request.from, 1);
});

test('read-only: recvAck collects acks per context; unknown contexts give undefined', () => {
  const ro = new ReadOnly(ReadOnlyOption.Safe);
  ro.addRequest(5, { from: NONE, context: 'a' });
  ro.addRequest(5, { from: NONE, context: 'b' });
  assert.equal(ro.recvAck(n(2), 'zzz'), undefined);
  assert.deepEqual([...ro.recvAck(n(1), 'b')!.keys()], [1]);
  assert.deepEqual([...ro.recvAck(n(3), 'b')!.keys()].sort(), [1, 3]);
  assert.deepEqual([...ro.recvAck(n(3), 'b')!.keys()].sort(), [1, 3], 'a repeated ack counts once');
  assert.deepEqual([...ro.recvAck(n(2), 'a')!.keys()], [2], 'acks are per context');
});

test('read-only: advance releases the acked request and every older one, oldest first', () => {
  const ro = new ReadOnly(ReadOnlyOption.Safe);
  for (const [i, ctx] of ['a', 'b', 'c', 'd'].entries()) ro.addRequest(10 + i, { from: NONE, context: ctx });
  const released = ro.advance('c');
  assert.deepEqual(released.map((s) => [s.request.context, s.index]), [['a', 10], ['b', 11], ['c', 12]]);
  assert.equal(ro.size, 1);
  assert.equal(ro.lastPendingContext(), 'd');
  assert.equal(ro.recvAck(n(2), 'a'), undefined, 'a released request takes no more acks');
  assert.deepEqual(ro.advance('b'), [], 'already released');
  assert.deepEqual(ro.advance('nope'), []);
  assert.equal(ro.size, 1);
  assert.deepEqual(ro.advance('d').map((s) => s.request.context), ['d']);
  assert.equal(ro.size, 0);
  assert.equal(ro.lastPendingContext(), '');
});

test('read-only: a released context can be used again', () => {
  const ro = new ReadOnly(ReadOnlyOption.LeaseBased);
  ro.addRequest(1, { from: NONE, context: 'x' });
  ro.advance('x');
  assert.equal(ro.addRequest(2, { from: NONE, context: 'x' }), true);
  assert.deepEqual(ro.advance('x').map((s) => s.index), [2]);
});

test('read-only: the queue is capped at READ_INDEX_PENDING_MAX', () => {
  const ro = new ReadOnly(ReadOnlyOption.Safe);
  for (let i = 0; i < READ_INDEX_PENDING_MAX; i++) assert.ok(ro.addRequest(1, { from: NONE, context: `c${i}` }));
  assert.equal(ro.addRequest(1, { from: NONE, context: 'one-more' }), false);
  assert.equal(ro.size, READ_INDEX_PENDING_MAX);
  ro.advance('c0');
  assert.equal(ro.addRequest(1, { from: NONE, context: 'one-more' }), true, 'room again after a release');
});
