import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, describeCheckResult, type CheckResult } from './check.js';
import type { Operation } from './history.js';
import { kv, kvModel, type KvInput, type KvOutput } from './kv-model.js';
import { done, lost } from './test-support.js';

type KvOp = Operation<KvInput, KvOutput>;
const put = (c: number, call: number, ret: number, value: string, key = 'x'): KvOp => done(c, call, ret, kv.put(key, value), {});
const get = (c: number, call: number, ret: number, value: string | undefined, key = 'x'): KvOp => done(c, call, ret, kv.get(key), { value });
const cas = (c: number, call: number, ret: number, expected: string | undefined, value: string, ok: boolean, key = 'x'): KvOp =>
  done(c, call, ret, kv.cas(key, expected, value), { ok });
const del = (c: number, call: number, ret: number, deleted?: boolean, key = 'x'): KvOp =>
  done(c, call, ret, kv.delete(key), deleted === undefined ? {} : { deleted });

function expectVerdict(history: KvOp[], verdict: CheckResult['verdict']): CheckResult {
  const result = check(history, kvModel);
  assert.equal(result.verdict, verdict, describeCheckResult(result));
  return result;
}

test('stale read: an old value is read after a newer write completed', () => {
  const result = expectVerdict([put(1, 0, 10, '1'), put(1, 20, 30, '2'), get(2, 40, 50, '1')], 'illegal');
  const cx = result.counterexample!;
  assert.equal(cx.key, 'x');
  assert.equal(cx.blocking, 2, 'the read is the operation that cannot be linearized');
  assert.deepEqual(cx.linearizedPrefix, [0, 1]);
  assert.deepEqual(cx.pending, [2]);
  assert.equal(cx.operations.find((op) => op.historyIndex === 1)!.stateAfter, '"2"');
});

test('read from the future: a read returns a value whose write started after the read returned', () => {
  expectVerdict([get(1, 0, 10, '1'), put(2, 20, 30, '1')], 'illegal');
  // Also when the write's outcome is unknown: it cannot take effect before its call.
  expectVerdict([get(1, 0, 10, '1'), lost(2, 20, kv.put('x', '1'))], 'illegal');
});

test('lost write: an acknowledged write is not visible to a later read and nothing intervenes', () => {
  expectVerdict([put(1, 0, 10, '1'), get(2, 20, 30, undefined)], 'illegal');
  expectVerdict([put(1, 0, 10, '1'), put(1, 20, 30, '2'), get(2, 40, 50, '2'), get(2, 60, 70, undefined)], 'illegal');
});

test('value never written', () => {
  expectVerdict([put(1, 0, 10, '1'), get(2, 5, 30, 'zzz')], 'illegal');
  expectVerdict([get(2, 5, 30, 'zzz')], 'illegal');
});

test('CAS anomalies: two successful CAS from the same expected value, success on a mismatch, failure on a match', () => {
  expectVerdict([put(1, 0, 5, '0'), cas(1, 10, 20, '0', 'a', true), cas(2, 10, 20, '0', 'b', true)], 'illegal');
  expectVerdict([put(1, 0, 5, '1'), cas(2, 10, 20, '0', '2', true)], 'illegal');
  expectVerdict([put(1, 0, 5, '0'), cas(2, 10, 20, '0', '1', false)], 'illegal');
  expectVerdict([cas(2, 10, 20, undefined, '1', false)], 'illegal');
  // A successful CAS's write must be visible afterwards.
  expectVerdict([put(1, 0, 5, '0'), cas(2, 10, 20, '0', '1', true), get(3, 30, 40, '0')], 'illegal');
});

test('CAS: accepted when a concurrent write explains the failure; create-if-absent', () => {
  expectVerdict([put(1, 0, 5, '0'), cas(2, 10, 20, '0', 'a', true), cas(3, 10, 20, '0', 'b', false), get(1, 30, 40, 'a')], 'ok');
  expectVerdict([put(1, 0, 5, '0'), put(2, 10, 20, '1'), cas(3, 10, 20, '0', 'a', false), get(1, 30, 40, '1')], 'ok');
  expectVerdict([cas(1, 0, 5, undefined, 'a', true), cas(2, 6, 8, undefined, 'b', false), get(3, 9, 10, 'a')], 'ok');
});

test('delete: the key is absent afterwards; deleted reports whether a value existed', () => {
  expectVerdict([put(1, 0, 5, '1'), del(2, 10, 20, true), get(3, 30, 40, undefined)], 'ok');
  expectVerdict([put(1, 0, 5, '1'), del(2, 10, 20), get(3, 30, 40, '1')], 'illegal');
  expectVerdict([del(2, 10, 20, true)], 'illegal');
  expectVerdict([put(1, 0, 5, '1'), del(2, 10, 20, false)], 'illegal');
});

