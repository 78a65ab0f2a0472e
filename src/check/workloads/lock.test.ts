import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LockHistory } from '../workload-histories.js';
import { checkWorkloadHistory } from './index.js';

type Write = LockHistory['resourceLog'][number];
const w = (clientId: number, token: number, seq: number, time: number): Write => ({ clientId, token: String(token), seq, time });

function history(overrides: Partial<LockHistory> = {}): LockHistory {
  return {
    workload: 'lock',
    acquisitions: [
      { clientId: 0, token: '5', acquiredAt: 0, releasedAt: 10 },
      { clientId: 1, token: '8', acquiredAt: 11, releasedAt: null },
      { clientId: 2, token: '9', acquiredAt: 30, releasedAt: 40 },
    ],
    resourceLog: [w(0, 5, 0, 2), w(0, 5, 1, 4), w(1, 8, 0, 12), w(2, 9, 0, 31)],
    // Client 1 still believed it held the lock (its lease had expired): the fence rejected it.
    rejected: [w(1, 8, 1, 32)],
    acknowledged: [{ clientId: 0, token: '5', seq: 0 }, { clientId: 0, token: '5', seq: 1 }, { clientId: 2, token: '9', seq: 0 }],
    ...overrides,
  };
}
const problemsOf = (h: LockHistory): string => checkWorkloadHistory(h).problems.join('\n');

test('lock: fenced writes with overlapping believed holdings: ok', () => {
  const verdict = checkWorkloadHistory(history());
  assert.equal(verdict.verdict, 'ok', verdict.problems.join('\n'));
  assert.match(verdict.summary, /3 acquisitions, 4 accepted and 1 rejected writes: fenced; 0 acquisition/);
});

test('lock: a grant answered after the lock passed on is counted, not flagged', () => {
  // Client 3 was granted token 4 first, but its answer arrived after client 0 acquired (5) and released.
  const acquisitions = [...history().acquisitions, { clientId: 3, token: '4', acquiredAt: 20, releasedAt: 25 }];
  const verdict = checkWorkloadHistory(history({ acquisitions, rejected: [...history().rejected, w(3, 4, 0, 21)] }));
  assert.equal(verdict.verdict, 'ok', verdict.problems.join('\n'));
  assert.match(verdict.summary, /1 acquisition\(s\) answered after the lock had passed on/);
});

test('lock: a token going backwards in the resource log is a violation', () => {
  const h = history({ resourceLog: [w(0, 5, 0, 2), w(1, 8, 0, 12), w(0, 5, 1, 13), w(2, 9, 0, 31)] });
  assert.match(problemsOf(h), /accepted write #2 \(client 0, seq 1, token 5, at 13\): token goes back below 8/);
});

test('lock: two clients with one token are a violation', () => {
  const granted = history({ acquisitions: [...history().acquisitions, { clientId: 3, token: '8', acquiredAt: 12, releasedAt: 13 }] });
  assert.match(problemsOf(granted), /token 8 granted twice: client 1 at 11 and client 3 at 12/);
  const used = history({ resourceLog: [...history().resourceLog, w(3, 9, 0, 33)] });
  assert.match(problemsOf(used), /token 9 was granted to client 2/);
  const unknownToken = history({ resourceLog: [...history().resourceLog, w(2, 12, 1, 33)] });
  assert.match(problemsOf(unknownToken), /no acquisition returned token 12/);
});

test('lock: a write accepted before its acquisition returned, twice, or both accepted and rejected is a violation', () => {
  assert.match(problemsOf(history({ resourceLog: [w(0, 5, 0, 2), w(1, 8, 0, 10)] , acknowledged: [] })), /accepted before the acquisition returned at 11/);
  assert.match(problemsOf(history({ resourceLog: [...history().resourceLog, w(2, 9, 0, 35)] })), /accepted twice/);
  assert.match(problemsOf(history({ rejected: [w(2, 9, 0, 35)] })), /both accepted and rejected/);
});

test('lock: an acknowledged write missing from the resource log is a violation', () => {
  const h = history({ acknowledged: [...history().acknowledged, { clientId: 1, token: '8', seq: 1 }] });
  assert.match(problemsOf(h), /acknowledged write \(client 1, seq 1, token 8\) is not in the resource's log/);
});
