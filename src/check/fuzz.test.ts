import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Xoshiro128, randomInt } from '../lib/prng.js';
import { check, describeCheckResult } from './check.js';
import { generateKvHistory } from './generate.js';
import type { History, Operation } from './history.js';
import { kvModel, type KvInput, type KvOutput } from './kv-model.js';
import type { Model } from './model.js';

const FUZZ_RUNS = 300;
/** Each check is bounded; running out shows up as verdict 'unknown' and fails the run rather than hanging it. */
const BUDGET = { timeBudgetMs: 10_000, now: () => performance.now() } as const;

const shape = fc.record({
  seed: fc.integer({ min: 0, max: 0x7fffffff }),
  operations: fc.integer({ min: 1, max: 120 }),
  clients: fc.integer({ min: 1, max: 8 }),
  keys: fc.integer({ min: 1, max: 4 }),
  unknownRate: fc.double({ min: 0, max: 0.3, noNaN: true }),
  durationTicksMax: fc.integer({ min: 1, max: 40 }),
});

test('fuzz: histories generated from a linearizable map are accepted', () => {
  fc.assert(
    fc.property(shape, (s) => {
      const { history } = generateKvHistory(new Xoshiro128(s.seed), s);
      const result = check(history, kvModel, BUDGET);
      assert.equal(result.verdict, 'ok', describeCheckResult(result));
    }),
    { numRuns: FUZZ_RUNS },
  );
});

// Proving a history illegal visits every configuration before the failure, which grows
// exponentially with the unknown-outcome operations pending on one key; keep them few here.
const mutationShape = fc.record({
  seed: fc.integer({ min: 0, max: 0x7fffffff }),
  operations: fc.integer({ min: 1, max: 80 }),
  clients: fc.integer({ min: 1, max: 8 }),
  keys: fc.integer({ min: 1, max: 4 }),
  unknownRate: fc.double({ min: 0, max: 0.1, noNaN: true }),
  durationTicksMax: fc.integer({ min: 1, max: 40 }),
});

test('fuzz: corrupting one read to a value never written is rejected, and the counterexample names that key', () => {
  fc.assert(
    fc.property(mutationShape, fc.nat(), (s, pick) => {
      const { history } = generateKvHistory(new Xoshiro128(s.seed), s);
      const reads = history.flatMap((op, i) => (op.returnTime !== null && op.input.type === 'get' ? [i] : []));
      fc.pre(reads.length > 0);
      const victim = reads[pick % reads.length]!;
      const corrupted = history.map((op, i): Operation<KvInput, KvOutput> =>
        i === victim && op.returnTime !== null ? { ...op, output: { value: 'never-written' } } : op,
      );
      const result = check(corrupted, kvModel, BUDGET);
      assert.equal(result.verdict, 'illegal', describeCheckResult(result));
      assert.equal(result.counterexample!.key, history[victim]!.input.key);
    }),
    { numRuns: FUZZ_RUNS },
  );
});

/**
 * isLinearizableByBruteForce is the naive reference: try every order of the operations that
 * respects real time (a before b when a returns strictly before b is called), where an
 * unknown-outcome operation may also be left out, with no memo and no pruning.
 */
function isLinearizableByBruteForce<S, I, O>(history: History<I, O>, model: Model<S, I, O>): boolean {
  const n = history.length;
  const used = new Array<boolean>(n).fill(false);
  const explore = (state: S): boolean => {
    if (history.every((op, i) => used[i] || op.returnTime === null)) return true;
    for (let i = 0; i < n; i++) {
      if (used[i]) continue;
      const op = history[i]!;
      const mustWait = history.some((other, j) => !used[j] && j !== i && other.returnTime !== null && other.returnTime < op.callTime);
      if (mustWait) continue;
      const result = model.step(state, op.input, op.returnTime === null ? undefined : op.output);
      if (!result.ok) continue;
      used[i] = true;
      const found = explore(result.next);
      used[i] = false;
      if (found) return true;
    }
    return false;
  };
  return explore(model.init());
}

/** randomTinyHistory draws an arbitrary (often non-linearizable) history over one key and 3 values. */
function randomTinyHistory(seed: number, size: number): Array<Operation<KvInput, KvOutput>> {
  const prng = new Xoshiro128(seed);
  const values = ['a', 'b', 'c'];
  const value = (): string => values[randomInt(prng, values.length)]!;
  const maybeValue = (): string | undefined => (randomInt(prng, 4) === 0 ? undefined : value());
  const history: Array<Operation<KvInput, KvOutput>> = [];
  for (let i = 0; i < size; i++) {
    const clientId = randomInt(prng, 3);
    const callTime = randomInt(prng, 10);
    const returnTime = callTime + randomInt(prng, 6);
    const kind = randomInt(prng, 4);
    const input: KvInput =
      kind === 0 ? { type: 'put', key: 'x', value: value() }
      : kind === 1 ? { type: 'get', key: 'x' }
      : kind === 2 ? { type: 'cas', key: 'x', expected: maybeValue(), value: value() }
      : { type: 'delete', key: 'x' };
    const output: KvOutput = kind === 1 ? { value: maybeValue() } : kind === 2 ? { ok: randomInt(prng, 2) === 0 } : {};
    history.push(randomInt(prng, 6) === 0 ? { clientId, callTime, returnTime: null, input } : { clientId, callTime, returnTime, input, output });
  }
  return history;
}

test('differential: the checker agrees with a brute-force search on tiny arbitrary histories', () => {
  let illegal = 0;
  let ok = 0;
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0x7fffffff }), fc.integer({ min: 1, max: 8 }), (seed, size) => {
      const history = randomTinyHistory(seed, size);
      const expected = isLinearizableByBruteForce(history, kvModel);
      const result = check(history, kvModel);
      assert.equal(result.verdict, expected ? 'ok' : 'illegal', `${JSON.stringify(history)}\n${describeCheckResult(result)}`);
      if (expected) ok++;
      else illegal++;
    }),
    { numRuns: 3000 },
  );
  // Both answers must be well represented, or the comparison proves little.
  assert.ok(ok > 200 && illegal > 200, `ok ${ok}, illegal ${illegal}`);
});
