import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKvHistory } from '../generate.js';
import { kv } from '../kv-model.js';
import { Xoshiro128 } from '../../lib/prng.js';
import { done, lost } from '../test-support.js';
import type { RegisterHistory } from '../workload-histories.js';
import { checkWorkloadHistory } from './index.js';

test('register: a linearizable history is ok, with its counts in the summary', () => {
  const operations = [done(0, 0, 5, kv.put('x', 'a'), {}), lost(1, 1, kv.put('x', 'b')), done(2, 6, 8, kv.get('x'), { value: 'b' })];
  const verdict = checkWorkloadHistory({ workload: 'register', operations });
  assert.equal(verdict.verdict, 'ok');
  assert.equal(verdict.summary, '3 ops (1 unknown): linearizable');
});

test('register: a stale read is a violation with a timeline page', () => {
  const operations = [done(0, 0, 5, kv.put('x', 'a'), {}), done(0, 6, 8, kv.put('x', 'b'), {}), done(1, 9, 10, kv.get('x'), { value: 'a' })];
  const verdict = checkWorkloadHistory({ workload: 'register', operations });
  assert.equal(verdict.verdict, 'violation');
  assert.match(verdict.summary, /not linearizable on key "x"/);
  assert.ok(verdict.problems.some((line) => line.includes('get() → "a"')));
  assert.match(verdict.html ?? '', /<svg/);
});

test('register: generated histories are accepted; a corrupted read is caught', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const { history } = generateKvHistory(new Xoshiro128(seed), { operations: 300, clients: 5, keys: 3 });
    const ok = checkWorkloadHistory({ workload: 'register', operations: history });
    assert.equal(ok.verdict, 'ok', `seed ${seed}: ${ok.summary}`);
    const i = history.findIndex((op) => op.input.type === 'get' && op.returnTime !== null);
    const corrupted = [...history];
    const op = history[i]!;
    corrupted[i] = done(op.clientId, op.callTime, op.returnTime!, op.input, { value: 'never-written' });
    assert.equal(checkWorkloadHistory({ workload: 'register', operations: corrupted }).verdict, 'violation', `seed ${seed}`);
  }
});

test('register: a spent time budget gives unknown', () => {
  const operations: Array<RegisterHistory['operations'][number]> = [];
  for (let i = 0; i < 30; i++) operations.push(done(i, i, 1000 + i, kv.put('big', `w${i}`), {}));
  operations.push(done(99, 2000, 2010, kv.get('big'), { value: 'never' }));
  let clock = 0;
  const verdict = checkWorkloadHistory({ workload: 'register', operations }, { timeBudgetMs: 5, now: () => (clock += 10) });
  assert.equal(verdict.verdict, 'unknown');
  assert.match(verdict.summary, /unknown \(time-budget/);
});
