import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MvccStore } from './mvcc-store.js';
import { b, brief, errorOf, str, unwrap } from './testing.js';

test('grant: client ids, generated ids, exists, TTL bounds', () => {
  const store = new MvccStore({ limits: { leaseTtlSecondsMin: 5 } });
  assert.deepEqual(unwrap(store.leaseGrant({ id: 1n << 62n, ttl: 60 })).id, 1n << 62n);
  assert.equal(errorOf(store.leaseGrant({ id: 1n << 62n, ttl: 60 })), 'etcdserver: lease already exists');
  assert.equal(errorOf(store.leaseGrant({ ttl: 9_000_000_001 })), 'etcdserver: too large lease TTL');
  assert.equal(unwrap(store.leaseGrant({ id: 3n, ttl: 1 })).ttl, 5, 'raised to the minimum');
  const generated = unwrap(store.leaseGrant({ ttl: 10 })).id;
  assert.ok(generated > 0n);
  // another store fed the same commands generates the same id
  const twin = new MvccStore({ limits: { leaseTtlSecondsMin: 5 } });
  twin.leaseGrant({ id: 1n << 62n, ttl: 60 });
  twin.leaseGrant({ id: 3n, ttl: 1 });
  assert.equal(unwrap(twin.leaseGrant({ ttl: 10 })).id, generated);
  assert.deepEqual(store.leaseIds(), [3n, generated, 1n << 62n].sort((x, y) => (x < y ? -1 : 1)));
  assert.equal(store.currentRevision, 1, 'grants consume no revision');
});

test('revoke deletes every attached key in one revision, in key order', () => {
  const store = new MvccStore();
  unwrap(store.leaseGrant({ id: 9n, ttl: 30 }));
  unwrap(store.put({ key: b('z'), value: b('1'), lease: 9n })); // 2
  unwrap(store.put({ key: b('a'), value: b('1'), lease: 9n })); // 3
  unwrap(store.put({ key: b('m'), value: b('1') })); // 4
  unwrap(store.put({ key: b('moved'), value: b('1'), lease: 9n })); // 5
  unwrap(store.put({ key: b('moved'), value: b('2') })); // 6: detached
  assert.deepEqual(store.leaseInfo(9n)!.keys.map(str), ['a', 'z']);
  const revoked = store.leaseRevoke({ id: 9n });
  assert.ok(revoked.ok);
  assert.equal(revoked.response.header.revision, 7);
  assert.deepEqual(revoked.events.map((e) => `${e.type}:${str(e.kv.key)}@${e.kv.modRevision}`), ['1:a@7', '1:z@7']);
  assert.deepEqual(unwrap(store.range({ key: b('\0'), rangeEnd: b('\0') })).kvs.map(brief), ['m=1@4/4/1', 'moved=2@5/6/2']);
  assert.equal(store.leaseInfo(9n), undefined);
  assert.equal(errorOf(store.leaseRevoke({ id: 9n })), 'etcdserver: requested lease not found');
  unwrap(store.leaseGrant({ id: 10n, ttl: 30 }));
  assert.equal(unwrap(store.leaseRevoke({ id: 10n })).header.revision, 7, 'revoking a lease without keys takes no revision');
});

test('checkpoints persist remaining TTL; deletes detach keys', () => {
  const store = new MvccStore();
  unwrap(store.leaseGrant({ id: 1n, ttl: 100 }));
  unwrap(store.put({ key: b('k'), value: b('v'), lease: 1n }));
  unwrap(store.leaseCheckpoint({ checkpoints: [{ id: 1n, remainingTtl: 42 }, { id: 404n, remainingTtl: 1 }] }));
  assert.deepEqual(store.leaseInfo(1n), { id: 1n, grantedTtl: 100, remainingTtl: 42, keys: [b('k')] });
  unwrap(store.deleteRange({ key: b('k') }));
  assert.deepEqual(store.leaseInfo(1n)!.keys, []);
});
