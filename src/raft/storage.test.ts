/**
 * Unit tests of MemoryStorage (the in-memory LogStorage): the dummy entry at the snapshot index,
 * the Compacted / Unavailable / SnapshotOutOfDate misses, byte-bounded reads, compaction,
 * snapshots and overlapping appends; plus a property test of append/entries against an array model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AssertionError } from '../lib/assert.js';
import { RaftError, RaftErrorCode, isRaftError } from './errors.js';
import { MemoryStorage } from './storage.js';
import {
  EMPTY_CONF_STATE, EMPTY_HARD_STATE, ENTRY_OVERHEAD_BYTES, EntryType,
  type ConfState, type Entry, type LogIndex, type NodeId, type Term,
} from './types.js';

function ent(index: LogIndex, term: Term, dataBytes = 0): Entry {
  return { index, term, type: EntryType.Normal, data: new Uint8Array(dataBytes) };
}

function it(pairs: readonly Entry[]): string[] {
  return pairs.map((e) => `${e.index}/${e.term}`);
}

const conf123: ConfState = { ...EMPTY_CONF_STATE, voters: [1, 2, 3] as NodeId[] };

/** storage345 holds a snapshot at 3/3 (the dummy) and entries 4/4, 5/5. */
function storage345(): MemoryStorage {
  const s = new MemoryStorage();
  s.applySnapshot({ metadata: { index: 3, term: 3, confState: conf123 }, data: new Uint8Array([7]) });
  s.append([ent(4, 4), ent(5, 5)]);
  return s;
}

function throwsCode(f: () => unknown, code: RaftErrorCode): void {
  assert.throws(f, (e: unknown) => isRaftError(e, code), `expected RaftError ${code}`);
}

test('storage: a fresh storage is empty: first 1, last 0, term(0) = 0, empty hard state and config', () => {
  const s = new MemoryStorage();
  assert.equal(s.firstIndex(), 1);
  assert.equal(s.lastIndex(), 0);
  assert.equal(s.term(0), 0);
  throwsCode(() => s.term(1), RaftErrorCode.Unavailable);
  assert.deepEqual(s.initialState(), { hardState: EMPTY_HARD_STATE, confState: EMPTY_CONF_STATE });
  assert.equal(s.snapshot().metadata.index, 0);
});

test('storage: withConf and setHardState are what initialState returns', () => {
  const s = MemoryStorage.withConf(conf123);
  assert.deepEqual(s.initialState().confState, conf123);
  s.setHardState({ term: 4, vote: 2 as NodeId, commit: 0 });
  assert.deepEqual(s.initialState().hardState, { term: 4, vote: 2, commit: 0 });
  assert.equal(s.lastIndex(), 0);
});

test('storage: term is valid from the dummy (snapshot index) to the last index', () => {
  const s = storage345();
  throwsCode(() => s.term(2), RaftErrorCode.Compacted);
  assert.equal(s.term(3), 3);
  assert.equal(s.term(4), 4);
  assert.equal(s.term(5), 5);
  throwsCode(() => s.term(6), RaftErrorCode.Unavailable);
});

test('storage: first and last index follow appends and compaction', () => {
  const s = storage345();
  assert.equal(s.firstIndex(), 4);
  assert.equal(s.lastIndex(), 5);
  s.append([ent(6, 5)]);
  assert.equal(s.lastIndex(), 6);
  s.compact(4);
  assert.equal(s.firstIndex(), 5);
  assert.equal(s.lastIndex(), 6);
});

test('storage: entries [lo, hi) with misses and byte limits (at least one entry)', () => {
  const s = new MemoryStorage();
  s.applySnapshot({ metadata: { index: 3, term: 3, confState: conf123 }, data: new Uint8Array() });
  s.append([ent(4, 4, 10), ent(5, 5, 10), ent(6, 6, 10)]);
  const size = 10 + ENTRY_OVERHEAD_BYTES;
  throwsCode(() => s.entries(2, 6, Infinity), RaftErrorCode.Compacted);
  throwsCode(() => s.entries(3, 6, Infinity), RaftErrorCode.Compacted); // the dummy is not an entry
  throwsCode(() => s.entries(4, 8, Infinity), RaftErrorCode.Unavailable);
  assert.deepEqual(it(s.entries(4, 5, Infinity)), ['4/4']);
  assert.deepEqual(it(s.entries(4, 7, Infinity)), ['4/4', '5/5', '6/6']);
  assert.deepEqual(it(s.entries(5, 7, Infinity)), ['5/5', '6/6']);
  assert.deepEqual(it(s.entries(5, 5, Infinity)), []);
  // Byte limits: zero still returns one entry; exactly k entries' worth returns k.
  assert.deepEqual(it(s.entries(4, 7, 0)), ['4/4']);
  assert.deepEqual(it(s.entries(4, 7, size)), ['4/4']);
  assert.deepEqual(it(s.entries(4, 7, 2 * size - 1)), ['4/4']);
  assert.deepEqual(it(s.entries(4, 7, 2 * size)), ['4/4', '5/5']);
  assert.deepEqual(it(s.entries(4, 7, 3 * size)), ['4/4', '5/5', '6/6']);
});

test('storage: compact keeps the term of the new dummy and refuses compacted indexes', () => {
  const s = storage345();
  throwsCode(() => s.compact(2), RaftErrorCode.Compacted);
  throwsCode(() => s.compact(3), RaftErrorCode.Compacted);
  s.compact(4);
  assert.equal(s.firstIndex(), 5);
  assert.equal(s.term(4), 4);
  throwsCode(() => s.term(3), RaftErrorCode.Compacted);
  throwsCode(() => s.entries(4, 6, Infinity), RaftErrorCode.Compacted);
  assert.deepEqual(it(s.entries(5, 6, Infinity)), ['5/5']);
  s.compact(5);
  assert.equal(s.firstIndex(), 6);
  assert.equal(s.lastIndex(), 5);
  assert.equal(s.term(5), 5);
  assert.throws(() => s.compact(6), AssertionError);
});

