import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { Xoshiro128 } from '../lib/prng.js';
import type { Entry, HardState, NodeId } from '../raft/types.js';
import { StorageErrorCode, WalCorruptionError, isStorageError } from './errors.js';
import { FaultyFileSystem, SimulatedCrashError } from './faulty-file-system.js';
import { NodeFileSystem } from './file-system.js';
import { TEST_IDENTITY, describeLog, makeEntries, makeEntry, withTempDir } from './test-support.js';
import { scanRecords } from './wal-record.js';
import { Wal, type WalOptions } from './wal.js';

const options: WalOptions = { identity: TEST_IDENTITY };
const hs = (term: number, commit: number): HardState => ({ term, vote: 1 as NodeId, commit });

async function reopen(dir: string, opts: WalOptions = options, fs = new NodeFileSystem()) {
  const opened = await Wal.open(dir, fs, opts);
  await opened.wal.close();
  return opened.recovery;
}

async function lastSegment(dir: string): Promise<string> {
  const names = (await fsp.readdir(dir)).filter((n) => n.endsWith('.wal')).sort();
  return path.join(dir, names[names.length - 1]!);
}

/** logicalEnd is where the records of a segment end (its zero tail, if preallocated, starts there). */
function logicalEnd(bytes: Uint8Array): number {
  const records = scanRecords(bytes).records;
  return records[records.length - 1]!.endOffset;
}

test('wal: saved entries and hard state come back after reopen', async () => {
  await withTempDir(async (root) => {
    const dir = path.join(root, 'wal');
    const { wal, recovery } = await Wal.open(dir, new NodeFileSystem(), options);
    assert.equal(recovery.created, true);
    await wal.save(hs(1, 0), makeEntries(1, 3, 1), true);
    await wal.save(hs(2, 3), makeEntries(4, 5, 2), true);
    await wal.close();
    const again = await reopen(dir);
    assert.equal(again.created, false);
    assert.deepEqual(again.hardState, hs(2, 3));
    assert.deepEqual(again.entries, [...makeEntries(1, 3, 1), ...makeEntries(4, 5, 2)]);
    assert.equal(again.tornTail, undefined);
  });
});

test('wal: an overwritten tail is replaced by the last writer on recovery', async () => {
  await withTempDir(async (dir) => {
    const { wal } = await Wal.open(dir, new NodeFileSystem(), options);
    await wal.save(hs(1, 2), makeEntries(1, 6, 1), true);
    await wal.save(hs(2, 2), makeEntries(4, 4, 2), true); // follower repair: 4.. replaced, 5..6 gone
    await wal.save(undefined, makeEntries(5, 5, 2), true);
    await wal.close();
    const recovery = await reopen(dir);
    assert.equal(describeLog(recovery.entries), '1/1 2/1 3/1 4/2 5/2');
  });
});

test('wal: a torn tail is truncated and the WAL keeps working', async () => {
  await withTempDir(async (dir) => {
    const { wal } = await Wal.open(dir, new NodeFileSystem(), options);
    await wal.save(hs(1, 0), makeEntries(1, 3, 1), true);
    await wal.save(hs(1, 0), makeEntries(4, 6, 1, 100), true);
    await wal.close();
    const file = await lastSegment(dir);
    const bytes = await fsp.readFile(file);
    const end = logicalEnd(bytes);
    bytes.fill(0, end - 50, end); // the last write stopped part-way (the preallocated zeros show)
    await fsp.writeFile(file, bytes);
    const first = await Wal.open(dir, new NodeFileSystem(), options);
    assert.ok(first.recovery.tornTail, 'torn tail reported');
    assert.equal(first.recovery.tornTail.path, file);
    assert.equal(describeLog(first.recovery.entries), '1/1 2/1 3/1 4/1 5/1');
    const after = await fsp.readFile(file);
    assert.equal(after.byteLength, bytes.byteLength, 'a preallocated segment keeps its size');
    assert.ok(after.subarray(first.recovery.tornTail.offsetBytes).every((b) => b === 0), 'torn bytes zeroed');
    await first.wal.save(undefined, makeEntries(6, 7, 2), true);
    await first.wal.close();
    const second = await reopen(dir);
    assert.equal(second.tornTail, undefined);
    assert.equal(describeLog(second.entries), '1/1 2/1 3/1 4/1 5/1 6/2 7/2');
  });
});

