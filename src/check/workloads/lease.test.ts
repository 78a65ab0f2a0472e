import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LeaseHistory } from '../workload-histories.js';
import { checkWorkloadHistory } from './index.js';

type Lease = LeaseHistory['leases'][number];
const lease = (id: string, fate: Lease['fate'], endedAt: number | null, keys: string[], ttl = 2): Lease => ({ id, ttl, keys, fate, endedAt });
const history = (leases: Lease[], finalRead: LeaseHistory['finalRead']): LeaseHistory => ({
  workload: 'lease',
  prefix: '/l/',
  leases,
  expiryGrace: 500,
  finalRead,
});

test('lease: revoked and expired keys gone, kept keys present: ok', () => {
  const h = history(
    [lease('1', 'revoked', 1000, ['/l/a']), lease('2', 'abandoned', 1000, ['/l/b']), lease('3', 'kept', null, ['/l/c', '/l/d'])],
    { time: 4000, keys: ['/l/c', '/l/d'] },
  );
  const verdict = checkWorkloadHistory(h);
  assert.equal(verdict.verdict, 'ok', verdict.summary);
  assert.match(verdict.summary, /3 leases \(1 revoked, 1 abandoned, 1 kept\)/);
});

test('lease: a key of a revoked lease still present is a violation', () => {
  const verdict = checkWorkloadHistory(history([lease('7', 'revoked', 1000, ['/l/a'])], { time: 1200, keys: ['/l/a'] }));
  assert.equal(verdict.verdict, 'violation');
  assert.match(verdict.problems[0]!, /lease 7 .*revoked.*"\/l\/a" still present/);
});

test('lease: an abandoned lease is judged only after ttl (seconds → ms) plus the grace', () => {
  const leases = [lease('9', 'abandoned', 1000, ['/l/b'], 2)];
  // deadline = 1000 + 2 * 1000 + 500 = 3500
  assert.equal(checkWorkloadHistory(history(leases, { time: 3500, keys: ['/l/b'] })).verdict, 'ok');
  const late = checkWorkloadHistory(history(leases, { time: 3501, keys: ['/l/b'] }));
  assert.equal(late.verdict, 'violation');
  assert.match(late.problems[0]!, /after its expiry deadline 3500/);
});

test('lease: a lost key of a kept lease is a violation', () => {
  const verdict = checkWorkloadHistory(history([lease('3', 'kept', null, ['/l/c', '/l/d'])], { time: 4000, keys: ['/l/c'] }));
  assert.equal(verdict.verdict, 'violation');
  assert.match(verdict.problems.join('\n'), /"\/l\/d" missing/);
});

test('lease: a revoke acknowledged after the read was called is not judged; a failed read is unknown', () => {
  assert.equal(checkWorkloadHistory(history([lease('1', 'revoked', 5000, ['/l/a'])], { time: 4000, keys: ['/l/a'] })).verdict, 'ok');
  assert.equal(checkWorkloadHistory(history([lease('1', 'kept', null, ['/l/a'])], null)).verdict, 'unknown');
});
