import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { RaftErrorCode, isRaftError } from '../raft/errors.js';
import type { ConfState, NodeId } from '../raft/types.js';
import { DiskStorage, SNAP_DIR } from './disk-storage.js';
import { SnapshotCorruptionError, StorageErrorCode, isStorageError } from './errors.js';
import { FaultyFileSystem, SimulatedCrashError } from './faulty-file-system.js';
import { NodeFileSystem } from './file-system.js';
import { snapshotName } from './snapshot-store.js';
import { snapshotChainParts } from './snapshot-chain.js';
import { TEST_IDENTITY, describeLog, makeEntries, withTempDir } from './test-support.js';

/** crashed matches the WAL's failure caused by a simulated crash. */
const crashed = (e: unknown): boolean => isStorageError(e, StorageErrorCode.WalFailed) && e.cause instanceof SimulatedCrashError;

const CONF: ConfState = { voters: [1, 2, 3] as NodeId[], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false };
const options = { identity: TEST_IDENTITY, initialConfState: CONF, segmentBytesMax: 1024 };

test('disk storage: a crash after the snapshot file but before its WAL marker keeps the old snapshot', async () => {
  await withTempDir(async (root) => {
    const dir = path.join(root, 'g');
    const fs = new FaultyFileSystem(new NodeFileSystem());
    const { storage } = await DiskStorage.open(dir, fs, options);
    await storage.persistReady({ entries: makeEntries(1, 20, 1) }, true);
    await storage.createSnapshot(5, CONF, new Uint8Array([5]));
    fs.schedule({ kind: 'crash', op: 'write' }, { pathIncludes: '.wal' });
    await assert.rejects(storage.createSnapshot(10, CONF, new Uint8Array([10])), crashed);
    await assert.rejects(storage.persistReady({ entries: [] }, true), crashed, 'failed for good');
    await storage.close().catch(() => {});
    await fs.restart();
    assert.ok(await fs.exists(path.join(dir, SNAP_DIR, snapshotName(1, 10))), 'the orphan snapshot file was durable');
    const { storage: reopened } = await DiskStorage.open(dir, fs, options);
    assert.equal(reopened.snapshot().metadata.index, 5);
    assert.deepEqual(reopened.snapshot().data, new Uint8Array([5]));
    assert.equal(describeLog(reopened.entries(6, 21, Infinity)), describeLog(makeEntries(6, 20, 1)));
    assert.equal(await fs.exists(path.join(dir, SNAP_DIR, snapshotName(1, 10))), false, 'the orphan is deleted');
    await reopened.close();
  });
});

test('disk storage: a missing snapshot the WAL depends on stops the open with a clear error', async () => {
  await withTempDir(async (dir) => {
    const fs = new NodeFileSystem();
    const { storage } = await DiskStorage.open(dir, fs, options);
    await storage.persistReady({ entries: makeEntries(1, 10, 1) }, true);
    await storage.createSnapshot(8, CONF, new Uint8Array([8]));
    await storage.close();
    await fsp.unlink(path.join(dir, SNAP_DIR, snapshotName(1, 8)));
    await assert.rejects(DiskStorage.open(dir, fs, options), (e: unknown) => {
      assert.ok(e instanceof SnapshotCorruptionError);
      assert.match(e.message, /missing.*older state cannot be used/s);
      return true;
    });
  });
});

test('disk storage: a failed fdatasync rejects this and every later write, and shows nothing', async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFileSystem(new NodeFileSystem());
    const { storage } = await DiskStorage.open(dir, fs, options);
    await storage.persistReady({ entries: makeEntries(1, 3, 1) }, true);
    fs.schedule({ kind: 'fsync-error' });
    await assert.rejects(storage.persistReady({ entries: makeEntries(4, 5, 1) }, true),
      (e: unknown) => isStorageError(e, StorageErrorCode.WalFailed));
    assert.equal(storage.lastIndex(), 3, 'the core never sees entries that are not durable');
    await assert.rejects(storage.persistReady({ entries: makeEntries(4, 4, 1) }, true),
      (e: unknown) => isStorageError(e, StorageErrorCode.WalFailed));
    await assert.rejects(storage.createSnapshot(2, CONF, new Uint8Array()),
      (e: unknown) => isStorageError(e, StorageErrorCode.WalFailed));
    await storage.close();
  });
});

