/**
 * Unit tests of Unstable, the not-yet-persisted tail of the log (and pending snapshot): index and
 * term lookups with and without a snapshot, stableTo / stableSnapTo, restore and
 * truncateAndAppend, plus a property test of truncateAndAppend against an array model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AssertionError } from '../../lib/assert.js';
import { Unstable } from './unstable.js';
import { EMPTY_CONF_STATE, EntryType, type Entry, type LogIndex, type Snapshot, type Term } from '../types.js';

function ent(index: LogIndex, term: Term): Entry {
  return { index, term, type: EntryType.Normal, data: new Uint8Array() };
}

function snap(index: LogIndex, term: Term): Snapshot {
  return { metadata: { index, term, confState: EMPTY_CONF_STATE }, data: new Uint8Array() };
}

function make(offset: LogIndex, entries: Entry[], snapshot?: Snapshot): Unstable {
  const u = new Unstable(offset);
  u.entries = entries;
  if (snapshot) u.snapshot = snapshot;
  return u;
}

function show(u: Unstable): string {
  return `offset=${u.offset} [${u.entries.map((e) => `${e.index}/${e.term}`).join(' ')}]` +
    (u.snapshot ? ` snap=${u.snapshot.metadata.index}/${u.snapshot.metadata.term}` : '');
}

test('unstable: maybeFirstIndex is known only with a pending snapshot', () => {
  assert.equal(make(5, [ent(5, 1)]).maybeFirstIndex(), undefined);
  assert.equal(make(0, []).maybeFirstIndex(), undefined);
  assert.equal(make(5, [ent(5, 1)], snap(4, 1)).maybeFirstIndex(), 5);
  assert.equal(make(5, [], snap(4, 1)).maybeFirstIndex(), 5);
});

test('unstable: maybeLastIndex is the last entry, else the snapshot index', () => {
  assert.equal(make(5, [ent(5, 1)]).maybeLastIndex(), 5);
  assert.equal(make(5, [ent(5, 1), ent(6, 1)], snap(4, 1)).maybeLastIndex(), 6);
  assert.equal(make(5, [], snap(4, 1)).maybeLastIndex(), 4);
  assert.equal(make(0, []).maybeLastIndex(), undefined);
});

test('unstable: maybeTerm covers the entries and the snapshot index only', () => {
  const cases: { u: Unstable; index: LogIndex; want: Term | undefined }[] = [
    { u: make(5, [ent(5, 1)]), index: 5, want: 1 },
    { u: make(5, [ent(5, 1)]), index: 6, want: undefined },
    { u: make(5, [ent(5, 1)]), index: 4, want: undefined },
    { u: make(5, [ent(5, 1)], snap(4, 1)), index: 5, want: 1 },
    { u: make(5, [ent(5, 2)], snap(4, 1)), index: 4, want: 1 },
    { u: make(5, [ent(5, 1)], snap(4, 1)), index: 3, want: undefined },
    { u: make(5, [ent(5, 1)], snap(4, 1)), index: 6, want: undefined },
    { u: make(5, [], snap(4, 3)), index: 4, want: 3 },
    { u: make(5, [], snap(4, 3)), index: 5, want: undefined },
    { u: make(0, []), index: 0, want: undefined },
  ];
  for (const c of cases) assert.equal(c.u.maybeTerm(c.index), c.want, `${show(c.u)} term(${c.index})`);
});

test('unstable: restore replaces entries and offset with the snapshot', () => {
  const u = make(5, [ent(5, 1), ent(6, 1)], snap(4, 1));
  u.restore(snap(10, 3));
  assert.equal(show(u), 'offset=11 [] snap=10/3');
  assert.equal(u.maybeLastIndex(), 10);
  assert.equal(u.maybeTerm(10), 3);
});

test('unstable: stableTo drops a persisted prefix only when (index, term) still matches', () => {
  const cases: { name: string; u: Unstable; index: LogIndex; term: Term; want: string }[] = [
    { name: 'empty', u: make(0, []), index: 5, term: 1, want: 'offset=0 []' },
    { name: 'whole tail', u: make(5, [ent(5, 1)]), index: 5, term: 1, want: 'offset=6 []' },
    { name: 'prefix', u: make(5, [ent(5, 1), ent(6, 1)]), index: 5, term: 1, want: 'offset=6 [6/1]' },
    { name: 'term mismatch (entry was replaced)', u: make(6, [ent(6, 2)]), index: 6, term: 1, want: 'offset=6 [6/2]' },
    { name: 'index below offset', u: make(5, [ent(5, 1)]), index: 4, term: 1, want: 'offset=5 [5/1]' },
    { name: 'index beyond tail', u: make(5, [ent(5, 1)]), index: 6, term: 1, want: 'offset=5 [5/1]' },
    { name: 'with snapshot', u: make(5, [ent(5, 1), ent(6, 1)], snap(4, 1)), index: 5, term: 1, want: 'offset=6 [6/1] snap=4/1' },
    { name: 'the snapshot index is not an entry', u: make(5, [ent(5, 1)], snap(4, 1)), index: 4, term: 1, want: 'offset=5 [5/1] snap=4/1' },
    { name: 'snapshot index, wrong term', u: make(5, [ent(5, 2)], snap(4, 2)), index: 4, term: 1, want: 'offset=5 [5/2] snap=4/2' },
  ];
  for (const c of cases) {
    c.u.stableTo(c.index, c.term);
    assert.equal(show(c.u), c.want, c.name);
  }
});

test('unstable: stableSnapTo clears only the snapshot at that index', () => {
  const u = make(5, [ent(5, 1)], snap(4, 1));
  u.stableSnapTo(3);
  assert.ok(u.snapshot);
  u.stableSnapTo(4);
  assert.equal(u.snapshot, undefined);
  assert.equal(show(u), 'offset=5 [5/1]');
});

test('unstable: truncateAndAppend appends, replaces or truncates', () => {
  const cases: { name: string; u: Unstable; append: Entry[]; want: string }[] = [
    { name: 'append at the end', u: make(5, [ent(5, 1)]), append: [ent(6, 1), ent(7, 1)], want: 'offset=5 [5/1 6/1 7/1]' },
    { name: 'replace at offset', u: make(5, [ent(5, 1)]), append: [ent(5, 2), ent(6, 2)], want: 'offset=5 [5/2 6/2]' },
    { name: 'replace before offset', u: make(5, [ent(5, 1)]), append: [ent(4, 2), ent(5, 2), ent(6, 2)], want: 'offset=4 [4/2 5/2 6/2]' },
    { name: 'truncate the middle', u: make(5, [ent(5, 1), ent(6, 1), ent(7, 1)]), append: [ent(6, 2)], want: 'offset=5 [5/1 6/2]' },
    { name: 'truncate the last', u: make(5, [ent(5, 1), ent(6, 1), ent(7, 1)]), append: [ent(7, 2), ent(8, 2)], want: 'offset=5 [5/1 6/1 7/2 8/2]' },
    { name: 'empty tail', u: make(5, []), append: [ent(5, 1)], want: 'offset=5 [5/1]' },
  ];
  for (const c of cases) {
    const input = c.append.slice();
    c.u.truncateAndAppend(c.append);
    assert.equal(show(c.u), c.want, c.name);
    assert.deepEqual(c.append, input, `${c.name}: the argument is not mutated`);
  }
});

test('unstable: truncateAndAppend does not alias the caller array', () => {
  const u = make(5, [ent(5, 1)]);
  const incoming = [ent(4, 2), ent(5, 2)];
  u.truncateAndAppend(incoming);
  incoming.push(ent(6, 2));
  assert.equal(u.entries.length, 2);
});

test('unstable: truncateAndAppend refuses a gap after the tail (it would break entries[i].index === offset + i)', () => {
  const u = make(5, [ent(5, 1)]);
  assert.throws(() => u.truncateAndAppend([ent(7, 1)]), AssertionError, `accepted a gap: ${show(u)}`);
});

test('unstable: slice returns [lo, hi) and asserts its bounds', () => {
  const u = make(5, [ent(5, 1), ent(6, 1), ent(7, 2)]);
  assert.deepEqual(u.slice(5, 8).map((e) => e.index), [5, 6, 7]);
  assert.deepEqual(u.slice(6, 7).map((e) => e.index), [6]);
  assert.deepEqual(u.slice(6, 6), []);
  assert.throws(() => u.slice(4, 6), AssertionError);
  assert.throws(() => u.slice(6, 9), AssertionError);
  assert.throws(() => u.slice(7, 6), AssertionError);
});

test('unstable: property: truncateAndAppend and stableTo agree with a model', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('append' as const), back: fc.nat(5), terms: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 4 }) }),
    fc.record({ kind: fc.constant('stable' as const), back: fc.nat(5), wrongTerm: fc.boolean() }),
  );
  fc.assert(fc.property(fc.integer({ min: 1, max: 20 }), fc.array(op, { maxLength: 25 }), (start, ops) => {
    const u = new Unstable(start);
    // Model: every entry ever in the log, by index, and the persisted boundary.
    let offset = start;
    let terms: Term[] = []; // terms[i] is the term of entry offset + i
    for (const o of ops) {
      const end = offset + terms.length;
      if (o.kind === 'append') {
        const from = Math.max(1, end - o.back);
        u.truncateAndAppend(o.terms.map((t, i) => ent(from + i, t)));
        if (from <= offset) {
          offset = from;
          terms = o.terms.slice();
        } else {
          terms = [...terms.slice(0, from - offset), ...o.terms];
        }
      } else {
        const index = end - 1 - o.back;
        const t = index >= offset ? terms[index - offset]! : undefined;
        u.stableTo(index, o.wrongTerm ? 99 : (t ?? 1));
        if (t !== undefined && !o.wrongTerm) {
          terms = terms.slice(index + 1 - offset);
          offset = index + 1;
        }
      }
      assert.equal(u.offset, offset);
      assert.deepEqual(u.entries.map((e) => e.term), terms);
      u.entries.forEach((e, i) => assert.equal(e.index, u.offset + i));
    }
  }), { numRuns: 300 });
});
