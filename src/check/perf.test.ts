import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Xoshiro128 } from '../lib/prng.js';
import { check } from './check.js';
import { generateKvHistory } from './generate.js';
import { kvModel } from './kv-model.js';

// Prints, does not assert, how long large histories take (timings depend on the machine).
test('performance: 10k-operation histories over 10 keys with 8 clients', () => {
  for (const { durationTicksMax, unknownRate } of [
    { durationTicksMax: 20, unknownRate: 0 },
    { durationTicksMax: 20, unknownRate: 0.05 },
    { durationTicksMax: 200, unknownRate: 0.05 },
  ]) {
    for (const seed of [1, 2, 3]) {
      const { history } = generateKvHistory(new Xoshiro128(seed), { operations: 10_000, clients: 8, keys: 10, unknownRate, durationTicksMax });
      const started = performance.now();
      const result = check(history, kvModel, { timeBudgetMs: 60_000, now: () => performance.now() });
      const tookMs = performance.now() - started;
      assert.equal(result.verdict, 'ok');
      const memo = result.partitions.reduce((n, p) => n + p.memoEntries, 0);
      console.log(
        `check perf: 10000 ops, 10 keys, 8 clients, duration ≤${durationTicksMax} ticks, unknown ${unknownRate * 100}%, seed ${seed}: ` +
          `${tookMs.toFixed(1)} ms, ${result.steps} steps, ${memo} memo entries`,
      );
    }
  }
});
