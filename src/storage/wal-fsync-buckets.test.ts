import assert from 'node:assert/strict';
import { test } from 'node:test';
import { walFsyncBucketBounds } from './wal-fsync-buckets.js';

test('wal fsync buckets: the bounds hold etcd\'s (1 ms doubling 14 times) and rise', () => {
  const etcd = Array.from({ length: 14 }, (_, i) => 0.001 * 2 ** i);
  for (const b of etcd) assert.ok(walFsyncBucketBounds.includes(b), `bound ${b}`);
  assert.equal(String(walFsyncBucketBounds[walFsyncBucketBounds.length - 1]), '8.192');
  for (let i = 1; i < walFsyncBucketBounds.length; i++) assert.ok(walFsyncBucketBounds[i]! > walFsyncBucketBounds[i - 1]!);
});
