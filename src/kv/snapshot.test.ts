import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MvccStore } from './mvcc-store.js';
import { applyKvCommand, type KvCommand } from './kv-command.js';
import { decodeKvCommand, encodeKvCommand } from './command-codec.js';
import { decodeStoreState, encodeStoreSnapshot, encodeStoreState, restoreStoreSnapshot, StoreSnapshotEncoder } from './store-snapshot.js';
import { hashKv, hashStore } from './store-hash.js';
import { b, plainKvs, unwrap } from './testing.js';
import { BinaryWriter, CodecError } from '../lib/binary.js';
import { AlarmAction, AlarmType, CompareResult, SortOrder, SortTarget, type Compare, type RequestOp, type TxnRequest } from './types.js';

const keyArb = fc.constantFrom('a', 'b', 'c', 'd', 'e').map(b);
const valueArb = fc.uint8Array({ maxLength: 8 });
const leaseArb = fc.constantFrom(0n, 1n, 2n, -3n, (1n << 62n) + 1n);

const rangeArb = fc.record({
  key: keyArb,
  rangeEnd: fc.constantFrom(b('c'), Uint8Array.of(0)),
  limit: fc.integer({ min: 0, max: 3 }),
  sortOrder: fc.constantFrom(SortOrder.None, SortOrder.Ascend, SortOrder.Descend),
  sortTarget: fc.constantFrom(...Object.values(SortTarget)),
  keysOnly: fc.boolean(),
}, { requiredKeys: ['key'] });
const putArb = fc.record({
  key: keyArb, value: valueArb, lease: leaseArb,
  prevKv: fc.boolean(), ignoreValue: fc.boolean(),
}, { requiredKeys: ['key'] });
const deleteArb = fc.record({
  key: keyArb, rangeEnd: fc.constantFrom(b('d'), Uint8Array.of(0)),
  prevKv: fc.boolean(),
}, { requiredKeys: ['key'] });
const compareArb: fc.Arbitrary<Compare> = fc.oneof(
  fc.record({ key: keyArb, result: fc.constantFrom(...Object.values(CompareResult)), target: fc.constant('version' as const), version: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ key: keyArb, result: fc.constantFrom(...Object.values(CompareResult)), target: fc.constant('value' as const), value: valueArb }),
  fc.record({ key: keyArb, result: fc.constantFrom(...Object.values(CompareResult)), target: fc.constant('lease' as const), lease: leaseArb }),
  fc.record({ key: keyArb, result: fc.constantFrom(...Object.values(CompareResult)), target: fc.constant('mod' as const), modRevision: fc.integer({ min: 0, max: 20 }) }),
);
const { txn: txnArb } = fc.letrec<{ txn: TxnRequest; op: RequestOp }>((tie) => ({
  txn: fc.record({
    compare: fc.array(compareArb, { maxLength: 2 }),
    success: fc.array(tie('op'), { maxLength: 3 }),
    failure: fc.array(tie('op'), { maxLength: 3 }),
  }),
  op: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    rangeArb.map((request): RequestOp => ({ type: 'range', request })),
    putArb.map((request): RequestOp => ({ type: 'put', request })),
    deleteArb.map((request): RequestOp => ({ type: 'deleteRange', request })),
    tie('txn').map((request): RequestOp => ({ type: 'txn', request }))),
}));

const commandArb: fc.Arbitrary<KvCommand> = fc.oneof(
  putArb.map((request): KvCommand => ({ type: 'put', request })),
  putArb.map((request): KvCommand => ({ type: 'put', request })),
  deleteArb.map((request): KvCommand => ({ type: 'deleteRange', request })),
  txnArb.map((request): KvCommand => ({ type: 'txn', request })),
  rangeArb.map((request): KvCommand => ({ type: 'range', request })),
  fc.integer({ min: 0, max: 30 }).map((revision): KvCommand => ({ type: 'compact', request: { revision } })),
  fc.record({ ttl: fc.integer({ min: 0, max: 100 }), id: leaseArb }, { requiredKeys: ['ttl'] })
    .map((request): KvCommand => ({ type: 'leaseGrant', request })),
  leaseArb.map((id): KvCommand => ({ type: 'leaseRevoke', request: { id } })),
  fc.array(fc.record({ id: leaseArb, remainingTtl: fc.integer({ min: 0, max: 50 }) }), { maxLength: 2 })
    .map((checkpoints): KvCommand => ({ type: 'leaseCheckpoint', request: { checkpoints } })),
  fc.record({ action: fc.constantFrom(...Object.values(AlarmAction)), memberId: fc.constantFrom(0n, 2n ** 64n - 1n), alarm: fc.constantFrom(...Object.values(AlarmType)) })
    .map((request): KvCommand => ({ type: 'alarm', request })),
  fc.integer({ min: 1, max: 3 }).chain((gap) => putArb.map((request): KvCommand => ({ type: 'put', request, revision: gap }))),
);