test('disk storage: snapshots purge WAL segments and old snapshot files', async () => {
  await withTempDir(async (dir) => {
    const { storage } = await DiskStorage.open(dir, new NodeFileSystem(), options);
    for (let i = 0; i < 20; i++) await storage.persistReady({ entries: makeEntries(i * 5 + 1, i * 5 + 5, 1, 40) }, true);
    const before = storage.walSegmentNames.length;
    assert.ok(before >= 5, `${before} segments`);
    await storage.createSnapshot(50, CONF, new Uint8Array([50]));
    await storage.createSnapshot(90, CONF, new Uint8Array([90]));
    await storage.compact(90);
    assert.ok(storage.walSegmentNames.length < before);
    assert.deepEqual((await fsp.readdir(path.join(dir, SNAP_DIR))).sort(), [snapshotName(1, 50), snapshotName(1, 90)]);
    await storage.close();
    const { storage: reopened } = await DiskStorage.open(dir, new NodeFileSystem(), options);
    assert.equal(reopened.firstIndex(), 91);
    assert.equal(reopened.lastIndex(), 100);
    await reopened.close();
  });
});

test('disk storage: a torn tail is reported and the acknowledged log survives', async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFileSystem(new NodeFileSystem());
    const { storage } = await DiskStorage.open(dir, fs, { ...options, segmentBytesMax: 1 << 20 });
    await storage.persistReady({ entries: makeEntries(1, 5, 1) }, true);
    fs.schedule({ kind: 'torn-write', bytesKept: 30, then: 'crash' });
    await assert.rejects(storage.persistReady({ entries: makeEntries(6, 9, 1) }, true), crashed);
    await fs.restart();
    const { storage: reopened } = await DiskStorage.open(dir, fs, options);
    assert.ok(reopened.tornTail);
    assert.equal(reopened.lastIndex(), 5);
    await reopened.close();
  });
});

test('disk storage: snapshot data is not kept in memory once in its file, and is read back when asked for', async () => {
  await withTempDir(async (dir) => {
    const fs = new NodeFileSystem();
    const { storage } = await DiskStorage.open(dir, fs, options);
    await storage.persistReady({ entries: makeEntries(1, 20, 1) }, true);
    const data = new Uint8Array(10_000).map((_, i) => i % 251);
    const created = await storage.createSnapshot(12, CONF, data);
    assert.equal(created.data, data, 'the caller gets the snapshot it created');
    assert.equal(storage.snapshotDataHeld, false);
    assert.deepEqual(storage.snapshotMetadata(), { index: 12, term: 1, confState: CONF });
    assert.throws(() => storage.snapshot(), (e: unknown) => isRaftError(e, RaftErrorCode.SnapshotTemporarilyUnavailable));
    await storage.persistReady({ entries: makeEntries(21, 21, 1) }, true); // queued behind the read-back
    assert.equal(storage.snapshotDataHeld, true);
    assert.deepEqual(storage.snapshot(), { metadata: { index: 12, term: 1, confState: CONF }, data });
    // A snapshot installed from a leader replaces it: its data is not held either.
    const installed = { metadata: { index: 40, term: 3, confState: CONF }, data: new Uint8Array([4, 0]) };
    await storage.persistReady({ snapshot: installed, hardState: { term: 3, vote: 0 as NodeId, commit: 40 }, entries: [] }, true);
    assert.equal(storage.snapshotDataHeld, false);
    assert.throws(() => storage.snapshot(), (e: unknown) => isRaftError(e, RaftErrorCode.SnapshotTemporarilyUnavailable));
    await storage.persistReady({ entries: [] }, true);
    assert.deepEqual(storage.snapshot(), installed);
    await storage.close();
    const { storage: reopened } = await DiskStorage.open(dir, fs, options);
    assert.equal(reopened.snapshotDataHeld, true, 'held after opening: the member restores from it');
    assert.deepEqual(reopened.snapshot(), installed);
    reopened.releaseSnapshotData();
    assert.equal(reopened.snapshotDataHeld, false);
    assert.throws(() => reopened.snapshot(), (e: unknown) => isRaftError(e, RaftErrorCode.SnapshotTemporarilyUnavailable));
    await reopened.persistReady({ entries: [] }, true);
    assert.deepEqual(reopened.snapshot(), installed);
    await reopened.close();
  });
});

