import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MethodStats, handlingBucketBounds } from './method-registry.js';

test('observeHandling puts a duration in the first bucket whose bound is at or above it', () => {
  const stats = new MethodStats();
  stats.observeHandling(0); // first bucket
  stats.observeHandling(0.0001); // exactly the first bound: still the first bucket
  stats.observeHandling(0.00010001); // just above: the second
  stats.observeHandling(0.03); // exactly 30 ms
  stats.observeHandling(11); // above every bound: the overflow slot
  const at = (bound: number): number => handlingBucketBounds.indexOf(bound);
  const expected = new Array<number>(handlingBucketBounds.length + 1).fill(0);
  expected[0] = 2;
  expected[1] = 1;
  expected[at(0.03)] = 1;
  expected[handlingBucketBounds.length] = 1;
  assert.deepEqual(stats.handlingBuckets, expected);
  assert.ok(Math.abs(stats.handlingSecondsSum - (0.0001 + 0.00010001 + 0.03 + 11)) < 1e-12);
});

test('the handling bucket bounds rise strictly', () => {
  for (let i = 1; i < handlingBucketBounds.length; i++) assert.ok(handlingBucketBounds[i]! > handlingBucketBounds[i - 1]!);
});
