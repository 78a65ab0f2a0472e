import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MvccStore } from './mvcc-store.js';
import { WatchHub, type WatchResponse } from './watch-hub.js';
import { b, str, unwrap } from './testing.js';
import type { WatchEvent } from './types.js';

/** Harness applies writes and notifies the hub, as the node host does. */
function harness(options = {}) {
  const store = new MvccStore();
  const hub = new WatchHub(store, options);
  const put = (key: string, value = 'v'): void => {
    const r = store.put({ key: b(key), value: b(value) });
    assert.ok(r.ok);
    hub.notify(r.events);
  };
  const del = (key: string, rangeEnd?: string): void => {
    const r = store.deleteRange(rangeEnd === undefined ? { key: b(key) } : { key: b(key), rangeEnd: b(rangeEnd) });
    assert.ok(r.ok);
    hub.notify(r.events);
  };
  const drain = (id: number): WatchResponse[] => {
    const out: WatchResponse[] = [];
    while (hub.hasPending(id)) out.push(...hub.take(id));
    return out;
  };
  return { store, hub, put, del, drain };
}

const show = (e: WatchEvent): string =>
  `${e.type === 0 ? 'PUT' : 'DELETE'} ${str(e.kv.key)}@${e.kv.modRevision}` + (e.prevKv ? ` prev@${e.prevKv.modRevision}` : '');
const eventsOf = (responses: WatchResponse[]): string[] => responses.flatMap((r) => r.events.map(show));

test('live events in revision order, filtered by key range, with prevKv on request', () => {
  const { hub, put, del, drain } = harness();
  const w = hub.create({ key: b('a'), rangeEnd: b('c'), prevKv: true })!;
  const single = hub.create({ key: b('b'), noDelete: true })!;
  put('a'); put('b'); put('x'); put('b'); del('a');
  assert.deepEqual(eventsOf(drain(w.watchId)), ['PUT a@2', 'PUT b@3', 'PUT b@5 prev@3', 'DELETE a@6 prev@2']);
  assert.deepEqual(eventsOf(drain(single.watchId)), ['PUT b@3', 'PUT b@5']);
  assert.equal(drain(w.watchId).length, 0);
});

test('replay from a past revision then live delivery, never duplicated or skipped', () => {
  const { hub, put, drain } = harness({ replayEventsMax: 2 });
  for (let i = 0; i < 5; i++) put('k', String(i)); // revisions 2..6
  const w = hub.create({ key: b('k'), startRevision: 3 })!;
  assert.equal(hub.isSynced(w.watchId), false);
  const first = hub.take(w.watchId);
  assert.deepEqual(eventsOf(first), ['PUT k@3', 'PUT k@4'], 'bounded catch-up step');
  put('k', 'live'); // 7, while still catching up
  assert.deepEqual(eventsOf(drain(w.watchId)), ['PUT k@5', 'PUT k@6', 'PUT k@7']);
  assert.equal(hub.isSynced(w.watchId), true);
  put('k', 'more');
  assert.deepEqual(eventsOf(drain(w.watchId)), ['PUT k@8']);
});

test('a slow watcher overflows its buffer, goes unsynced and is caught up from history', () => {
  const { hub, put, drain } = harness({ bufferEventsMax: 3 });
  const w = hub.create({ key: b('k') })!;
  for (let i = 0; i < 10; i++) put('k', String(i)); // 2..11
  assert.equal(hub.isSynced(w.watchId), false);
  const revisions = eventsOf(drain(w.watchId));
  assert.deepEqual(revisions, Array.from({ length: 10 }, (_, i) => `PUT k@${i + 2}`));
});

test('a watch starting in the future delivers from that revision only', () => {
  const { hub, put, drain } = harness();
  const w = hub.create({ key: b('k'), startRevision: 4 })!;
  put('k'); put('k'); put('k'); // 2, 3, 4
  assert.deepEqual(eventsOf(drain(w.watchId)), ['PUT k@4']);
});

test('fragmenting splits large responses; others stay whole', () => {
  const { hub, put, drain } = harness({ fragmentBytesMax: 100 });
  const fragmented = hub.create({ key: b('k'), fragment: true })!;
  const whole = hub.create({ key: b('k') })!;
  for (let i = 0; i < 3; i++) put('k', 'x'.repeat(60));
  const pieces = drain(fragmented.watchId);
  assert.deepEqual(pieces.map((r) => [r.events.length, r.fragment === true]), [[1, true], [1, true], [1, false]]);
  assert.equal(drain(whole.watchId).length, 1);
});

test('progress is reported only when nothing is pending', () => {
  const { store, hub, put, drain } = harness();
  const w = hub.create({ key: b('k') })!;
  put('k');
  assert.equal(hub.progress(w.watchId), undefined);
  drain(w.watchId);
  assert.deepEqual(hub.progress(w.watchId), { watchId: w.watchId, revision: store.currentRevision, events: [] });
  assert.equal(hub.cancel(w.watchId), true);
  assert.equal(hub.cancel(w.watchId), false);
});
