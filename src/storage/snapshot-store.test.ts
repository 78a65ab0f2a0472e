import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import type { NodeId, Snapshot } from '../raft/types.js';
import { SnapshotCorruptionError, StorageErrorCode } from './errors.js';
import { FaultyFileSystem, SimulatedCrashError } from './faulty-file-system.js';
import { NodeFileSystem } from './file-system.js';
import { SnapshotStore, snapshotName } from './snapshot-store.js';
import { STORAGE_LIMITS } from './limits.js';
import { encodeSnapshotChain, snapshotChainParts } from './snapshot-chain.js';
import { withTempDir } from './test-support.js';

function snap(index: number, term: number, fill: number): Snapshot {
  return {
    metadata: { index, term, confState: { voters: [1, 2, 3] as NodeId[], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false } },
    data: new Uint8Array(1000).fill(fill),
  };
}

test('snapshot store: save then load returns the same snapshot', async () => {
  await withTempDir(async (dir) => {
    const store = await SnapshotStore.open(path.join(dir, 'snap'), new NodeFileSystem());
    const file = await store.save(snap(10, 2, 7));
    assert.equal(file.name, snapshotName(2, 10));
    assert.deepEqual(await store.load(2, 10), snap(10, 2, 7));
  });
});

test('snapshot store: a damaged or missing file is a clear error', async () => {
  await withTempDir(async (dir) => {
    const store = await SnapshotStore.open(dir, new NodeFileSystem());
    await store.save(snap(10, 2, 7));
    const file = path.join(dir, snapshotName(2, 10));
    const bytes = await fsp.readFile(file);
    bytes[500] = bytes[500]! ^ 4;
    await fsp.writeFile(file, bytes);
    await assert.rejects(store.load(2, 10), (e: unknown) => {
      assert.ok(e instanceof SnapshotCorruptionError);
      assert.equal(e.code, StorageErrorCode.SnapshotCorrupt);
      assert.match(e.message, /CRC mismatch/);
      assert.match(e.message, new RegExp(snapshotName(2, 10)));
      return true;
    });
    await assert.rejects(store.load(3, 20), /file is missing/);
    // A file renamed to another snapshot's name is caught by the name check.
    await store.save(snap(30, 3, 1));
    await fsp.copyFile(path.join(dir, snapshotName(3, 30)), path.join(dir, snapshotName(3, 31)));
    await assert.rejects(store.load(3, 31), /contents are snapshot/);
  });
});

test('snapshot store: a crash between the temp write and the rename leaves the old snapshot', async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFileSystem(new NodeFileSystem());
    const store = await SnapshotStore.open(dir, fs);
    await store.save(snap(10, 2, 7));
    fs.schedule({ kind: 'crash', op: 'rename' });
    await assert.rejects(store.save(snap(20, 2, 9)), SimulatedCrashError);
    await fs.restart();
    const reopened = await SnapshotStore.open(dir, fs);
    assert.deepEqual((await reopened.list()).map((f) => f.index), [10]);
    assert.deepEqual(await reopened.load(2, 10), snap(10, 2, 7));
    assert.deepEqual((await fsp.readdir(dir)).sort(), [snapshotName(2, 10)], 'temp file removed');
  });
});

test('snapshot store: a rename not followed by a directory fsync may be undone by a crash', async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFileSystem(new NodeFileSystem());
    const store = await SnapshotStore.open(dir, fs);
    await store.save(snap(10, 2, 7));
    fs.schedule({ kind: 'crash', op: 'syncDir' });
    await assert.rejects(store.save(snap(20, 2, 9)), SimulatedCrashError);
    await fs.restart();
    const reopened = await SnapshotStore.open(dir, fs);
    assert.deepEqual((await reopened.list()).map((f) => f.index), [10]);
  });
});

test('snapshot store: purge keeps the current and N-1 older, and drops newer orphans', async () => {
  await withTempDir(async (dir) => {
    const store = await SnapshotStore.open(dir, new NodeFileSystem());
    for (const i of [10, 20, 30, 40]) await store.save(snap(i, 1, i));
    const deleted = await store.purge(1, 30, 2);
    assert.deepEqual(deleted.sort(), [snapshotName(1, 10), snapshotName(1, 40)].sort());
    assert.deepEqual((await store.list()).map((f) => f.index), [20, 30]);
  });
});