test('wal: a flipped bit mid-log is corruption naming the file and offset', async () => {
  await withTempDir(async (dir) => {
    const { wal } = await Wal.open(dir, new NodeFileSystem(), options);
    for (let i = 1; i <= 10; i++) await wal.save(hs(1, i - 1), [makeEntry(i, 1, 64)], true);
    await wal.close();
    const file = await lastSegment(dir);
    const bytes = await fsp.readFile(file);
    const at = Math.floor(logicalEnd(bytes) / 2);
    bytes[at] = bytes[at]! ^ 0x10;
    await fsp.writeFile(file, bytes);
    await assert.rejects(Wal.open(dir, new NodeFileSystem(), options), (error: unknown) => {
      assert.ok(error instanceof WalCorruptionError);
      assert.equal(error.code, StorageErrorCode.WalCorrupt);
      assert.equal(error.path, file);
      assert.ok(error.offsetBytes <= at && at - error.offsetBytes < 120, `offset ${error.offsetBytes} near ${at}`);
      assert.match(error.message, new RegExp(`${path.basename(file)} at byte ${error.offsetBytes}`));
      assert.match(error.message, /rebuild this member/);
      return true;
    });
    assert.equal((await fsp.readFile(file)).byteLength, bytes.byteLength, 'a corrupt WAL is not modified');
  });
});

test('wal: a flipped bit in the final record of the last segment is a torn tail', async () => {
  await withTempDir(async (dir) => {
    const { wal } = await Wal.open(dir, new NodeFileSystem(), options);
    await wal.save(hs(1, 0), makeEntries(1, 3, 1), true);
    await wal.save(undefined, [makeEntry(4, 1, 64)], true);
    await wal.close();
    const file = await lastSegment(dir);
    const bytes = await fsp.readFile(file);
    const end = logicalEnd(bytes);
    bytes[end - 10] = bytes[end - 10]! ^ 1;
    await fsp.writeFile(file, bytes);
    const recovery = await reopen(dir);
    assert.ok(recovery.tornTail);
    assert.match(recovery.tornTail.problem, /CRC mismatch/);
    assert.equal(describeLog(recovery.entries), '1/1 2/1 3/1');
  });
});

test('wal: a zeroed sector followed by intact records (unsynced pages written out of order) is a torn tail', async () => {
  await withTempDir(async (dir) => {
    const { wal } = await Wal.open(dir, new NodeFileSystem(), options);
    await wal.save(hs(1, 0), makeEntries(1, 2, 1), true);
    const synced = logicalEnd(await fsp.readFile(await lastSegment(dir)));
    await wal.save(undefined, makeEntries(3, 40, 1, 100), false);
    await wal.close();
    const file = await lastSegment(dir);
    const bytes = await fsp.readFile(file);
    const hole = Math.ceil((synced + 1) / 512) * 512;
    bytes.fill(0, hole, hole + 512);
    await fsp.writeFile(file, bytes);
    const recovery = await reopen(dir);
    assert.ok(recovery.tornTail);
    assert.ok(recovery.entries.length >= 2);
    assert.equal(describeLog(recovery.entries.slice(0, 2)), '1/1 2/1');
  });
});

