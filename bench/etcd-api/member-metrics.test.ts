import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handlingQuantileMs, metricValues, shareAboveMs } from './member-metrics.js';

const cumulative = (pairs: Array<[number, number]>): Map<number, number> => new Map(pairs);

test('handlingQuantileMs interpolates inside the bucket the rank falls in', () => {
  // 100 calls: 50 at or under 1 ms, 40 more at or under 2 ms, 9 more at or under 5 ms, 1 above 10 ms.
  const c = cumulative([[0.001, 50], [0.002, 90], [0.005, 99], [0.01, 99], [Number.POSITIVE_INFINITY, 100]]);
  assert.equal(handlingQuantileMs(c, 0.5), 1); // rank 50: the top of the first bucket
  assert.ok(Math.abs(handlingQuantileMs(c, 0.7) - 1.5) < 1e-9); // rank 70: half-way through 1–2 ms
  assert.ok(Math.abs(handlingQuantileMs(c, 0.99) - 5) < 1e-9);
  assert.equal(handlingQuantileMs(c, 0.999), 10); // in +Inf: the highest finite bound
});

test('handlingQuantileMs is NaN without counts', () => {
  assert.ok(Number.isNaN(handlingQuantileMs(new Map(), 0.5)));
  assert.ok(Number.isNaN(handlingQuantileMs(cumulative([[0.001, 0], [Number.POSITIVE_INFINITY, 0]]), 0.99)));
});

test('shareAboveMs counts what lies above a bound the buckets have', () => {
  const c = cumulative([[0.001, 50], [0.002, 90], [0.005, 99], [Number.POSITIVE_INFINITY, 100]]);
  assert.equal(shareAboveMs(c, 2), 0.1);
  assert.equal(shareAboveMs(c, 1), 0.5);
  assert.ok(Number.isNaN(shareAboveMs(c, 3)), 'no such bound');
  assert.ok(Number.isNaN(shareAboveMs(new Map(), 2)));
});

test('metricValues sums each name over its labels and skips comments', () => {
  const v = metricValues('# HELP x\nx{a="1"} 2\nx{a="2"} 3\ny 7.5\n');
  assert.equal(v.get('x'), 5);
  assert.equal(v.get('y'), 7.5);
  assert.equal(v.size, 2);
});
