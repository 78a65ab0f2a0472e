import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, describeCheckResult } from './check.js';
import { CheckErrorCode, CheckInputError, type Operation } from './history.js';
import { kv, kvModel, type KvInput, type KvOutput } from './kv-model.js';
import { sequenceModel, type SequenceInput, type SequenceOutput } from './sequence-model.js';
import { done, lost } from './test-support.js';

type KvOp = Operation<KvInput, KvOutput>;

/**
 * adversarialHistory: `writers` puts of distinct values, all concurrent, then a read of a value
 * none of them wrote. Proving it illegal means visiting every (subset of puts, last put) pair:
 * about writers · 2^(writers-1) memo entries.
 */
function adversarialHistory(writers: number, key = 'big'): KvOp[] {
  const history: KvOp[] = [];
  for (let i = 0; i < writers; i++) history.push(done(i, i, 1000 + i, kv.put(key, `w${i}`), {}));
  history.push(done(writers, 2000, 2010, kv.get(key), { value: 'never' }));
  return history;
}

test('time budget: a large adversarial history with a tiny budget yields unknown', () => {
  let clockReads = 0;
  const now = (): number => {
    clockReads++;
    return performance.now();
  };
  const started = performance.now();
  const result = check(adversarialHistory(40), kvModel, { timeBudgetMs: 20, now });
  const tookMs = performance.now() - started;
  assert.equal(result.verdict, 'unknown', describeCheckResult(result));
  assert.equal(result.unknownReason, 'time-budget');
  assert.equal(result.counterexample, undefined);
  assert.ok(result.steps > 0 && clockReads > 1);
  assert.ok(tookMs < 1000, `the budget was overrun: ${tookMs} ms`);
  assert.ok(result.elapsedMs !== undefined && result.elapsedMs >= 20);
});

test('the same adversarial history is decided illegal when small enough and unbudgeted', () => {
  const result = check(adversarialHistory(8), kvModel);
  assert.equal(result.verdict, 'illegal');
  assert.equal(result.counterexample!.blocking, 8);
  assert.equal(result.counterexample!.linearizedPrefix.length, 8);
  assert.equal(result.partitions[0]!.memoEntries, 8 * 2 ** 7);
});

test('unknown-outcome operations that only repeat a state do not multiply the search', () => {
  // 40 abandoned puts of the same value, then an impossible read. Without the memo's dominance
  // rule every subset of the 40 puts would be a distinct configuration (2^40).
  const history: KvOp[] = [];
  for (let i = 0; i < 40; i++) history.push(lost(i, 0, kv.put('x', 'a')));
  history.push(done(99, 10, 20, kv.get('x'), { value: 'zzz' }));
  const result = check(history, kvModel, { stepBudget: 200_000 });
  assert.equal(result.verdict, 'illegal', describeCheckResult(result));
  assert.ok(result.partitions[0]!.memoEntries <= 41, `memo entries ${result.partitions[0]!.memoEntries}`);
});

test('step budget: deterministic unknown, same step count on every run', () => {
  const run = (): ReturnType<typeof check> => check(adversarialHistory(30), kvModel, { stepBudget: 50_000 });
  const a = run();
  const b = run();
  assert.equal(a.verdict, 'unknown');
  assert.equal(a.unknownReason, 'step-budget');
  assert.equal(a.steps, b.steps);
  assert.ok(a.steps > 50_000 && a.steps <= 50_000 + 1024);
  assert.equal(a.elapsedMs, undefined, 'no clock was given');
});

test('memo budget: unknown when the memo outgrows its cap', () => {
  const result = check(adversarialHistory(30), kvModel, { memoBytesMax: 1 << 20 });
  assert.equal(result.verdict, 'unknown');
  assert.equal(result.unknownReason, 'memo-budget');
});

test('partitions are checked smallest first: a small illegal key is found even when a big one exhausts the budget', () => {
  const staleRead: KvOp[] = [done(1, 0, 10, kv.put('small', '1'), {}), done(1, 20, 30, kv.put('small', '2'), {}), done(2, 40, 50, kv.get('small'), { value: '1' })];
  const illegal = check([...adversarialHistory(30), ...staleRead], kvModel, { stepBudget: 10_000 });
  assert.equal(illegal.verdict, 'illegal');
  assert.equal(illegal.counterexample!.key, 'small');
  const fine = check([...adversarialHistory(30), ...staleRead.slice(0, 2)], kvModel, { stepBudget: 10_000 });
  assert.equal(fine.verdict, 'unknown');
  assert.deepEqual(fine.partitions.map((p) => [p.key, p.verdict]), [['small', 'ok'], ['big', 'unknown']]);
});

test('malformed histories and options are refused with stable codes', () => {
  const codeOf = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (error) {
      assert.ok(error instanceof CheckInputError);
      return error.code;
    }
    return undefined;
  };
  assert.equal(codeOf(() => check([done(1, 10, 5, kv.get('x'), {})], kvModel)), CheckErrorCode.BadTime);
  assert.equal(codeOf(() => check([done(1, NaN, 5, kv.get('x'), {})], kvModel)), CheckErrorCode.BadTime);
  assert.equal(codeOf(() => check([lost(1, Infinity, kv.get('x'))], kvModel)), CheckErrorCode.BadTime);
  assert.equal(codeOf(() => check([], kvModel, { timeBudgetMs: 10 })), CheckErrorCode.BadOptions);
  assert.equal(codeOf(() => check([], kvModel, { stepBudget: 0 })), CheckErrorCode.BadOptions);
  assert.equal(codeOf(() => check([], kvModel, { stepBudget: 5 })), undefined);
});

type SeqOp = Operation<SequenceInput, SequenceOutput>;
const next = (c: number, call: number, ret: number, value: number, key = 's'): SeqOp => done(c, call, ret, { key }, { value });

test('unique-sequence model: increasing, unique, gapless except for unknown-outcome calls', () => {
  const verdict = (history: SeqOp[]): string => check(history, sequenceModel).verdict;
  assert.equal(verdict([next(1, 0, 10, 2), next(2, 5, 15, 1), next(1, 20, 30, 3)]), 'ok');
  assert.equal(verdict([next(1, 0, 10, 1), next(2, 5, 15, 1)]), 'illegal', 'duplicate');
  assert.equal(verdict([next(1, 0, 10, 2), next(2, 20, 30, 1)]), 'illegal', 'against real-time order');
  assert.equal(verdict([next(1, 0, 10, 1), next(2, 20, 30, 3)]), 'illegal', 'gap');
  assert.equal(verdict([next(1, 0, 10, 1), lost(3, 5, { key: 's' }), next(2, 20, 30, 3)]), 'ok', 'gap taken by an unknown call');
  assert.equal(verdict([next(1, 0, 10, 1), lost(3, 5, { key: 's' }), next(2, 20, 30, 2)]), 'ok', 'unknown call never happened');
  assert.equal(verdict([next(1, 0, 10, 1), next(2, 20, 30, 1, 't')]), 'ok', 'sequences are independent');
});