/** withAssignedRevision turns a relative gap into an absolute assigned revision for the store. */
function prepare(store: MvccStore, command: KvCommand): KvCommand {
  return command.revision === undefined ? command : { ...command, revision: store.currentRevision + command.revision * 2 };
}

function observe(store: MvccStore): unknown {
  const reads = [];
  for (let rev = store.compactRevision; rev <= store.currentRevision; rev++) {
    reads.push(store.range({ key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0), revision: rev }));
  }
  // Compared as plain key-values: where the store placed each value in its slab may differ.
  return plainKvs({
    reads, current: store.currentRevision, compact: store.compactRevision, size: store.sizeBytes,
    leases: store.leaseIds().map((id) => store.leaseInfo(id)), alarms: store.alarms(),
    history: store.history(Math.max(store.compactRevision, 1), 1_000_000),
  });
}

test('commands round-trip through the codec', () => {
  fc.assert(fc.property(commandArb, (command) => {
    assert.deepEqual(decodeKvCommand(encodeKvCommand(command)), structuredClone(command));
  }), { numRuns: 500 });
});

test('decoding rejects malformed commands with CodecError, never anything else', () => {
  fc.assert(fc.property(commandArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (command, at, byte) => {
    const bytes = encodeKvCommand(command);
    const corrupt = bytes.slice();
    corrupt[at % corrupt.length] = byte;
    for (const input of [bytes.subarray(0, at % bytes.length), corrupt]) {
      try {
        decodeKvCommand(input);
      } catch (error) {
        assert.ok(error instanceof CodecError, String(error));
      }
    }
  }), { numRuns: 500 });
});

test('snapshot + restore gives identical reads, history, leases, hashes, and identical futures', () => {
  fc.assert(fc.property(fc.array(commandArb, { maxLength: 30 }), fc.array(commandArb, { maxLength: 10 }), (before, after) => {
    const store = new MvccStore({ limits: { quotaBytes: 2000 } });
    for (const command of before) applyKvCommand(store, prepare(store, command));
    const snapshot = encodeStoreSnapshot(store);
    const restored = restoreStoreSnapshot(snapshot, { limits: { quotaBytes: 2000 } });
    assert.deepEqual(observe(restored), observe(store));
    assert.deepEqual(encodeStoreSnapshot(restored), snapshot);
    assert.equal(hashStore(restored), hashStore(store));
    assert.deepEqual(hashKv(restored, 0), hashKv(store, 0));
    for (const command of after) {
      const c = prepare(store, command);
      assert.deepEqual(plainKvs(applyKvCommand(restored, c)), plainKvs(applyKvCommand(store, c)));
    }
    assert.equal(hashStore(restored), hashStore(store));
  }), { numRuns: 200 });
});

test('a corrupted snapshot is refused', () => {
  const store = new MvccStore();
  store.put({ key: b('k'), value: b('v') });
  const snapshot = encodeStoreSnapshot(store);
  snapshot[10] = snapshot[10]! ^ 1;
  assert.throws(() => decodeStoreState(snapshot), CodecError);
});

test('hashKv: equal on equal histories, different after a write, errors as etcd', () => {
  const one = new MvccStore();
  const two = new MvccStore();
  for (const s of [one, two]) { s.put({ key: b('a'), value: b('1') }); s.put({ key: b('b'), value: b('2') }); }
  assert.deepEqual(hashKv(one, 2), hashKv(two, 2));
  two.put({ key: b('a'), value: b('3') });
  const hashAt = (s: MvccStore, rev: number): number | undefined => { const h = hashKv(s, rev); return h.ok ? h.response.hash : undefined; };
  assert.equal(hashAt(one, 3), hashAt(two, 3), 'revision 3 is the same history on both');
  assert.notEqual(hashAt(one, 0), hashAt(two, 0));
  two.compact({ revision: 3 });
  const compacted = hashKv(two, 3);
  assert.ok(!compacted.ok && compacted.error.message === 'etcdserver: mvcc: required revision has been compacted');
  const future = hashKv(two, 9);
  assert.ok(!future.ok && future.error.message === 'etcdserver: mvcc: required revision is a future revision');
});

