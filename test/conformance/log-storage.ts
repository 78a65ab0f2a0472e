import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RaftErrorCode, isRaftError } from '../../src/raft/errors.js';
import {
  EMPTY_HARD_STATE, EntryType, entryBytes,
  type ConfState, type Entry, type HardState, type NodeId, type Snapshot,
} from '../../src/raft/types.js';
import type { DurableLogStorage } from '../../src/storage/durable-log-storage.js';

/**
 * LogStorageHarness is one implementation under test: `open` creates a fresh storage whose
 * founding configuration is `confState`; `reopen` (disk-backed implementations only) closes it
 * and opens the same directory again; `cleanup` removes whatever `open` created.
 */
export interface LogStorageHarness {
  open(confState: ConfState): Promise<DurableLogStorage>;
  reopen?: (storage: DurableLogStorage) => Promise<DurableLogStorage>;
  cleanup(): Promise<void>;
}

/** LogStorageFactory makes a harness per test. */
export type LogStorageFactory = () => Promise<LogStorageHarness>;

const CONF: ConfState = { voters: [1, 2, 3] as NodeId[], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false };

function ent(index: number, term: number, text = `e${index}t${term}`): Entry {
  return { index, term, type: EntryType.Normal, data: new TextEncoder().encode(text) };
}
function ents(lo: number, hi: number, term: number): Entry[] {
  return Array.from({ length: hi - lo + 1 }, (_, i) => ent(lo + i, term));
}
const ids = (es: readonly Entry[]): string => es.map((e) => `${e.index}/${e.term}`).join(' ');
const code = (c: RaftErrorCode) => (e: unknown) => isRaftError(e, c);

/**
 * runLogStorageConformance registers the shared suite for one DurableLogStorage implementation
 * (hashicorp/raft-style: one suite, every implementation). Checks: append and tail overwrite,
 * term/entries/firstIndex/lastIndex with their RAFT_COMPACTED / RAFT_UNAVAILABLE misses,
 * snapshots (local and installed), hard state, and — with `reopen` — that a reopened storage
 * shows exactly what was persisted.
 */