test('concurrent writes may be read in either order, but not both orders', () => {
  const writes = [put(1, 0, 10, 'a'), put(2, 0, 10, 'b')];
  expectVerdict([...writes, get(3, 20, 30, 'a')], 'ok');
  expectVerdict([...writes, get(3, 20, 30, 'b')], 'ok');
  expectVerdict([...writes, get(3, 20, 30, 'a'), get(3, 40, 50, 'b')], 'illegal');
});

test('reads overlapping a write may see the old or the new value, but never new then old', () => {
  expectVerdict([put(1, 0, 100, 'a'), get(2, 10, 20, undefined), get(3, 30, 40, 'a'), get(2, 50, 60, 'a')], 'ok');
  expectVerdict([put(1, 0, 100, 'a'), get(2, 10, 20, 'a'), get(3, 30, 40, undefined)], 'illegal');
  // Overlapping reads may observe the two sides of the write in either order among themselves.
  expectVerdict([put(1, 0, 100, 'a'), get(2, 10, 50, 'a'), get(3, 20, 60, undefined)], 'ok');
});

test('operations touching at one instant count as concurrent', () => {
  expectVerdict([put(1, 0, 10, 'a'), get(2, 10, 20, undefined)], 'ok');
  expectVerdict([put(1, 0, 10, 'a'), get(2, 11, 20, undefined)], 'illegal');
});

test('unknown-outcome writes that did or did not take effect', () => {
  const timedOut = lost(1, 0, kv.put('x', 'a'));
  expectVerdict([timedOut, get(2, 10, 20, 'a')], 'ok');
  expectVerdict([timedOut, get(2, 10, 20, undefined)], 'ok');
  // It may take effect long after the client gave up, but only once.
  expectVerdict([timedOut, get(2, 10, 20, undefined), get(2, 1000, 1010, 'a')], 'ok');
  expectVerdict([timedOut, get(2, 10, 20, 'a'), get(2, 30, 40, undefined)], 'illegal');
  expectVerdict([put(3, 0, 5, 'b'), timedOut, get(2, 10, 20, 'a'), get(2, 30, 40, 'b')], 'illegal');
  // An unknown CAS may succeed (if its expectation held) or never happen.
  const maybeCas = lost(1, 10, kv.cas('x', 'a', 'c'));
  expectVerdict([put(2, 0, 5, 'a'), maybeCas, get(3, 20, 30, 'c')], 'ok');
  expectVerdict([put(2, 0, 5, 'a'), maybeCas, get(3, 20, 30, 'a')], 'ok');
  expectVerdict([put(2, 0, 5, 'b'), maybeCas, get(3, 20, 30, 'c')], 'illegal');
  // Unknown-outcome reads constrain nothing and are dropped before the search.
  const result = expectVerdict([put(1, 0, 5, 'a'), lost(2, 6, kv.get('x'))], 'ok');
  assert.equal(result.partitions[0]!.droppedUnknownReads, 1);
});

test('keys are independent partitions; the counterexample names the offending key', () => {
  const history = [put(1, 0, 10, 'a', 'k1'), get(2, 20, 30, 'a', 'k1'), put(1, 40, 50, 'b', 'k2'), get(2, 60, 70, 'a', 'k2')];
  const result = expectVerdict(history, 'illegal');
  assert.equal(result.counterexample!.key, 'k2');
  assert.deepEqual(result.counterexample!.operations.map((op) => op.historyIndex), [2, 3]);
  // A value written to another key does not satisfy a read.
  expectVerdict([put(1, 0, 10, 'a', 'k1'), get(2, 20, 30, 'a', 'k2')], 'illegal');
  const ok = expectVerdict(history.slice(0, 3), 'ok');
  assert.deepEqual(ok.partitions.map((p) => p.key).sort(), ['k1', 'k2']);
});

test('an empty history and one of only unknown outcomes are linearizable', () => {
  expectVerdict([], 'ok');
  expectVerdict([lost(1, 0, kv.put('x', 'a')), lost(2, 0, kv.delete('x'))], 'ok');
});

test('describeCheckResult explains a counterexample', () => {
  const result = expectVerdict([put(1, 0, 10, '1'), put(1, 20, 30, '2'), get(2, 40, 50, '1')], 'illegal');
  const text = describeCheckResult(result);
  assert.match(text, /kv-register: illegal/);
  assert.match(text, /#2 c2 \[40, 50\] get\(\) → "1"/);
  assert.match(text, /must be linearized by now/);
});
