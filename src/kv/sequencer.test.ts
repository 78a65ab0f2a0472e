import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BinaryWriter, CodecError } from '../lib/binary.js';
import { crc32c } from '../lib/crc32c.js';
import { writeU64 } from './codec-fields.js';
import { decodeKvCommand, encodeKvCommand, KV_COMMAND_VERSION } from './command-codec.js';
import { applyKvCommand, type KvApplyResult } from './kv-command.js';
import { KvErrorCode } from './kv-errors.js';
import { MvccStore } from './mvcc-store.js';
import { SEQUENCER_COUNT_MAX } from './sequencer-table.js';
import { decodeStoreState, encodeStoreSnapshot, restoreStoreSnapshot, STORE_SNAPSHOT_VERSION } from './store-snapshot.js';
import { b, str, unwrap } from './testing.js';

function next(store: MvccStore, name: string, count: number): KvApplyResult {
  return applyKvCommand(store, { type: 'sequencerNext', request: { name: b(name), count } });
}

function range(result: KvApplyResult): [number, number] {
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  assert.equal(result.result.type, 'sequencerNext');
  if (result.result.type !== 'sequencerNext') throw new Error('unreachable');
  return [result.result.response.first, result.result.response.count];
}

test('sequencer: numbers start at 1, count 0 means 1, counters are independent, no revision consumed', () => {
  const store = new MvccStore();
  unwrap(store.put({ key: b('k'), value: b('v') }));
  assert.deepEqual(range(next(store, 'a', 0)), [1, 1]);
  assert.deepEqual(range(next(store, 'a', 5)), [2, 5]);
  assert.deepEqual(range(next(store, 'b', 3)), [1, 3]);
  assert.deepEqual(range(next(store, 'a', 1)), [7, 1]);
  const r = next(store, 'a', 1);
  assert.ok(r.ok && r.events.length === 0);
  assert.ok(r.ok && r.result.type === 'sequencerNext' && r.result.response.header.revision === 2);
  assert.equal(store.currentRevision, 2, 'a Next consumes no MVCC revision');
  assert.equal(store.sequencers.lastOf(b('a')), 8);
  assert.equal(unwrap(store.range({ key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) })).count, 1, 'counters are not keys');
});

test('sequencer: bad names and counts fail without advancing anything', () => {
  const store = new MvccStore();
  for (const [name, count] of [['', 1], ['x'.repeat(257), 1], ['a', SEQUENCER_COUNT_MAX + 1], ['a', -1], ['a', 1.5]] as const) {
    const r = next(store, name, count);
    assert.ok(!r.ok && r.error.code === KvErrorCode.SequencerBadRequest, `${name.length} ${count}`);
  }
  assert.deepEqual(store.sequencers.export(), []);
  assert.deepEqual(range(next(store, 'a', SEQUENCER_COUNT_MAX)), [1, SEQUENCER_COUNT_MAX]);
});

test('sequencer: any interleaving of Next calls hands out each counter\'s numbers exactly once, gapless', () => {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.constantFrom('x', 'y', 'z'), fc.integer({ min: 0, max: 20 })), { maxLength: 60 }),
    fc.integer({ min: 0, max: 60 }),
    (calls, snapshotAt) => {
      let store = new MvccStore();
      const taken = new Map<string, number[]>();
      calls.forEach(([name, count], i) => {
        if (i === snapshotAt) store = restoreStoreSnapshot(encodeStoreSnapshot(store));
        const [first, n] = range(next(store, name, count));
        assert.equal(n, count === 0 ? 1 : count);
        const list = taken.get(name) ?? [];
        for (let k = 0; k < n; k++) list.push(first + k);
        taken.set(name, list);
      });
      for (const [name, list] of taken) {
        assert.deepEqual(list, Array.from({ length: list.length }, (_, k) => k + 1), `${name}: unique and gapless`);
        assert.equal(store.sequencers.lastOf(b(name)), list.length);
      }
    },
  ), { numRuns: 200 });
});

test('sequencer: the command round-trips through the codec (plain commands keep layout version 1)', () => {
  const command = { type: 'sequencerNext', request: { name: b('orders'), count: 100 } } as const;
  const bytes = encodeKvCommand(command);
  assert.equal(bytes[0], KV_COMMAND_VERSION);
  assert.deepEqual(decodeKvCommand(bytes), command);
  const empty = encodeKvCommand({ type: 'sequencerNext', request: { name: b('a'), count: 1 } });
  empty[3] = 0; // name length 1 -> 0 leaves a stray byte: rejected either way
  assert.throws(() => decodeKvCommand(empty), CodecError);
});

test('sequencer: counters survive snapshot + restore; equal states give equal snapshots', () => {
  const store = new MvccStore();
  range(next(store, 'b', 4));
  range(next(store, 'a', 2));
  const snapshot = encodeStoreSnapshot(store);
  assert.equal(snapshot[4], STORE_SNAPSHOT_VERSION);
  const restored = restoreStoreSnapshot(snapshot);
  assert.deepEqual(restored.sequencers.export().map((c) => [str(c.name), c.last]), [['a', 2], ['b', 4]]);
  assert.deepEqual(encodeStoreSnapshot(restored), snapshot);
  assert.deepEqual(range(next(restored, 'b', 1)), [5, 1]);
});

test('store snapshot: version 1 (before counters and sessions) still decodes', () => {
  const w = new BinaryWriter(256);
  w.u32(0x314b5643).u8(1).u53(2).u53(0);
  w.u32(1).bytes(b('k')).u32(1).u53(2).u32(0).bool(true).u53(2).u53(1).bytes(b('v'));
  writeU64(w, 0n);
  w.u32(0);
  writeU64(w, 12345n);
  w.u32(0);
  const body = w.finish();
  w.u32(crc32c(body));
  const state = decodeStoreState(w.finish().slice());
  assert.deepEqual(state.sequencers, []);
  assert.deepEqual(state.sessions, []);
  const store = new MvccStore();
  store.importState(state);
  assert.equal(str(unwrap(store.range({ key: b('k') })).kvs[0]!.value), 'v');
  assert.deepEqual(range(next(store, 'a', 1)), [1, 1]);
});