test('disk storage: a snapshot streamed in chunks is the same file as one written whole', async () => {
  await withTempDir(async (root) => {
    const fs = new NodeFileSystem();
    const whole = (await DiskStorage.open(path.join(root, 'whole'), fs, options)).storage;
    const streamed = (await DiskStorage.open(path.join(root, 'streamed'), fs, options)).storage;
    const data = new Uint8Array(5_000).map((_, i) => (i * 7) % 256);
    for (const s of [whole, streamed]) await s.persistReady({ entries: makeEntries(1, 20, 1) }, true);
    await whole.createSnapshot(15, CONF, data);
    async function* pieces(): AsyncIterable<Uint8Array> {
      for (let at = 0; at < data.length; at += 1_234) yield data.subarray(at, at + 1_234);
    }
    const metadata = await streamed.createSnapshotFrom(15, CONF, { bytes: data.length, chunks: pieces() });
    assert.deepEqual(metadata, { index: 15, term: 1, confState: CONF });
    const name = snapshotName(1, 15);
    assert.deepEqual(await fsp.readFile(path.join(root, 'streamed', SNAP_DIR, name)), await fsp.readFile(path.join(root, 'whole', SNAP_DIR, name)));
    // Chunks that do not add up to the announced size are refused (and no WAL marker is written).
    await assert.rejects(streamed.createSnapshotFrom(18, CONF, { bytes: data.length + 1, chunks: pieces() }), /announced/);
    assert.equal(streamed.snapshotMetadata().index, 15);
    await streamed.close();
    await whole.close();
    const { storage: reopened } = await DiskStorage.open(path.join(root, 'streamed'), fs, options);
    assert.deepEqual(reopened.snapshot().data, data);
    await reopened.close();
  });
});

test('disk storage: linked snapshots reopen as a chain; a crash before a link\'s WAL marker keeps the chain before it', async () => {
  await withTempDir(async (root) => {
    const dir = path.join(root, 'g');
    const fs = new FaultyFileSystem(new NodeFileSystem());
    const { storage } = await DiskStorage.open(dir, fs, options);
    assert.equal(storage.linkedSnapshots, true);
    await storage.persistReady({ entries: makeEntries(1, 30, 1) }, true);
    await storage.createSnapshot(5, CONF, new Uint8Array([5]));
    const link = (index: number, base: number) => ({ bytes: 1, chunks: (async function* () { yield new Uint8Array([index]); })(), base: { term: 1, index: base } });
    await storage.createSnapshotFrom(10, CONF, link(10, 5));
    fs.schedule({ kind: 'crash', op: 'write' }, { pathIncludes: '.wal' });
    await assert.rejects(storage.createSnapshotFrom(15, CONF, link(15, 10)), crashed);
    await storage.close().catch(() => {});
    await fs.restart();
    assert.ok(await fs.exists(path.join(dir, SNAP_DIR, snapshotName(1, 15, { term: 1, index: 10 }))), 'the orphan link was durable');

    const { storage: reopened } = await DiskStorage.open(dir, fs, options);
    assert.equal(reopened.snapshot().metadata.index, 10);
    assert.deepEqual(snapshotChainParts(reopened.snapshot().data), [new Uint8Array([5]), new Uint8Array([10])]);
    assert.equal(await fs.exists(path.join(dir, SNAP_DIR, snapshotName(1, 15, { term: 1, index: 10 }))), false, 'the orphan is deleted');
    // A delta over anything but the current snapshot is refused as out of date, and the storage goes on.
    await assert.rejects(reopened.createSnapshotFrom(20, CONF, link(20, 5)), (e: unknown) => isRaftError(e, RaftErrorCode.SnapshotOutOfDate));
    // Whole snapshots later: the chain goes once nothing kept links to it (2 snapshots retained).
    await reopened.createSnapshot(20, CONF, new Uint8Array([20]));
    assert.ok(await fs.exists(path.join(dir, SNAP_DIR, snapshotName(1, 5))), 'the base of the retained link is kept');
    await reopened.createSnapshot(25, CONF, new Uint8Array([25]));
    assert.deepEqual((await fsp.readdir(path.join(dir, SNAP_DIR))).sort(), [snapshotName(1, 20), snapshotName(1, 25)]);
    await reopened.close();
  });
});

test('disk storage: a snapshot above the durable commit index reopens with the commit at the snapshot', async () => {
  // A member may apply entries committed by a quorum while its own write is in flight and then
  // snapshot them before a hard state recording that commit is written (GroupHost).
  await withTempDir(async (dir) => {
    const fs = new NodeFileSystem();
    const { storage } = await DiskStorage.open(dir, fs, options);
    await storage.persistReady({ entries: makeEntries(1, 10, 1), hardState: { term: 1, vote: 1 as NodeId, commit: 5 } }, true);
    await storage.createSnapshot(8, CONF, new Uint8Array([8]));
    await storage.close();
    const { storage: reopened } = await DiskStorage.open(dir, fs, options);
    assert.deepEqual(reopened.initialState().hardState, { term: 1, vote: 1, commit: 8 });
    assert.equal(reopened.snapshot().metadata.index, 8);
    assert.equal(describeLog(reopened.entries(9, 11, Infinity)), describeLog(makeEntries(9, 10, 1)));
    await reopened.close();
  });
});
