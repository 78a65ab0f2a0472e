/**
 * Unit tests of RaftLog, the core's view of storage + unstable tail: conflict search (and the
 * fast-backtracking findConflictByTerm, checked against a naive reference), the election
 * restriction, append / maybeAppend, commit and apply bounds, committed entries per Ready, term
 * lookups across a compacted prefix and a pending snapshot, and byte-bounded slices across the
 * storage/unstable boundary (a property test).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AssertionError } from '../../lib/assert.js';
import { RaftErrorCode, isRaftError } from '../errors.js';
import { MemoryStorage } from '../storage.js';
import {
  EMPTY_CONF_STATE, ENTRY_OVERHEAD_BYTES, EntryType, entriesBytes,
  type Entry, type LogIndex, type Snapshot, type Term,
} from '../types.js';
import { RaftLog } from './raft-log.js';

function ent(index: LogIndex, term: Term, dataBytes = 0): Entry {
  return { index, term, type: EntryType.Normal, data: new Uint8Array(dataBytes) };
}

/** terms(first, ...t) builds entries first, first+1, ... with the given terms. */
function terms(first: LogIndex, ...t: Term[]): Entry[] {
  return t.map((term, i) => ent(first + i, term));
}

function snap(index: LogIndex, term: Term): Snapshot {
  return { metadata: { index, term, confState: EMPTY_CONF_STATE }, data: new Uint8Array() };
}

interface LogSetup {
  readonly snapshot?: Snapshot;
  readonly stable?: readonly Entry[];
  readonly unstable?: readonly Entry[];
  readonly committedBytesPerReadyMax?: number;
}

function makeLog(setup: LogSetup = {}): { log: RaftLog; storage: MemoryStorage } {
  const storage = new MemoryStorage();
  if (setup.snapshot) storage.applySnapshot(setup.snapshot);
  storage.append(setup.stable ?? []);
  const log = new RaftLog(storage, setup.committedBytesPerReadyMax ?? Infinity);
  if (setup.unstable && setup.unstable.length > 0) log.append(setup.unstable);
  return { log, storage };
}

function ids(entries: readonly Entry[]): string[] {
  return entries.map((e) => `${e.index}/${e.term}`);
}

function logTerms(log: RaftLog): string[] {
  return ids(log.slice(log.firstIndex(), log.lastIndex() + 1, Infinity));
}

test('raft-log: a new log starts committed and applied at the snapshot index', () => {
  const { log } = makeLog({ snapshot: snap(5, 2), stable: terms(6, 2, 3) });
  assert.equal(log.firstIndex(), 6);
  assert.equal(log.lastIndex(), 7);
  assert.equal(log.committed, 5);
  assert.equal(log.applied, 5);
  assert.equal(log.unstable.offset, 8);
  assert.equal(log.lastTerm(), 3);
});

test('raft-log: findConflict returns the first new or conflicting index, 0 if all present', () => {
  const { log } = makeLog({ stable: terms(1, 1, 2, 3) });
  const cases: { entries: Entry[]; want: LogIndex }[] = [
    { entries: [], want: 0 },
    { entries: terms(1, 1, 2, 3), want: 0 },
    { entries: terms(2, 2, 3), want: 0 },
    { entries: terms(3, 3), want: 0 },
    { entries: terms(1, 1, 2, 3, 4, 4), want: 4 },
    { entries: terms(3, 3, 4, 4), want: 4 },
    { entries: terms(4, 4, 4), want: 4 },
    { entries: terms(1, 4, 4), want: 1 },
    { entries: terms(2, 1, 4, 4), want: 2 },
    { entries: terms(3, 1, 2, 4, 4), want: 3 },
  ];
  for (const c of cases) assert.equal(log.findConflict(c.entries), c.want, ids(c.entries).join(' '));
});