test('wal: damage in a sealed segment is corruption even at its end', async () => {
  await withTempDir(async (dir) => {
    const opts = { ...options, segmentBytesMax: 1024 };
    const { wal } = await Wal.open(dir, new NodeFileSystem(), opts);
    for (let i = 1; i <= 40; i++) await wal.save(hs(1, i - 1), [makeEntry(i, 1, 64)], true);
    assert.ok(wal.segmentNames.length >= 3);
    const firstSegment = path.join(dir, wal.segmentNames[0]!);
    await wal.close();
    const bytes = await fsp.readFile(firstSegment);
    const end = logicalEnd(bytes);
    bytes.fill(0, end - 3, end); // its segment-end record loses its last bytes
    await fsp.writeFile(firstSegment, bytes);
    await assert.rejects(reopen(dir, opts), (error: unknown) => {
      assert.ok(error instanceof WalCorruptionError);
      assert.equal(error.path, firstSegment);
      return true;
    });
  });
});

test('wal: a failed fdatasync fails the WAL for good', async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFileSystem(new NodeFileSystem());
    const { wal } = await Wal.open(dir, fs, options);
    await wal.save(hs(1, 0), makeEntries(1, 2, 1), true);
    fs.schedule({ kind: 'fsync-error' });
    await assert.rejects(wal.save(hs(1, 0), makeEntries(3, 3, 1), true), (e: unknown) => isStorageError(e, StorageErrorCode.WalFailed));
    await assert.rejects(wal.save(hs(1, 0), makeEntries(4, 4, 1), true), (e: unknown) => isStorageError(e, StorageErrorCode.WalFailed));
    await assert.rejects(wal.save(undefined, [], false), /EIO/);
    assert.ok(wal.failed);
    await wal.close();
    const recovery = await reopen(dir);
    assert.ok(recovery.entries.length >= 2, 'acknowledged entries survive');
  });
});

test('wal: disk full (ENOSPC) while preallocating the next segment fails the WAL at rollover, acknowledged batches survive', async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFileSystem(new NodeFileSystem());
    const opts = { ...options, segmentBytesMax: 4096 };
    const { wal } = await Wal.open(dir, fs, opts);
    await wal.save(hs(1, 0), makeEntries(1, 2, 1), true);
    fs.setBytesFree(100); // writes inside the preallocated segment need no space; the next segment's zero fill does
    let acked = 2;
    await assert.rejects((async () => {
      for (let i = 3; i < 100; i++) {
        await wal.save(hs(1, i - 1), [makeEntry(i, 1, 50)], true);
        acked = i;
      }
    })(), (e: unknown) => {
      assert.ok(isStorageError(e, StorageErrorCode.WalFailed));
      assert.match(e.message, /ENOSPC/);
      return true;
    });
    assert.ok(acked > 10, `${acked} entries fit in the first segment`);
    fs.setBytesFree(undefined);
    await assert.rejects(wal.save(undefined, [makeEntry(acked + 1, 1)], true), (e: unknown) => isStorageError(e, StorageErrorCode.WalFailed));
    await wal.close();
    const recovery = await reopen(dir, opts);
    assert.equal(recovery.entries.length, acked);
    assert.deepEqual((await fsp.readdir(dir)).filter((n) => n.endsWith('.tmp')), [], 'the partial zero fill is deleted');
  });
});

test('wal: disk full (ENOSPC) on a batch larger than the preallocated segment drops the partial record', async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFileSystem(new NodeFileSystem());
    const opts = { ...options, segmentBytesMax: 4096 };
    const { wal } = await Wal.open(dir, fs, opts);
    await wal.save(hs(1, 0), makeEntries(1, 2, 1), true);
    fs.setBytesFree(4096 + 100); // the next segment's zero fill fits, the batch written past its end does not
    await assert.rejects(wal.save(hs(1, 2), makeEntries(3, 10, 1, 1000), true), (e: unknown) => {
      assert.ok(isStorageError(e, StorageErrorCode.WalFailed));
      assert.match(e.message, /ENOSPC/);
      return true;
    });
    await wal.close();
    fs.setBytesFree(undefined);
    const recovery = await reopen(dir, opts);
    assert.ok(recovery.tornTail, 'the partial write is a torn tail');
    assert.ok(recovery.entries.length >= 2 && recovery.entries.length < 10, 'whole records of the partial write at most');
    assert.equal(describeLog(recovery.entries), describeLog(makeEntries(1, 2, 1).concat(makeEntries(3, recovery.entries.length, 1, 1000))));
  });
});