export function runLogStorageConformance(name: string, factory: LogStorageFactory): void {
  const scenario = (title: string, body: (h: LogStorageHarness, s: DurableLogStorage, check: (s: DurableLogStorage) => Promise<DurableLogStorage>) => Promise<void>): void => {
    test(`${name}: ${title}`, async () => {
      const h = await factory();
      try {
        const storage = await h.open(CONF);
        // check runs the assertions again after a reopen, when the implementation supports one.
        let current = storage;
        const check = async (s: DurableLogStorage): Promise<DurableLogStorage> => {
          if (!h.reopen) return s;
          current = await h.reopen(s);
          return current;
        };
        await body(h, storage, check);
        await current.close();
      } finally {
        await h.cleanup();
      }
    });
  };

  scenario('a new storage is empty with the founding configuration', async (_h, s0, check) => {
    for (const s of [s0, await check(s0)]) {
      assert.equal(s.firstIndex(), 1);
      assert.equal(s.lastIndex(), 0);
      assert.equal(s.term(0), 0);
      assert.deepEqual(s.initialState(), { hardState: EMPTY_HARD_STATE, confState: CONF });
      assert.equal(s.snapshot().metadata.index, 0);
      assert.throws(() => s.term(1), code(RaftErrorCode.Unavailable));
    }
  });

  scenario('appended entries are readable by index, term and byte budget', async (_h, s0, check) => {
    await s0.persistReady({ entries: [...ents(1, 2, 1), ...ents(3, 5, 2)] }, true);
    for (const s of [s0, await check(s0)]) {
      assert.equal(s.firstIndex(), 1);
      assert.equal(s.lastIndex(), 5);
      assert.equal(s.term(2), 1);
      assert.equal(s.term(5), 2);
      assert.equal(ids(s.entries(2, 5, Infinity)), '2/1 3/2 4/2');
      const one = entryBytes(ent(1, 1));
      assert.equal(ids(s.entries(1, 6, one + 1)), '1/1', 'stops at the budget');
      assert.equal(ids(s.entries(1, 6, 0)), '1/1', 'always at least one entry');
      assert.equal(ids(s.entries(1, 6, 2 * one)), '1/1 2/1');
      assert.throws(() => s.entries(4, 7, Infinity), code(RaftErrorCode.Unavailable));
      assert.throws(() => s.term(6), code(RaftErrorCode.Unavailable));
      assert.deepEqual(s.entries(3, 4, Infinity)[0]!.data, ent(3, 2).data);
    }
  });

  scenario('appending over the tail replaces the conflicting suffix', async (_h, s0, check) => {
    await s0.persistReady({ entries: ents(1, 6, 1) }, true);
    await s0.persistReady({ entries: ents(4, 5, 2) }, true);
    let s = await check(s0);
    assert.equal(ids(s.entries(1, s.lastIndex() + 1, Infinity)), '1/1 2/1 3/1 4/2 5/2');
    assert.throws(() => s.term(6), code(RaftErrorCode.Unavailable));
    await s.persistReady({ entries: ents(6, 7, 3) }, true);
    await s.persistReady({ entries: ents(2, 2, 4) }, true);
    s = await check(s);
    assert.equal(ids(s.entries(1, s.lastIndex() + 1, Infinity)), '1/1 2/4');
  });

  scenario('the hard state is saved with or without entries', async (_h, s0, check) => {
    const hs: HardState = { term: 3, vote: 2 as NodeId, commit: 2 };
    await s0.persistReady({ hardState: hs, entries: ents(1, 3, 3) }, true);
    let s = await check(s0);
    assert.deepEqual(s.initialState().hardState, hs);
    const next: HardState = { ...hs, commit: 3 };
    await s.persistReady({ hardState: next, entries: [] }, false);
    s = await check(s);
    assert.deepEqual(s.initialState(), { hardState: next, confState: CONF });
  });

  scenario('a local snapshot then compaction moves the first index', async (_h, s0, check) => {
    await s0.persistReady({ entries: [...ents(1, 4, 1), ...ents(5, 10, 2)] }, true);
    const newConf: ConfState = { ...CONF, learners: [4] as NodeId[] };
    const data = new TextEncoder().encode('state at 6');
    const snap = await s0.createSnapshot(6, newConf, data);
    assert.deepEqual(snap.metadata, { index: 6, term: 2, confState: newConf });
    await s0.compact(6);
    let s = await check(s0);
    assert.equal(s.firstIndex(), 7);
    assert.equal(s.lastIndex(), 10);
    assert.equal(s.term(6), 2, 'term of the snapshot index stays readable');
    assert.throws(() => s.term(5), code(RaftErrorCode.Compacted));
    assert.throws(() => s.entries(6, 8, Infinity), code(RaftErrorCode.Compacted));
    assert.equal(ids(s.entries(7, 11, Infinity)), '7/2 8/2 9/2 10/2');
    assert.deepEqual(s.snapshot().metadata, { index: 6, term: 2, confState: newConf });
    assert.deepEqual(s.snapshot().data, data);
    assert.deepEqual(s.initialState().confState, newConf);
    await assert.rejects(s.compact(6), code(RaftErrorCode.Compacted));
    await assert.rejects(s.compact(3), code(RaftErrorCode.Compacted));
    await assert.rejects(s.createSnapshot(6, CONF, data), code(RaftErrorCode.SnapshotOutOfDate));
    await assert.rejects(s.createSnapshot(4, CONF, data), code(RaftErrorCode.SnapshotOutOfDate));
    await s.createSnapshot(9, CONF, new Uint8Array([9]));
    await s.compact(8);
    assert.equal(s.firstIndex(), 9);
    await s.persistReady({ entries: ents(11, 12, 3) }, true);
    s = await check(s);
    assert.equal(s.lastIndex(), 12);
    assert.equal(s.term(9), 2);
    assert.equal(ids(s.entries(10, 13, Infinity)), '10/2 11/3 12/3');
  });

  scenario('an installed snapshot replaces the log', async (_h, s0, check) => {
    await s0.persistReady({ entries: ents(1, 5, 1) }, true);
    const installed: Snapshot = { metadata: { index: 20, term: 4, confState: CONF }, data: new Uint8Array([1, 2, 3]) };
    const hs: HardState = { term: 4, vote: 0 as NodeId, commit: 20 };
    await s0.persistReady({ snapshot: installed, hardState: hs, entries: [] }, true);
    let s = await check(s0);
    assert.equal(s.firstIndex(), 21);
    assert.equal(s.lastIndex(), 20);
    assert.equal(s.term(20), 4);
    assert.throws(() => s.term(19), code(RaftErrorCode.Compacted));
    assert.deepEqual(s.snapshot(), installed);
    assert.deepEqual(s.initialState().hardState, hs);
    await s.persistReady({ entries: ents(21, 22, 4) }, true);
    s = await check(s);
    assert.equal(ids(s.entries(21, 23, Infinity)), '21/4 22/4');
    const older: Snapshot = { metadata: { index: 15, term: 4, confState: CONF }, data: new Uint8Array() };
    await assert.rejects(s.persistReady({ snapshot: older, entries: [] }, true), code(RaftErrorCode.SnapshotOutOfDate));
    assert.equal(s.lastIndex(), 22, 'a refused snapshot changes nothing');
  });

  scenario('a snapshot and entries in one batch land together', async (_h, s0, check) => {
    await s0.persistReady({ entries: ents(1, 3, 1) }, true);
    const installed: Snapshot = { metadata: { index: 10, term: 2, confState: CONF }, data: new Uint8Array([7]) };
    await s0.persistReady({ snapshot: installed, entries: ents(11, 13, 2) }, true);
    const s = await check(s0);
    assert.equal(s.firstIndex(), 11);
    assert.equal(ids(s.entries(11, 14, Infinity)), '11/2 12/2 13/2');
  });
}
