/**
 * Unit tests of Inflights, the per-follower ring buffer of unacknowledged MsgApps: the count and
 * byte limits, wrap-around, freeLE, reset, and a property test against a plain queue model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AssertionError } from '../../lib/assert.js';
import { Inflights } from './inflights.js';

test('inflights: fills up to countMax, then add fails an assertion', () => {
  const inf = new Inflights(4, 0);
  for (let i = 1; i <= 4; i++) {
    assert.equal(inf.full(), false, `before add ${i}`);
    inf.add(i, 100);
  }
  assert.equal(inf.count, 4);
  assert.equal(inf.bytes, 400);
  assert.equal(inf.full(), true);
  assert.throws(() => inf.add(5, 1), AssertionError);
  assert.equal(inf.count, 4, 'a refused add changes nothing');
});

test('inflights: the byte limit makes it full at or above bytesMax; 0 means unbounded', () => {
  const inf = new Inflights(10, 100);
  inf.add(1, 60);
  assert.equal(inf.full(), false);
  inf.add(2, 39);
  assert.equal(inf.full(), false, '99 < 100');
  inf.add(3, 1);
  assert.equal(inf.full(), true, '100 >= 100');
  inf.freeLE(1);
  assert.equal(inf.bytes, 40);
  assert.equal(inf.full(), false);
  // One message may overshoot the limit (it is checked before adding).
  inf.add(4, 500);
  assert.equal(inf.bytes, 540);
  assert.equal(inf.full(), true);

  const unbounded = new Inflights(3, 0);
  unbounded.add(1, 1e12);
  assert.equal(unbounded.full(), false);
});

test('inflights: freeLE frees every message up to an index, across the ring wrap', () => {
  const inf = new Inflights(5, 0);
  for (let i = 1; i <= 5; i++) inf.add(i * 10, i);
  inf.freeLE(9); // below the oldest: nothing
  assert.equal(inf.count, 5);
  inf.freeLE(25); // frees 10 and 20
  assert.equal(inf.count, 3);
  assert.equal(inf.bytes, 3 + 4 + 5);
  // Wrap: two new messages go into the freed slots at the start of the buffer.
  inf.add(60, 6);
  inf.add(70, 7);
  assert.equal(inf.full(), true);
  inf.freeLE(60);
  assert.equal(inf.count, 1);
  assert.equal(inf.bytes, 7);
  inf.freeLE(1000);
  assert.equal(inf.count, 0);
  assert.equal(inf.bytes, 0);
  // Empty again: the full capacity is available.
  for (let i = 1; i <= 5; i++) inf.add(100 + i, 1);
  assert.equal(inf.full(), true);
});

test('inflights: indexes must increase', () => {
  const inf = new Inflights(4, 0);
  inf.add(5, 1);
  assert.throws(() => inf.add(5, 1), AssertionError);
  assert.throws(() => inf.add(4, 1), AssertionError);
  inf.freeLE(5);
  inf.add(3, 1); // an empty window accepts any index (after a reset or a rejection)
});

test('inflights: reset forgets everything', () => {
  const inf = new Inflights(3, 10);
  inf.add(1, 5);
  inf.add(2, 5);
  assert.equal(inf.full(), true);
  inf.reset();
  assert.equal(inf.count, 0);
  assert.equal(inf.bytes, 0);
  assert.equal(inf.full(), false);
  inf.add(1, 1);
  assert.equal(inf.count, 1);
});

test('inflights: countMax must be positive', () => {
  assert.throws(() => new Inflights(0, 0), AssertionError);
});

test('inflights: property: count, bytes and full agree with a queue model', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), step: fc.integer({ min: 1, max: 3 }), bytes: fc.nat(50) }),
    fc.record({ kind: fc.constant('free' as const), back: fc.integer({ min: -2, max: 6 }) }),
    fc.record({ kind: fc.constant('reset' as const) }),
  );
  fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.nat(120), fc.array(op, { maxLength: 60 }), (countMax, bytesMax, ops) => {
    const inf = new Inflights(countMax, bytesMax);
    let queue: { index: number; bytes: number }[] = [];
    let next = 1;
    for (const o of ops) {
      const bytes = queue.reduce((s, m) => s + m.bytes, 0);
      const full = queue.length === countMax || (bytesMax !== 0 && bytes >= bytesMax);
      assert.equal(inf.full(), full);
      if (o.kind === 'add') {
        if (full) continue;
        next += o.step;
        inf.add(next, o.bytes);
        queue.push({ index: next, bytes: o.bytes });
      } else if (o.kind === 'free') {
        const to = next - o.back;
        inf.freeLE(to);
        queue = queue.filter((m) => m.index > to);
      } else {
        inf.reset();
        queue = [];
      }
      assert.equal(inf.count, queue.length);
      assert.equal(inf.bytes, queue.reduce((s, m) => s + m.bytes, 0));
    }
  }), { numRuns: 500 });
});
