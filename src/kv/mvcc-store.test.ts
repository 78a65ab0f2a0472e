import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MvccStore } from './mvcc-store.js';
import { b, brief, errorOf, str, unwrap } from './testing.js';
import { SortOrder, SortTarget } from './types.js';
import { prefixEnd } from './bytes.js';

function keys(store: MvccStore, key = '\0', rangeEnd = '\0', revision = 0): string[] {
  return unwrap(store.range({ key: b(key), rangeEnd: b(rangeEnd), revision })).kvs.map(brief);
}

test('a fresh store is at revision 1 and the first write gets revision 2 (as etcd)', () => {
  const store = new MvccStore();
  assert.equal(store.currentRevision, 1);
  const put = unwrap(store.put({ key: b('a'), value: b('1') }));
  assert.equal(put.header.revision, 2);
  assert.deepEqual(keys(store), ['a=1@2/2/1']);
});

test('put, overwrite, delete and re-create: revisions, versions and create revision', () => {
  const store = new MvccStore();
  unwrap(store.put({ key: b('k'), value: b('v1') })); // 2
  unwrap(store.put({ key: b('k'), value: b('v2') })); // 3
  assert.deepEqual(keys(store), ['k=v2@2/3/2']);
  const del = unwrap(store.deleteRange({ key: b('k'), prevKv: true })); // 4
  assert.equal(del.header.revision, 4);
  assert.equal(del.deleted, 1);
  assert.deepEqual(del.prevKvs.map(brief), ['k=v2@2/3/2']);
  assert.deepEqual(keys(store), []);
  unwrap(store.put({ key: b('k'), value: b('v3') })); // 5: version resets, new create revision
  assert.deepEqual(keys(store), ['k=v3@5/5/1']);
  // history stays readable
  assert.deepEqual(keys(store, '\0', '\0', 2), ['k=v1@2/2/1']);
  assert.deepEqual(keys(store, '\0', '\0', 3), ['k=v2@2/3/2']);
  assert.deepEqual(keys(store, '\0', '\0', 4), []);
  assert.equal(errorOf(store.range({ key: b('k'), revision: 6 })), 'etcdserver: mvcc: required revision is a future revision');
});

test('deleting nothing consumes no revision; header reports the current one', () => {
  const store = new MvccStore();
  unwrap(store.put({ key: b('a'), value: b('1') }));
  const del = unwrap(store.deleteRange({ key: b('zzz') }));
  assert.equal(del.deleted, 0);
  assert.equal(del.header.revision, 2);
  assert.equal(store.currentRevision, 2);
});

test('range forms: single key, [key, end), prefix, from-key with "\\0"', () => {
  const store = new MvccStore();
  for (const k of ['a', 'ab', 'abc', 'b', 'c']) unwrap(store.put({ key: b(k), value: b(k) }));
  const names = (key: string, rangeEnd?: Uint8Array): string[] =>
    unwrap(store.range(rangeEnd === undefined ? { key: b(key) } : { key: b(key), rangeEnd })).kvs.map((kv) => str(kv.key));
  assert.deepEqual(names('ab'), ['ab']);
  assert.deepEqual(names('a', b('b')), ['a', 'ab', 'abc']);
  assert.deepEqual(names('ab', prefixEnd(b('ab'))), ['ab', 'abc']);
  assert.deepEqual(names('b', Uint8Array.of(0)), ['b', 'c']);
  assert.deepEqual(names('c', b('a')), []);
  assert.equal(errorOf(store.range({ key: new Uint8Array(0) })), 'etcdserver: key is not provided');
});

test('limit, more, count, keysOnly and countOnly', () => {
  const store = new MvccStore();
  for (const k of ['a', 'b', 'c', 'd']) unwrap(store.put({ key: b(k), value: b('v' + k) }));
  const r = unwrap(store.range({ key: b('a'), rangeEnd: b('z'), limit: 2 }));
  assert.deepEqual(r.kvs.map((kv) => str(kv.key)), ['a', 'b']);
  assert.equal(r.more, true);
  assert.equal(r.count, 4);
  const all = unwrap(store.range({ key: b('a'), rangeEnd: b('z'), limit: 4 }));
  assert.equal(all.more, false);
  const keysOnly = unwrap(store.range({ key: b('a'), keysOnly: true }));
  assert.equal(keysOnly.kvs[0]!.value.length, 0);
  assert.equal(keysOnly.kvs[0]!.version, 1);
  const countOnly = unwrap(store.range({ key: b('a'), rangeEnd: b('z'), countOnly: true }));
  assert.deepEqual(countOnly.kvs, []);
  assert.equal(countOnly.count, 4);
});

