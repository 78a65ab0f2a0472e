import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DurationHistogram } from './duration-histogram.js';

test('duration histogram: an observation lands in the first bucket whose bound it does not exceed', () => {
  const h = new DurationHistogram([0.001, 0.002, 0.004]);
  for (const s of [0.0005, 0.001, 0.0015, 0.004, 0.5]) h.observe(s);
  assert.deepEqual(h.counts, [2, 1, 1, 1]);
  assert.equal(h.total, 5);
  assert.ok(Math.abs(h.sumSeconds - 0.507) < 1e-12);
});
