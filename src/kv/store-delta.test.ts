import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError } from '../lib/binary.js';
import { MvccStore } from './mvcc-store.js';
import { decodeStoreDelta, encodeStoreDelta, mergeStoreChain, StoreDeltaEncoder } from './store-delta.js';
import { decodeStoreState, encodeStoreSnapshot, encodeStoreState } from './store-snapshot.js';
import { b } from './testing.js';

type Op =
  | { kind: 'put'; key: string; size: number; lease: boolean }
  | { kind: 'delete'; key: string; range: boolean }
  | { kind: 'grant' }
  | { kind: 'revoke' }
  | { kind: 'compact' };

const opArb = (compactions: boolean): fc.Arbitrary<Op> => fc.oneof(
  fc.record({ kind: fc.constant('put' as const), key: fc.constantFrom('a', 'b', 'c', 'dd', 'e', 'f'), size: fc.integer({ min: 0, max: 80 }), lease: fc.boolean() }),
  fc.record({ kind: fc.constant('delete' as const), key: fc.constantFrom('a', 'b', 'dd'), range: fc.boolean() }),
  fc.constant({ kind: 'grant' as const }),
  fc.constant({ kind: 'revoke' as const }),
  ...(compactions ? [fc.constant({ kind: 'compact' as const })] : []),
);

/** apply runs `ops` on `store`; failed requests (no such lease, nothing to compact) are fine. */
function apply(store: MvccStore, ops: readonly Op[], leases: bigint[]): void {
  for (const op of ops) {
    switch (op.kind) {
      case 'put': {
        const lease = op.lease && leases.length > 0 ? leases[leases.length - 1]! : 0n;
        store.put({ key: b(op.key), value: new Uint8Array(op.size).fill(op.size & 0xff), lease });
        break;
      }
      case 'delete':
        store.deleteRange(op.range ? { key: b(op.key), rangeEnd: b('e') } : { key: b(op.key) });
        break;
      case 'grant': {
        const id = BigInt(100 + leases.length);
        if (store.leaseGrant({ id, ttl: 30 }).ok) leases.push(id);
        break;
      }
      case 'revoke': {
        const id = leases.pop();
        if (id !== undefined) store.leaseRevoke({ id });
        break;
      }
      case 'compact':
        store.compact({ revision: Math.max(1, store.currentRevision - 2) });
        break;
    }
  }
}

test('a base state and its deltas, each through its codec, make exactly the later state', () => {
  fc.assert(fc.property(
    fc.array(opArb(true), { maxLength: 25 }), fc.array(opArb(false), { maxLength: 25 }), fc.array(opArb(false), { maxLength: 25 }),
    (before, middle, after) => {
      const store = new MvccStore();
      const leases: bigint[] = [];
      apply(store, before, leases);
      const base = decodeStoreState(encodeStoreSnapshot(store));
      const r1 = store.currentRevision;
      apply(store, middle, leases);
      const d1 = decodeStoreDelta(encodeStoreDelta(store.exportDelta(r1)));
      const r2 = store.currentRevision;
      apply(store, after, leases);
      const d2 = decodeStoreDelta(encodeStoreDelta(store.exportDelta(r2)));
      const whole = encodeStoreSnapshot(store);
      assert.deepEqual(encodeStoreState(mergeStoreChain(base, [d1, d2])), whole);
      // One delta over both steps is the same state.
      assert.deepEqual(encodeStoreState(mergeStoreChain(base, [decodeStoreDelta(encodeStoreDelta(store.exportDelta(r1)))])), whole);
    },
  ), { numRuns: 300 });
});

test('a chain that does not follow on, or spans a compaction, or is damaged, is refused', () => {
  const store = new MvccStore();
  for (let i = 0; i < 6; i++) store.put({ key: b(`k${i % 3}`), value: b(`v${i}`), lease: 0n });
  const base = store.exportState();
  const r1 = store.currentRevision;
  store.put({ key: b('k9'), value: b('x'), lease: 0n });
  const d1 = store.exportDelta(r1);
  const r2 = store.currentRevision;
  store.put({ key: b('k1'), value: b('y'), lease: 0n });
  const d2 = store.exportDelta(r2);
  assert.throws(() => mergeStoreChain(base, [d2]), CodecError);
  assert.throws(() => mergeStoreChain(base, [d2, d1]), CodecError);
  mergeStoreChain(base, [d1, d2]);

  store.compact({ revision: store.currentRevision - 1 });
  const r3 = store.currentRevision;
  store.put({ key: b('k2'), value: b('z'), lease: 0n });
  assert.throws(() => mergeStoreChain(mergeStoreChain(base, [d1, d2]), [store.exportDelta(r3)]), /compact revision/);

  const bytes = encodeStoreDelta(d1);
  const damaged = bytes.slice();
  damaged[12] = damaged[12]! ^ 1;
  assert.throws(() => decodeStoreDelta(damaged), CodecError);
  assert.throws(() => decodeStoreDelta(bytes.subarray(0, 3)), CodecError);
  assert.throws(() => decodeStoreDelta(encodeStoreSnapshot(store)), CodecError);
});

test('a delta encoded in chunks is the same bytes, whatever the store does between chunks', () => {
  const store = new MvccStore();
  for (let i = 0; i < 30; i++) store.put({ key: b(`k${i % 7}`), value: new Uint8Array(i * 3).fill(i), lease: 0n });
  const r = store.currentRevision;
  for (let i = 0; i < 40; i++) store.put({ key: b(`n${i % 9}`), value: new Uint8Array(i).fill(i), lease: 0n });
  const delta = store.exportDelta(r);
  const expected = encodeStoreDelta(delta);
  const encoder = new StoreDeltaEncoder(delta);
  assert.equal(encoder.size, expected.length);
  const chunks: Uint8Array[] = [];
  for (let chunk = encoder.nextChunk(50); chunk !== undefined; chunk = encoder.nextChunk(50)) {
    chunks.push(chunk);
    store.put({ key: b('k1'), value: b('later'), lease: 0n });
  }
  assert.ok(chunks.length > 10);
  assert.deepEqual(Buffer.concat(chunks), Buffer.from(expected));
});
