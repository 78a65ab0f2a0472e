import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MvccStore } from './mvcc-store.js';
import { WatchHub } from './watch-hub.js';
import { b, brief, errorOf, unwrap } from './testing.js';

const COMPACTED = 'etcdserver: mvcc: required revision has been compacted';
const FUTURE = 'etcdserver: mvcc: required revision is a future revision';

function build(): MvccStore {
  const store = new MvccStore();
  unwrap(store.put({ key: b('a'), value: b('1') })); // 2
  unwrap(store.put({ key: b('a'), value: b('2') })); // 3
  unwrap(store.put({ key: b('b'), value: b('1') })); // 4
  unwrap(store.deleteRange({ key: b('b') })); // 5
  unwrap(store.put({ key: b('c'), value: b('1') })); // 6
  unwrap(store.put({ key: b('a'), value: b('3') })); // 7
  return store;
}

const all = (store: MvccStore, revision = 0): string[] =>
  unwrap(store.range({ key: b('\0'), rangeEnd: b('\0'), revision })).kvs.map(brief);

test('compaction keeps what reads at or above the compact revision see and drops the rest', () => {
  const store = build();
  const before = [5, 6, 7].map((rev) => all(store, rev));
  const sizeBefore = store.sizeBytes;
  unwrap(store.compact({ revision: 5 }));
  assert.equal(store.compactRevision, 5);
  assert.deepEqual([5, 6, 7].map((rev) => all(store, rev)), before);
  assert.deepEqual(all(store, 5), ['a=2@2/3/2']);
  assert.equal(errorOf(store.range({ key: b('a'), revision: 4 })), COMPACTED);
  assert.ok(store.sizeBytes < sizeBefore, 'compaction frees space');
  // b's last write is a tombstone at exactly 5: kept until a later compaction
  assert.equal(store.keyCount, 3);
  unwrap(store.compact({ revision: 6 }));
  assert.equal(store.keyCount, 2);
  assert.deepEqual(all(store, 6), ['a=2@2/3/2', 'c=1@6/6/1']);
});

test('compact errors: the same or an older revision is compacted, a future one is refused', () => {
  const store = build();
  unwrap(store.compact({ revision: 4 }));
  assert.equal(errorOf(store.compact({ revision: 4 })), COMPACTED);
  assert.equal(errorOf(store.compact({ revision: 3 })), COMPACTED);
  assert.equal(errorOf(store.compact({ revision: 8 })), FUTURE);
  unwrap(store.compact({ revision: 7 }));
  assert.deepEqual(all(store), ['a=3@2/7/3', 'c=1@6/6/1']);
});

test('a watch from a compacted revision is canceled with the compact revision', () => {
  const store = build();
  unwrap(store.compact({ revision: 5 }));
  const hub = new WatchHub(store);
  const watch = hub.create({ key: b('a'), startRevision: 3 })!;
  assert.equal(watch.created, true);
  const [cancel] = hub.take(watch.watchId);
  assert.equal(cancel!.canceled, true);
  assert.equal(cancel!.compactRevision, 5);
  assert.equal(hub.size, 0);
  // from the compact revision itself, history is there
  const ok = hub.create({ key: b('a'), rangeEnd: b('z'), startRevision: 5 })!;
  const replay = hub.take(ok.watchId).flatMap((r) => r.events.map((e) => `${e.type}:${brief(e.kv)}`));
  assert.deepEqual(replay, ['1:b=@0/5/0', '0:c=1@6/6/1', '0:a=3@2/7/3']);
});