test('raft-log: findConflictByTerm on a log from index 1 and on a compacted log', () => {
  // Entries 1..5 with terms 2 2 5 5 5.
  const a = makeLog({ stable: terms(1, 2, 2, 5, 5, 5) }).log;
  assert.deepEqual(a.findConflictByTerm(5, 6), { index: 5, term: 5 });
  assert.deepEqual(a.findConflictByTerm(5, 4), { index: 2, term: 2 });
  assert.deepEqual(a.findConflictByTerm(5, 1), { index: 0, term: 0 });
  assert.deepEqual(a.findConflictByTerm(1, 2), { index: 1, term: 2 });
  assert.deepEqual(a.findConflictByTerm(0, 0), { index: 0, term: 0 });
  assert.deepEqual(a.findConflictByTerm(50, 2), { index: 50, term: 0 }, 'beyond the log: unknown term');
  // Snapshot at 10/3, then 11..14 with terms 3 4 4 4.
  const b = makeLog({ snapshot: snap(10, 3), stable: terms(11, 3, 4, 4, 4) }).log;
  assert.deepEqual(b.findConflictByTerm(14, 4), { index: 14, term: 4 });
  assert.deepEqual(b.findConflictByTerm(14, 3), { index: 11, term: 3 });
  assert.deepEqual(b.findConflictByTerm(14, 2), { index: 9, term: 0 }, 'ran into the compacted prefix');
  assert.deepEqual(b.findConflictByTerm(10, 3), { index: 10, term: 3 }, 'the snapshot term is known');
  assert.deepEqual(b.findConflictByTerm(5, 9), { index: 5, term: 0 }, 'compacted: unknown term');
});

test('raft-log: property: findConflictByTerm is the largest index <= i whose term is <= t', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 12 }).map((d) => {
      // Non-decreasing terms, as in any Raft log.
      let t = 0;
      return d.map((x) => (t += x % 2 === 0 ? 0 : 1) || 1);
    }),
    fc.nat(4), fc.nat(16), fc.nat(8),
    (logTermsIn, snapIndex, i, t) => {
      const first = snapIndex + 1;
      const stable = terms(first, ...logTermsIn);
      const { log } = makeLog(snapIndex > 0 ? { snapshot: snap(snapIndex, logTermsIn[0]!), stable } : { stable });
      const termOf = (j: number): Term | undefined =>
        j === snapIndex ? (snapIndex > 0 ? logTermsIn[0]! : 0) : j >= first && j <= log.lastIndex() ? logTermsIn[j - first] : undefined;
      let want = { index: i, term: 0 };
      for (let j = i; j >= 0; j--) {
        const tj = termOf(j);
        if (tj === undefined) { want = { index: j, term: 0 }; break; }
        if (tj <= t) { want = { index: j, term: tj }; break; }
      }
      assert.deepEqual(log.findConflictByTerm(i, t), want);
    },
  ), { numRuns: 500 });
});

test('raft-log: isUpToDate compares last term first, then last index (§5.4.1)', () => {
  const { log } = makeLog({ stable: terms(1, 1, 2, 3) });
  const last = log.lastIndex();
  const cases: { index: LogIndex; term: Term; want: boolean }[] = [
    { index: last - 1, term: 4, want: true },
    { index: last, term: 4, want: true },
    { index: last + 1, term: 4, want: true },
    { index: last - 1, term: 2, want: false },
    { index: last, term: 2, want: false },
    { index: last + 1, term: 2, want: false },
    { index: last - 1, term: 3, want: false },
    { index: last, term: 3, want: true },
    { index: last + 1, term: 3, want: true },
  ];
  for (const c of cases) assert.equal(log.isUpToDate(c.index, c.term), c.want, `${c.index}/${c.term}`);
});

test('raft-log: append truncates a conflicting suffix into the unstable tail', () => {
  const cases: { name: string; append: Entry[]; wantLast: LogIndex; wantLog: string[]; wantOffset: LogIndex }[] = [
    { name: 'nothing', append: [], wantLast: 2, wantLog: ['1/1', '2/2'], wantOffset: 3 },
    { name: 'after the end', append: terms(3, 2), wantLast: 3, wantLog: ['1/1', '2/2', '3/2'], wantOffset: 3 },
    { name: 'conflict at 1', append: terms(1, 2), wantLast: 1, wantLog: ['1/2'], wantOffset: 1 },
    { name: 'conflict at 2', append: terms(2, 3, 3), wantLast: 3, wantLog: ['1/1', '2/3', '3/3'], wantOffset: 2 },
  ];
  for (const c of cases) {
    const { log } = makeLog({ stable: terms(1, 1, 2) });
    assert.equal(log.append(c.append), c.wantLast, c.name);
    assert.deepEqual(logTerms(log), c.wantLog, c.name);
    assert.equal(log.unstable.offset, c.wantOffset, c.name);
  }
});