test('wal: group commit — one save of many entries is one write and one fdatasync', async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFileSystem(new NodeFileSystem());
    const { wal } = await Wal.open(dir, fs, options);
    const before = { ...fs.stats };
    await wal.save(hs(1, 0), makeEntries(1, 500, 1), true);
    assert.equal(fs.stats.writes - before.writes, 1);
    assert.equal(fs.stats.datasyncs - before.datasyncs, 1);
    // Saves issued together while one is in flight share the next write and fsync.
    const mid = { ...fs.stats };
    await Promise.all(Array.from({ length: 20 }, (_, i) => wal.save(hs(1, i), [makeEntry(501 + i, 1)], true)));
    assert.ok(fs.stats.datasyncs - mid.datasyncs <= 2, `${fs.stats.datasyncs - mid.datasyncs} fdatasyncs for 20 concurrent saves`);
    // mustSync=false writes without an fdatasync.
    const unsynced = { ...fs.stats };
    await wal.save(hs(1, 5), [], false);
    assert.equal(fs.stats.datasyncs, unsynced.datasyncs);
    await wal.close();
    assert.equal((await reopen(dir)).entries.length, 520);
  });
});

test('wal: segments roll over at the size limit and purge deletes those a snapshot covers', async () => {
  await withTempDir(async (dir) => {
    const opts = { ...options, segmentBytesMax: 2048 };
    const fs = new NodeFileSystem();
    const { wal } = await Wal.open(dir, fs, opts);
    for (let i = 1; i <= 100; i++) await wal.save(hs(1, i - 1), [makeEntry(i, 1, 100)], i % 3 === 0);
    const segments = [...wal.segmentNames];
    assert.ok(segments.length >= 5, `${segments.length} segments`);
    for (const name of segments) assert.ok((await fsp.stat(path.join(dir, name))).size <= 2048 + 200, name);
    await wal.close();
    assert.equal((await reopen(dir, opts)).entries.length, 100);

    const { wal: wal2 } = await Wal.open(dir, fs, opts);
    await wal2.saveSnapshot({ index: 60, term: 1, installed: false });
    const deleted = await wal2.purgeTo(60);
    assert.ok(deleted.length >= 2);
    assert.deepEqual(deleted, segments.slice(0, deleted.length), 'oldest first');
    assert.ok(wal2.segmentNames.length >= 1);
    const firstKept = Number.parseInt(wal2.segmentNames[0]!.slice(17, 33), 16);
    assert.ok(firstKept - 1 <= 60, 'a kept segment may hold entries up to the snapshot');
    await wal2.save(undefined, [makeEntry(101, 2)], true);
    await wal2.close();
    const recovery = await reopen(dir, opts);
    assert.deepEqual(recovery.snapshot, { index: 60, term: 1, installed: false });
    assert.equal(recovery.entries[0]!.index, 61);
    assert.equal(recovery.entries[recovery.entries.length - 1]!.index, 101);
    assert.equal(recovery.entries.length, 41);
  });
});

test('wal: an installed snapshot replaces the log', async () => {
  await withTempDir(async (dir) => {
    const { wal } = await Wal.open(dir, new NodeFileSystem(), options);
    await wal.save(hs(1, 2), makeEntries(1, 5, 1), true);
    await wal.saveBatch({ snapshot: { index: 50, term: 3, installed: true }, entries: makeEntries(51, 52, 3), hardState: hs(3, 50) }, true);
    await wal.close();
    const recovery = await reopen(dir);
    assert.deepEqual(recovery.snapshot, { index: 50, term: 3, installed: true });
    assert.equal(describeLog(recovery.entries), '51/3 52/3');
    assert.deepEqual(recovery.hardState, hs(3, 50));
  });
});