test('snapshot store: a large streamed snapshot is flushed a piece at a time, and loads back whole', async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFileSystem(new NodeFileSystem());
    const store = await SnapshotStore.open(dir, fs);
    const every = STORAGE_LIMITS.snapshotSyncEveryBytes;
    const chunkBytes = 1024 * 1024;
    const chunkCount = Math.ceil((2.5 * every) / chunkBytes);
    const chunks = Array.from({ length: chunkCount }, (_, i) => new Uint8Array(chunkBytes).fill(i & 0xff));
    const metadata = snap(40, 3, 0).metadata;
    const before = fs.stats.tempDatasyncs;
    await store.saveStream(metadata, { bytes: chunkBytes * chunkCount, chunks: (async function* () { yield* chunks; })() });
    // Two flushes on the way (after each `every` bytes) and the final one: never the whole file at once.
    assert.equal(fs.stats.tempDatasyncs - before, Math.floor((chunkBytes * chunkCount) / every) + 1);
    const loaded = await store.load(3, 40);
    assert.equal(loaded.data.byteLength, chunkBytes * chunkCount);
    for (let i = 0; i < chunkCount; i++) assert.equal(loaded.data[i * chunkBytes + 7], i & 0xff);
  });
});

async function* chunksOf(data: Uint8Array): AsyncIterable<Uint8Array> {
  yield data;
}

test('snapshot store: linked snapshots load as one chain, and purge keeps what a kept snapshot links to', async () => {
  await withTempDir(async (dir) => {
    const store = await SnapshotStore.open(dir, new NodeFileSystem());
    const meta = (index: number) => snap(index, 2, 0).metadata;
    const part = (fill: number) => new Uint8Array(100 + fill).fill(fill);
    await store.save({ metadata: meta(10), data: part(1) });
    const link20 = await store.saveStream(meta(20), { bytes: part(2).length, chunks: chunksOf(part(2)), base: { term: 2, index: 10 } });
    assert.equal(link20.name, snapshotName(2, 20, { term: 2, index: 10 }));
    await store.saveStream(meta(30), { bytes: part(3).length, chunks: chunksOf(part(3)), base: { term: 2, index: 20 } });
    assert.deepEqual((await store.list()).map((f) => [f.index, f.base?.index]), [[10, undefined], [20, 10], [30, 20]]);

    const chain = await store.loadChain(2, 30);
    assert.deepEqual(chain.metadata, meta(30));
    assert.deepEqual(snapshotChainParts(chain.data), [part(1), part(2), part(3)]);
    assert.deepEqual((await store.load(2, 20)).data, part(2), 'load reads one file');

    // Keeping only the current snapshot keeps its whole chain.
    assert.deepEqual(await store.purge(2, 30, 1), []);
    // A base that is itself a chain (as a follower saves one received from its leader) is flattened.
    await store.save({ metadata: meta(40), data: encodeSnapshotChain([part(4), part(5)]) });
    await store.saveStream(meta(50), { bytes: part(6).length, chunks: chunksOf(part(6)), base: { term: 2, index: 40 } });
    assert.deepEqual(snapshotChainParts((await store.loadChain(2, 50)).data), [part(4), part(5), part(6)]);
    assert.deepEqual((await store.purge(2, 50, 1)).sort(), [snapshotName(2, 10), snapshotName(2, 20, { term: 2, index: 10 }), snapshotName(2, 30, { term: 2, index: 20 })].sort());
    assert.deepEqual((await store.list()).map((f) => f.index), [40, 50]);

    // A link to a snapshot that is not there is refused; a chain with a missing base is corrupt.
    await assert.rejects(store.saveStream(meta(60), { bytes: 1, chunks: chunksOf(part(7).subarray(0, 1)), base: { term: 2, index: 55 } }), SnapshotCorruptionError);
    await fsp.unlink(path.join(dir, snapshotName(2, 40)));
    await assert.rejects(store.loadChain(2, 50), (e: unknown) => e instanceof SnapshotCorruptionError && /file is missing \(the base of/.test(e.message));
  });
});