test('raft-log: append below the commit index fails an assertion', () => {
  const { log } = makeLog({ stable: terms(1, 1, 2, 3) });
  log.commitTo(2);
  assert.throws(() => log.append(terms(2, 4)), AssertionError);
  log.append(terms(3, 4)); // replacing an uncommitted entry is fine
  assert.deepEqual(logTerms(log), ['1/1', '2/2', '3/4']);
});

test('raft-log: maybeAppend matches (index, logTerm), appends new entries and commits min(commit, last new)', () => {
  // Log 1/1 2/2 3/3, committed 1.
  const cases: {
    name: string; index: LogIndex; logTerm: Term; commit: LogIndex; entries: Entry[];
    want: LogIndex | undefined; wantCommit: LogIndex; wantLog?: string[];
  }[] = [
    { name: 'wrong term', index: 3, logTerm: 2, commit: 3, entries: terms(4, 4), want: undefined, wantCommit: 1 },
    { name: 'beyond the log', index: 4, logTerm: 3, commit: 3, entries: terms(5, 4), want: undefined, wantCommit: 1 },
    { name: 'heartbeat-like', index: 3, logTerm: 3, commit: 3, entries: [], want: 3, wantCommit: 3 },
    { name: 'commit bounded by last new', index: 3, logTerm: 3, commit: 4, entries: [], want: 3, wantCommit: 3 },
    { name: 'commit below last new', index: 3, logTerm: 3, commit: 2, entries: [], want: 3, wantCommit: 2 },
    { name: 'commit never decreases', index: 3, logTerm: 3, commit: 0, entries: [], want: 3, wantCommit: 1 },
    { name: 'appends', index: 3, logTerm: 3, commit: 4, entries: terms(4, 3), want: 4, wantCommit: 4, wantLog: ['1/1', '2/2', '3/3', '4/3'] },
    { name: 'appends two, commits one', index: 3, logTerm: 3, commit: 4, entries: terms(4, 3, 3), want: 5, wantCommit: 4 },
    { name: 'last new is index + len, not lastIndex', index: 1, logTerm: 1, commit: 3, entries: terms(2, 2), want: 2, wantCommit: 2, wantLog: ['1/1', '2/2', '3/3'] },
    { name: 'conflict replaces the suffix', index: 1, logTerm: 1, commit: 3, entries: terms(2, 4), want: 2, wantCommit: 2, wantLog: ['1/1', '2/4'] },
    { name: 'conflict at 3', index: 2, logTerm: 2, commit: 3, entries: terms(3, 4, 4), want: 4, wantCommit: 3, wantLog: ['1/1', '2/2', '3/4', '4/4'] },
  ];
  for (const c of cases) {
    const { log } = makeLog({ stable: terms(1, 1, 2, 3) });
    log.commitTo(1);
    assert.equal(log.maybeAppend(c.index, c.logTerm, c.commit, c.entries), c.want, c.name);
    assert.equal(log.committed, c.wantCommit, c.name);
    if (c.wantLog) assert.deepEqual(logTerms(log), c.wantLog, c.name);
    if (c.want === undefined) assert.deepEqual(logTerms(log), ['1/1', '2/2', '3/3'], `${c.name}: unchanged`);
  }
  // A conflict with a committed entry is a safety violation.
  const { log } = makeLog({ stable: terms(1, 1, 2, 3) });
  log.commitTo(2);
  assert.throws(() => log.maybeAppend(1, 1, 3, terms(2, 4)), AssertionError);
});

test('raft-log: commitTo never decreases and asserts the index exists', () => {
  const { log } = makeLog({ stable: terms(1, 1, 2, 3) });
  log.commitTo(2);
  assert.equal(log.committed, 2);
  log.commitTo(1);
  assert.equal(log.committed, 2);
  log.commitTo(3);
  assert.equal(log.committed, 3);
  assert.throws(() => log.commitTo(4), AssertionError);
});

test('raft-log: appliedTo stays within [applied, committed]', () => {
  const { log } = makeLog({ stable: terms(1, 1, 2, 3) });
  log.commitTo(2);
  log.appliedTo(1);
  assert.equal(log.applied, 1);
  assert.throws(() => log.appliedTo(3), AssertionError, 'beyond committed');
  log.appliedTo(2);
  assert.throws(() => log.appliedTo(1), AssertionError, 'going back');
  log.appliedTo(0); // ignored
  assert.equal(log.applied, 2);
});

