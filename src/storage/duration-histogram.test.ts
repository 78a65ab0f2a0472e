import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DurationHistogram, walFsyncBucketBounds } from './duration-histogram.js';

test('duration histogram: an observation lands in the first bucket whose bound it does not exceed', () => {
  const h = new DurationHistogram([0.001, 0.002, 0.004]);
  for (const s of [0.0005, 0.001, 0.0015, 0.004, 0.5]) h.observe(s);
  assert.deepEqual(h.counts, [2, 1, 1, 1]);
  assert.equal(h.total, 5);
  assert.ok(Math.abs(h.sumSeconds - 0.507) < 1e-12);
});

test('duration histogram: the WAL fsync bounds hold etcd\'s (1 ms doubling 14 times) and rise', () => {
  const etcd = Array.from({ length: 14 }, (_, i) => 0.001 * 2 ** i);
  for (const b of etcd) assert.ok(walFsyncBucketBounds.includes(b), `bound ${b}`);
  assert.equal(String(walFsyncBucketBounds[walFsyncBucketBounds.length - 1]), '8.192');
  for (let i = 1; i < walFsyncBucketBounds.length; i++) assert.ok(walFsyncBucketBounds[i]! > walFsyncBucketBounds[i - 1]!);
});