test('a snapshot encoded in steps is the captured state: writes and compactions between steps do not change it', () => {
  const store = new MvccStore();
  for (let i = 0; i < 50; i++) unwrap(store.put({ key: b(`k${i % 20}`), value: b(`v${i}`), lease: 0n }));
  for (let i = 0; i < 12; i++) unwrap(store.put({ key: b('zhot'), value: b(`h${i}`) }));
  unwrap(store.deleteRange({ key: b('k3') }));
  const expected = encodeStoreSnapshot(store);
  const encoder = new StoreSnapshotEncoder(store.exportState());
  const chunks: Uint8Array[] = [];
  let steps = 0;
  for (let chunk = encoder.nextChunk(200); chunk !== undefined; chunk = encoder.nextChunk(200)) {
    chunks.push(chunk);
    steps++;
    unwrap(store.put({ key: b(`k${steps % 25}`), value: b(`later${steps}`) }));
    unwrap(store.put({ key: b('zhot'), value: b(`later${steps}`) }));
    if (steps === 3) unwrap(store.compact({ revision: store.currentRevision }));
  }
  const stepped = Buffer.concat(chunks);
  assert.ok(steps >= 6);
  assert.equal(chunks.slice(1, -1).filter((c) => c.length > 200).length, 1, 'chunks stay within the bound but for the one key larger than it');
  assert.equal(stepped.length, encoder.size);
  assert.deepEqual(new Uint8Array(stepped), expected);
  assert.notDeepEqual(encodeStoreSnapshot(store), expected);
  assert.deepEqual(encodeStoreSnapshot(restoreStoreSnapshot(new Uint8Array(stepped))), expected);
});

/** referenceSnapshot encodes a store's state field by field as the layout at the top of store-snapshot.ts says. */
function referenceSnapshot(store: MvccStore): Uint8Array {
  const state = store.exportState();
  const w = new BinaryWriter();
  w.u32(0x314b5643).u8(2).u53(state.currentRevision).u53(state.compactRevision).u32(state.keys.length);
  const u64 = (v: bigint): void => {
    const bits = BigInt.asUintN(64, v);
    w.u32(Number(bits >> 32n)).u32(Number(bits & 0xffffffffn));
  };
  for (const k of state.keys) {
    w.bytes(k.key).u32(k.writes.length);
    for (const write of k.writes) {
      w.u53(write.main).u32(write.sub).bool(write.kv !== null);
      if (write.kv !== null) {
        w.u53(write.kv.createRevision).u53(write.kv.version).bytes(write.kv.value);
        u64(write.kv.lease);
      }
    }
  }
  const full = encodeStoreSnapshot(store);
  const keysPart = w.finish();
  // The tail (leases, alarms, counters, sessions) is not what this compares: it is taken from the encoder's output.
  assert.deepEqual(full.subarray(0, keysPart.length), keysPart);
  return keysPart;
}

test('the key section is the documented layout, for values of every size and any lease; a decoded state encodes to the same bytes', () => {
  const bigValueArb = fc.integer({ min: 0, max: 300 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));
  fc.assert(fc.property(
    fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c', 'dd', 'eee').map(b), value: bigValueArb, lease: fc.constantFrom(0n, 1n, -3n, (1n << 62n) + 1n), del: fc.boolean() }), { maxLength: 40 }),
    (writes) => {
      const store = new MvccStore();
      for (const id of [1n, -3n, (1n << 62n) + 1n]) unwrap(store.leaseGrant({ id, ttl: 60 }));
      for (const w of writes) {
        if (w.del) store.deleteRange({ key: w.key });
        else unwrap(store.put({ key: w.key, value: w.value, lease: w.lease }));
      }
      referenceSnapshot(store);
      const bytes = encodeStoreSnapshot(store);
      // A decoded state holds plain KeyValues (no slab places): the encoder's other path.
      assert.deepEqual(encodeStoreState(decodeStoreState(bytes)), bytes);
    },
  ), { numRuns: 200 });
});