test('raft-log: maybeCommit commits only an entry of the given term (§5.4.2)', () => {
  const { log } = makeLog({ stable: terms(1, 1, 2, 2) });
  assert.equal(log.maybeCommit(2, 1), false, 'entry 2 is of term 2');
  assert.equal(log.committed, 0);
  assert.equal(log.maybeCommit(3, 2), true);
  assert.equal(log.committed, 3);
  assert.equal(log.maybeCommit(2, 2), false, 'not above committed');
  assert.equal(log.maybeCommit(Number.POSITIVE_INFINITY, 2), false, 'an empty quorum commits nothing');
  assert.equal(log.committed, 3);
});

test('raft-log: committed entries are handed out once, after applied and after the snapshot', () => {
  const { log } = makeLog({ snapshot: snap(3, 1), stable: terms(4, 1, 1, 1) });
  log.commitTo(5);
  assert.equal(log.hasNextCommittedEntries(), true);
  assert.deepEqual(ids(log.nextCommittedEntries()), ['4/1', '5/1']);
  log.appliedTo(4);
  assert.deepEqual(ids(log.nextCommittedEntries()), ['5/1']);
  log.appliedTo(5);
  assert.equal(log.hasNextCommittedEntries(), false);
  assert.deepEqual(log.nextCommittedEntries(), []);
  // A pending (unpersisted) snapshot hides committed entries until it is applied.
  log.restore(snap(10, 2));
  assert.equal(log.committed, 10);
  assert.equal(log.hasNextCommittedEntries(), false);
  assert.deepEqual(log.nextCommittedEntries(), []);
});

test('raft-log: nextCommittedEntries is bounded by committedBytesPerReadyMax (at least one entry)', () => {
  const size = 10 + ENTRY_OVERHEAD_BYTES;
  const entries = [1, 2, 3, 4].map((i) => ent(i, 1, 10));
  for (const [max, want] of [[0, 1], [size, 1], [2 * size - 1, 1], [2 * size, 2], [3 * size + 1, 3], [Infinity, 4]] as const) {
    // Half persisted, half unstable, so the bound is crossed on both sides of the boundary.
    const { log } = makeLog({ stable: entries.slice(0, 2), unstable: entries.slice(2), committedBytesPerReadyMax: max });
    log.commitTo(4);
    assert.equal(log.nextCommittedEntries().length, want, `max ${max}`);
  }
});

test('raft-log: stableTo moves the unstable offset only for a matching (index, term)', () => {
  const { log, storage } = makeLog({ unstable: terms(1, 1, 2) });
  assert.equal(log.lastStableIndex(), 0);
  // The host persists before it reports: storage first, then stableTo.
  storage.append(terms(1, 1, 2));
  log.stableTo(1, 1);
  assert.equal(log.unstable.offset, 2);
  assert.equal(log.lastStableIndex(), 1);
  log.stableTo(2, 1); // wrong term: the entry was replaced meanwhile
  assert.equal(log.unstable.offset, 2);
  log.stableTo(2, 2);
  assert.equal(log.unstable.offset, 3);
  assert.deepEqual(log.unstableEntries(), []);
  assert.equal(log.lastStableIndex(), 2);
});

test('raft-log: stableTo after a snapshot ignores indexes the snapshot covers', () => {
  const { log } = makeLog({ snapshot: snap(5, 2), unstable: terms(6, 2, 3) });
  log.stableTo(5, 2);
  assert.equal(log.unstable.offset, 6);
  log.stableTo(6, 2);
  assert.equal(log.unstable.offset, 7);
  log.stableTo(7, 2);
  assert.equal(log.unstable.offset, 7, 'term mismatch');
});

test('raft-log: restore installs a pending snapshot', () => {
  const { log } = makeLog({ stable: terms(1, 1, 1, 1) });
  log.restore(snap(100, 7));
  assert.equal(log.committed, 100);
  assert.equal(log.hasPendingSnapshot(), true);
  assert.equal(log.snapshot().metadata.index, 100);
  assert.equal(log.firstIndex(), 101);
  assert.equal(log.lastIndex(), 100);
  assert.equal(log.term(100), 7);
  assert.equal(log.lastTerm(), 7);
  assert.deepEqual(log.unstableEntries(), []);
  assert.equal(log.lastStableIndex(), 0, 'nothing is known durable while the snapshot is pending');
  log.stableSnapTo(100);
  assert.equal(log.hasPendingSnapshot(), false);
});