test('sort: order and target as etcd, including ascending by default for a non-key target', () => {
  const store = new MvccStore();
  unwrap(store.put({ key: b('a'), value: b('3') })); // 2
  unwrap(store.put({ key: b('b'), value: b('1') })); // 3
  unwrap(store.put({ key: b('c'), value: b('2') })); // 4
  unwrap(store.put({ key: b('b'), value: b('1') })); // 5 (b: version 2, mod 5)
  const sorted = (sortOrder: SortOrder | undefined, sortTarget: SortTarget | undefined, limit = 0): string[] =>
    unwrap(store.range({ key: b('a'), rangeEnd: b('z'), limit,
      ...(sortOrder !== undefined ? { sortOrder } : {}), ...(sortTarget !== undefined ? { sortTarget } : {}) }))
      .kvs.map((kv) => str(kv.key));
  assert.deepEqual(sorted(undefined, undefined), ['a', 'b', 'c']);
  assert.deepEqual(sorted(SortOrder.Descend, SortTarget.Key), ['c', 'b', 'a']);
  assert.deepEqual(sorted(undefined, SortTarget.Value), ['b', 'c', 'a']);
  assert.deepEqual(sorted(SortOrder.Descend, SortTarget.Value), ['a', 'c', 'b']);
  assert.deepEqual(sorted(SortOrder.Ascend, SortTarget.Mod), ['a', 'c', 'b']);
  assert.deepEqual(sorted(SortOrder.Descend, SortTarget.Create), ['c', 'b', 'a']);
  assert.deepEqual(sorted(SortOrder.Descend, SortTarget.Version), ['b', 'a', 'c']);
  // limit applies after sorting
  assert.deepEqual(sorted(SortOrder.Descend, SortTarget.Key, 1), ['c']);
});

test('min/max mod and create revision filters prune kvs but not count (as etcd)', () => {
  const store = new MvccStore();
  unwrap(store.put({ key: b('a'), value: b('1') })); // 2
  unwrap(store.put({ key: b('b'), value: b('1') })); // 3
  unwrap(store.put({ key: b('c'), value: b('1') })); // 4
  unwrap(store.put({ key: b('a'), value: b('2') })); // 5
  const names = (extra: object): [string[], number] => {
    const r = unwrap(store.range({ key: b('a'), rangeEnd: b('z'), ...extra }));
    return [r.kvs.map((kv) => str(kv.key)), r.count];
  };
  assert.deepEqual(names({ minModRevision: 4 }), [['a', 'c'], 3]);
  assert.deepEqual(names({ maxModRevision: 3 }), [['b'], 3]);
  assert.deepEqual(names({ minCreateRevision: 3 }), [['b', 'c'], 3]);
  assert.deepEqual(names({ maxCreateRevision: 2 }), [['a'], 3]);
  assert.deepEqual(names({ minCreateRevision: 3, limit: 1 }), [['b'], 3]);
});

test('put flags: prevKv, ignoreValue, ignoreLease and their errors', () => {
  const store = new MvccStore();
  const lease = unwrap(store.leaseGrant({ id: 7n, ttl: 60 })).id;
  assert.equal(errorOf(store.put({ key: b('k'), value: b('x'), ignoreValue: true })), 'etcdserver: value is provided');
  assert.equal(errorOf(store.put({ key: b('k'), lease, ignoreLease: true })), 'etcdserver: lease is provided');
  assert.equal(errorOf(store.put({ key: b('k'), ignoreValue: true })), 'etcdserver: key not found');
  assert.equal(errorOf(store.put({ key: b('k'), ignoreLease: true })), 'etcdserver: key not found');
  assert.equal(errorOf(store.put({ key: b('k'), lease: 8n })), 'etcdserver: requested lease not found');
  assert.equal(store.currentRevision, 1, 'failed writes consume no revision');
  unwrap(store.put({ key: b('k'), value: b('v1'), lease }));
  const second = unwrap(store.put({ key: b('k'), ignoreValue: true, prevKv: true }));
  assert.equal(brief(second.prevKv!), 'k=v1@2/2/1~7');
  assert.deepEqual(keys(store), ['k=v1@2/3/2'], 'ignoreValue keeps the value; lease 0 detaches');
  unwrap(store.put({ key: b('k'), value: b('v2'), lease }));
  unwrap(store.put({ key: b('k'), value: b('v3'), ignoreLease: true }));
  assert.deepEqual(keys(store), ['k=v3@2/5/4~7']);
  assert.equal(unwrap(store.put({ key: b('new'), value: b('x'), prevKv: true })).prevKv, undefined);
});

test('assigned revisions: gaps are allowed, non-increasing ones are refused', () => {
  const store = new MvccStore();
  assert.equal(unwrap(store.put({ key: b('a'), value: b('1') }, 10)).header.revision, 10);
  assert.equal(unwrap(store.put({ key: b('a'), value: b('2') })).header.revision, 11);
  assert.equal(unwrap(store.put({ key: b('b'), value: b('1') }, 20)).header.revision, 20);
  assert.equal(errorOf(store.put({ key: b('c'), value: b('1') }, 20)), 'etcdserver: assigned revision is not above the current revision');
  // reads in a gap see the state as of the last revision before it
  assert.deepEqual(keys(store, '\0', '\0', 15), ['a=2@10/11/2']);
  assert.deepEqual(keys(store, '\0', '\0', 5), []);
  // an assigned revision a no-op delete does not use leaves a gap, nothing else
  unwrap(store.deleteRange({ key: b('none') }, 25));
  assert.equal(store.currentRevision, 20);
  assert.equal(unwrap(store.put({ key: b('a'), value: b('3') })).header.revision, 21);
});