test('wal: a WAL of another node or cluster is refused', async () => {
  await withTempDir(async (dir) => {
    const { wal } = await Wal.open(dir, new NodeFileSystem(), options);
    await wal.close();
    await assert.rejects(reopen(dir, { identity: { ...TEST_IDENTITY, nodeId: 2 } }),
      (e: unknown) => isStorageError(e, StorageErrorCode.WalIdentityMismatch));
    await assert.rejects(reopen(dir, { identity: { ...TEST_IDENTITY, clusterId: 'other' } }),
      (e: unknown) => isStorageError(e, StorageErrorCode.WalIdentityMismatch));
  });
});

/** applyRecords is a naive model of the log after a list of records (last writer wins). */
function modelLog(batches: readonly { entries: readonly Entry[] }[]): string {
  const log: Entry[] = [];
  for (const b of batches) {
    for (const e of b.entries) {
      log.length = e.index - 1;
      log.push(e);
    }
  }
  return describeLog(log);
}

test('wal: crashes keep every acknowledged batch and never a partial record (seeded)', async () => {
  const seed = Number(process.env.CONCORD_SEED ?? 0x5eed) >>> 0;
  const prng = new Xoshiro128(seed);
  const rand = (n: number): number => prng.nextUint32() % n;
  for (let round = 0; round < 12; round++) {
    await withTempDir(async (dir) => {
      const torn = round % 2 === 1;
      const fs = new FaultyFileSystem(new NodeFileSystem(), { prng });
      const opts = { ...options, segmentBytesMax: 4096 };
      const { wal } = await Wal.open(dir, fs, opts);
      const batches: { entries: Entry[]; mustSync: boolean }[] = [];
      let acked = 0; // batches known durable (a synced save resolved)
      let last = 0;
      let term = 1;
      const crashAfter = 5 + rand(30);
      for (let i = 0; i < crashAfter + 5; i++) {
        if (i === crashAfter) {
          if (torn) fs.schedule({ kind: 'torn-write', then: 'crash' }, { pathIncludes: '.wal' });
          else break;
        }
        const start = last > 3 && rand(5) === 0 ? last - rand(3) : last + 1; // sometimes repair the tail
        if (start <= last) term++;
        const entries = makeEntries(start, start + rand(4), term, 1 + rand(300));
        const mustSync = rand(3) !== 0;
        batches.push({ entries, mustSync });
        try {
          await wal.save(undefined, entries, mustSync);
        } catch (error) {
          assert.ok(error instanceof Error && /crash/i.test(error.message), String(error));
          break;
        }
        if (mustSync) acked = batches.length;
        last = entries[entries.length - 1]!.index;
      }
      if (!fs.isCrashed) fs.crash();
      await wal.close().catch((e: unknown) => assert.ok(e instanceof SimulatedCrashError));
      await fs.restart();
      const recovery = await reopen(dir, opts, fs);
      const got = describeLog(recovery.entries);
      // The recovered log is the log after `acked` or more whole batches, or (torn) after a
      // prefix of the records of the next batch: never a partial record.
      const candidates: string[] = [];
      for (let n = acked; n <= batches.length; n++) {
        candidates.push(modelLog(batches.slice(0, n)));
        const next = batches[n];
        if (next) {
          for (let k = 1; k < next.entries.length; k++) {
            candidates.push(modelLog([...batches.slice(0, n), { entries: next.entries.slice(0, k) }]));
          }
        }
      }
      assert.ok(candidates.includes(got), `seed ${seed} round ${round}: recovered "${got}" is not a state after >= ${acked} batches`);
    });
  }
});