test('raft-log: term is defined from firstIndex - 1 to lastIndex; termOrThrow names the miss', () => {
  const { log } = makeLog({ snapshot: snap(10, 3), stable: terms(11, 3, 4), unstable: terms(13, 5) });
  assert.equal(log.term(9), undefined);
  assert.equal(log.term(10), 3);
  assert.equal(log.term(12), 4);
  assert.equal(log.term(13), 5);
  assert.equal(log.term(14), undefined);
  assert.throws(() => log.termOrThrow(9), (e: unknown) => isRaftError(e, RaftErrorCode.Compacted));
  assert.throws(() => log.termOrThrow(14), (e: unknown) => isRaftError(e, RaftErrorCode.Unavailable));
  assert.equal(log.termOrThrow(13), 5);
  assert.equal(log.matchTerm(12, 4), true);
  assert.equal(log.matchTerm(12, 3), false);
  assert.equal(log.matchTerm(14, 0), false);
});

test('raft-log: term with a pending snapshot above the storage comes from the snapshot', () => {
  const { log } = makeLog({ snapshot: snap(4, 1), stable: terms(5, 1) });
  log.restore(snap(8, 2));
  assert.equal(log.term(8), 2);
  assert.equal(log.term(5), undefined, 'below the pending snapshot');
  assert.equal(log.term(9), undefined);
});

test('raft-log: slice and entries across storage and unstable; compacted start throws', () => {
  const { log } = makeLog({ snapshot: snap(3, 1), stable: terms(4, 1, 1), unstable: terms(6, 2, 2) });
  assert.deepEqual(ids(log.slice(4, 8, Infinity)), ['4/1', '5/1', '6/2', '7/2']);
  assert.deepEqual(ids(log.slice(5, 7, Infinity)), ['5/1', '6/2']);
  assert.deepEqual(ids(log.slice(6, 8, Infinity)), ['6/2', '7/2']);
  assert.deepEqual(log.slice(6, 6, Infinity), []);
  assert.throws(() => log.slice(3, 5, Infinity), (e: unknown) => isRaftError(e, RaftErrorCode.Compacted));
  assert.throws(() => log.slice(5, 9, Infinity), AssertionError);
  assert.throws(() => log.slice(6, 5, Infinity), AssertionError);
  assert.deepEqual(ids(log.entries(6, Infinity)), ['6/2', '7/2']);
  assert.deepEqual(log.entries(8, Infinity), []);
  assert.throws(() => log.entries(2, Infinity), (e: unknown) => isRaftError(e, RaftErrorCode.Compacted));
});

test('raft-log: property: slice returns the longest prefix within bytesMax (at least one entry)', () => {
  fc.assert(fc.property(
    fc.array(fc.nat(40), { minLength: 1, maxLength: 12 }), fc.nat(12), fc.nat(5), fc.nat(12), fc.nat(12), fc.nat(300),
    (sizes, splitAt, snapIndex, a, b, bytesMax) => {
      const first = snapIndex + 1;
      const all = sizes.map((n, i) => ent(first + i, 1, n));
      const split = Math.min(splitAt, all.length);
      const parts = { stable: all.slice(0, split), unstable: all.slice(split) };
      const { log } = makeLog(snapIndex > 0 ? { snapshot: snap(snapIndex, 1), ...parts } : parts);
      const lo = first + Math.min(a, b, all.length);
      const hi = first + Math.min(Math.max(a, b), all.length);
      const got = log.slice(lo, hi, bytesMax);
      const want: Entry[] = [];
      let bytes = 0;
      for (const e of all.slice(lo - first, hi - first)) {
        bytes += entriesBytes([e]);
        if (want.length > 0 && bytes > bytesMax) break;
        want.push(e);
      }
      assert.deepEqual(got.map((e) => e.index), want.map((e) => e.index));
    },
  ), { numRuns: 500 });
});

test('raft-log: append with a gap after the last index fails an assertion', () => {
  const { log } = makeLog({ stable: terms(1, 1, 1) });
  assert.throws(() => log.append(terms(5, 1)), AssertionError, `accepted a gap: ${log.toString()}`);
});
