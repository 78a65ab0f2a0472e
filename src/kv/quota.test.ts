import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MvccStore } from './mvcc-store.js';
import { b, errorOf, unwrap } from './testing.js';
import { AlarmAction, AlarmType } from './types.js';

test('exceeding the quota arms NOSPACE: writes refused, reads and deletes allowed, disarm restores', () => {
  const store = new MvccStore({ limits: { quotaBytes: 1000 } });
  unwrap(store.put({ key: b('a'), value: new Uint8Array(500) }));
  const NOSPACE = 'etcdserver: mvcc: database space exceeded';
  assert.equal(errorOf(store.put({ key: b('b'), value: new Uint8Array(500) })), NOSPACE);
  assert.deepEqual(store.alarms(), [{ memberId: 0n, alarm: AlarmType.NoSpace }]);
  assert.equal(errorOf(store.put({ key: b('tiny'), value: b('1') })), NOSPACE, 'armed: every put is refused');
  assert.equal(errorOf(store.leaseGrant({ id: 1n, ttl: 10 })), NOSPACE);
  assert.equal(errorOf(store.txn({ compare: [], success: [], failure: [{ type: 'put', request: { key: b('x') } }] })), NOSPACE);
  assert.equal(unwrap(store.txn({ compare: [], success: [{ type: 'range', request: { key: b('a') } }], failure: [] })).responses.length, 1);
  assert.equal(unwrap(store.range({ key: b('a') })).count, 1);
  unwrap(store.deleteRange({ key: b('a') }));
  unwrap(store.compact({ revision: store.currentRevision }));
  const listed = unwrap(store.alarm({ action: AlarmAction.Get, memberId: 0n, alarm: AlarmType.None })).alarms;
  assert.equal(listed.length, 1);
  unwrap(store.alarm({ action: AlarmAction.Deactivate, memberId: 0n, alarm: AlarmType.NoSpace }));
  assert.deepEqual(store.alarms(), []);
  unwrap(store.put({ key: b('b'), value: new Uint8Array(500) }));
});

test('alarms activate per member and are listed by type', () => {
  const store = new MvccStore();
  unwrap(store.alarm({ action: AlarmAction.Activate, memberId: 2n ** 63n + 5n, alarm: AlarmType.Corrupt }));
  unwrap(store.alarm({ action: AlarmAction.Activate, memberId: 1n, alarm: AlarmType.NoSpace }));
  assert.equal(store.alarms(AlarmType.Corrupt).length, 1);
  assert.equal(store.alarms().length, 2);
  assert.equal(errorOf(store.put({ key: b('k') })), 'etcdserver: mvcc: database space exceeded');
});