test('storage: createSnapshot records index, term and config; it does not trim the log', () => {
  const s = storage345();
  const cs: ConfState = { ...EMPTY_CONF_STATE, voters: [1, 2] as NodeId[], learners: [3] as NodeId[] };
  throwsCode(() => s.createSnapshot(3, cs, new Uint8Array()), RaftErrorCode.SnapshotOutOfDate);
  const snap = s.createSnapshot(4, cs, new Uint8Array([1, 2]));
  assert.deepEqual(snap.metadata, { index: 4, term: 4, confState: cs });
  assert.deepEqual([...snap.data], [1, 2]);
  assert.equal(s.snapshot(), snap);
  assert.deepEqual(s.initialState().confState, cs);
  assert.equal(s.firstIndex(), 4, 'createSnapshot must not compact');
  throwsCode(() => s.createSnapshot(4, cs, new Uint8Array()), RaftErrorCode.SnapshotOutOfDate);
  assert.throws(() => s.createSnapshot(6, cs, new Uint8Array()), AssertionError);
});

test('storage: append replaces an overlapping suffix, skips the compacted prefix and rejects gaps', () => {
  const cases: { name: string; append: Entry[]; want: string[] }[] = [
    { name: 'identical entries', append: [ent(4, 4), ent(5, 5)], want: ['4/4', '5/5'] },
    { name: 'conflicting suffix', append: [ent(4, 6), ent(5, 6)], want: ['4/6', '5/6'] },
    { name: 'extends the tail', append: [ent(4, 4), ent(5, 5), ent(6, 5)], want: ['4/4', '5/5', '6/5'] },
    { name: 'overlaps the compacted prefix', append: [ent(2, 3), ent(3, 3), ent(4, 5)], want: ['4/5'] },
    { name: 'truncates the tail', append: [ent(4, 5)], want: ['4/5'] },
    { name: 'appends directly', append: [ent(6, 5)], want: ['4/4', '5/5', '6/5'] },
    { name: 'entirely compacted', append: [ent(1, 1), ent(2, 2), ent(3, 3)], want: ['4/4', '5/5'] },
    { name: 'empty', append: [], want: ['4/4', '5/5'] },
  ];
  for (const c of cases) {
    const s = storage345();
    s.append(c.append);
    assert.deepEqual(it(s.entries(s.firstIndex(), s.lastIndex() + 1, Infinity)), c.want, c.name);
    assert.equal(s.term(3), 3, `${c.name}: the dummy is untouched`);
  }
  assert.throws(() => storage345().append([ent(7, 5)]), AssertionError);
});

test('storage: applySnapshot replaces the log; an older or equal snapshot is refused', () => {
  const s = storage345();
  const cs: ConfState = { ...EMPTY_CONF_STATE, voters: [4] as NodeId[] };
  throwsCode(() => s.applySnapshot({ metadata: { index: 3, term: 3, confState: cs }, data: new Uint8Array() }),
    RaftErrorCode.SnapshotOutOfDate);
  assert.equal(s.lastIndex(), 5, 'a refused snapshot changes nothing');
  s.applySnapshot({ metadata: { index: 10, term: 7, confState: cs }, data: new Uint8Array() });
  assert.equal(s.firstIndex(), 11);
  assert.equal(s.lastIndex(), 10);
  assert.equal(s.term(10), 7);
  throwsCode(() => s.term(5), RaftErrorCode.Compacted);
  assert.deepEqual(s.initialState().confState, cs);
  s.append([ent(11, 7)]);
  assert.deepEqual(it(s.entries(11, 12, Infinity)), ['11/7']);
});

test('storage: errors are RaftErrors with a stable code', () => {
  try {
    storage345().term(100);
    assert.fail('expected a throw');
  } catch (error) {
    assert.ok(error instanceof RaftError);
    assert.equal(error.code, 'RAFT_UNAVAILABLE');
  }
});

test('storage: property: appends and compactions agree with an array model', () => {
  // Model: terms[i] is the term of entry i (terms[0] is the dummy at index 0); first is the
  // first index still held.
  const op = fc.oneof(
    fc.record({ kind: fc.constant('append' as const), back: fc.nat(6), terms: fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 5 }) }),
    fc.record({ kind: fc.constant('compact' as const), back: fc.nat(6) }),
  );
  fc.assert(fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
    const s = new MemoryStorage();
    const terms: Term[] = [0];
    let first = 1;
    for (const o of ops) {
      const last = terms.length - 1;
      if (o.kind === 'append') {
        // Start anywhere from a few entries before the first held one to just past the end.
        const start = Math.max(1, last + 1 - o.back);
        const entries = o.terms.map((t, i) => ent(start + i, t));
        s.append(entries);
        for (const e of entries) {
          if (e.index < first) continue;
          terms.length = Math.min(terms.length, e.index);
          terms.push(e.term);
        }
      } else {
        const at = last - o.back;
        if (at < first) continue;
        s.compact(at);
        first = at + 1;
      }
      assert.equal(s.firstIndex(), first);
      assert.equal(s.lastIndex(), terms.length - 1);
      for (let i = first - 1; i < terms.length; i++) assert.equal(s.term(i), terms[i]);
      const got = s.entries(first, terms.length, Infinity).map((e) => e.term);
      assert.deepEqual(got, terms.slice(first));
    }
  }), { numRuns: 300 });
});
