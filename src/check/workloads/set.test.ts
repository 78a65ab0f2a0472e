import { test } from 'node:test';
import assert from 'node:assert/strict';
import { done, lost } from '../test-support.js';
import type { SetHistory } from '../workload-histories.js';
import { checkWorkloadHistory } from './index.js';

const add = (element: string, client: number, call: number, ret: number | null): SetHistory['adds'][number] =>
  ret === null ? lost(client, call, { element }) : done(client, call, ret, { element }, {});

test('set: every acknowledged add present, unknown adds either way: ok', () => {
  const history: SetHistory = {
    workload: 'set',
    adds: [add('a', 0, 0, 5), add('b', 1, 1, 6), add('c', 0, 6, null), add('d', 1, 7, null)],
    finalRead: { time: 100, elements: ['a', 'b', 'c'] },
  };
  const verdict = checkWorkloadHistory(history);
  assert.equal(verdict.verdict, 'ok', verdict.summary);
  assert.match(verdict.summary, /^4 adds \(2 unknown\)/);
});

test('set: a lost acknowledged add is a violation naming it', () => {
  const history: SetHistory = {
    workload: 'set',
    adds: [add('a', 0, 0, 5), add('b', 1, 1, 6)],
    finalRead: { time: 100, elements: ['a'] },
  };
  const verdict = checkWorkloadHistory(history);
  assert.equal(verdict.verdict, 'violation');
  assert.equal(verdict.problems.length, 1);
  assert.match(verdict.problems[0]!, /acknowledged add #1 of "b" \(client 1, \[1, 6\]\) is missing/);
});

test('set: an element never added, or listed twice, is a violation', () => {
  const invented = checkWorkloadHistory({ workload: 'set', adds: [add('a', 0, 0, 5)], finalRead: { time: 10, elements: ['a', 'z'] } });
  assert.equal(invented.verdict, 'violation');
  assert.match(invented.problems.join('\n'), /"z" in the final read was never added/);
  const twice = checkWorkloadHistory({ workload: 'set', adds: [add('a', 0, 0, 5)], finalRead: { time: 10, elements: ['a', 'a'] } });
  assert.equal(twice.verdict, 'violation');
  assert.match(twice.problems.join('\n'), /appears twice/);
});

test('set: an add acknowledged after the final read was called need not be in it', () => {
  const history: SetHistory = { workload: 'set', adds: [add('a', 0, 0, 5), add('late', 1, 8, 20)], finalRead: { time: 10, elements: ['a'] } };
  assert.equal(checkWorkloadHistory(history).verdict, 'ok');
});

test('set: a failed final read is unknown, even with adds', () => {
  const verdict = checkWorkloadHistory({ workload: 'set', adds: [add('a', 0, 0, 5)], finalRead: null });
  assert.equal(verdict.verdict, 'unknown');
  assert.match(verdict.summary, /final read failed/);
});
