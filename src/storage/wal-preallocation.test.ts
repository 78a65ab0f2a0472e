import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import type { HardState, NodeId } from '../raft/types.js';
import { StorageErrorCode, WalCorruptionError, isStorageError } from './errors.js';
import { FaultyFileSystem, SimulatedCrashError, type DiskFault, type FaultMatch } from './faulty-file-system.js';
import { NodeFileSystem, type FileSystem } from './file-system.js';
import { TEST_IDENTITY, describeLog, makeEntries, makeEntry, withTempDir } from './test-support.js';
import { WAL_FORMAT_VERSION, encodeRecords, scanRecords, type WalRecord } from './wal-record.js';
import { TEMP_SUFFIX, hex16, segmentName } from './wal-segment-name.js';
import { Wal, type WalOptions } from './wal.js';

const hs = (term: number, commit: number): HardState => ({ term, vote: 1 as NodeId, commit });

async function segmentFiles(dir: string): Promise<string[]> {
  return (await fsp.readdir(dir)).filter((n) => n.endsWith('.wal')).sort().map((n) => path.join(dir, n));
}

function logicalEnd(bytes: Uint8Array): number {
  const records = scanRecords(bytes).records;
  return records[records.length - 1]!.endOffset;
}

async function reopen(dir: string, opts: WalOptions, fs: FileSystem = new NodeFileSystem()) {
  const opened = await Wal.open(dir, fs, opts);
  await opened.wal.close();
  return opened.recovery;
}

/** AppendOnlyFileSystem hides `openWritable`, like a thin test wrapper that does not forward it. */
class AppendOnlyFileSystem implements FileSystem {
  private readonly inner = new NodeFileSystem();
  openAppend = (f: string) => this.inner.openAppend(f);
  readFile = (f: string) => this.inner.readFile(f);
  fileBytes = (f: string) => this.inner.fileBytes(f);
  list = (d: string) => this.inner.list(d);
  rename = (a: string, b: string) => this.inner.rename(a, b);
  unlink = (f: string) => this.inner.unlink(f);
  truncate = (f: string, n: number) => this.inner.truncate(f, n);
  mkdirp = (d: string) => this.inner.mkdirp(d);
  exists = (f: string) => this.inner.exists(f);
  syncDir = (d: string) => this.inner.syncDir(d);
}

test('wal preallocation: a segment is zero-filled to its size and N records come back from it', async () => {
  await withTempDir(async (dir) => {
    const opts = { identity: TEST_IDENTITY, segmentBytesMax: 1 << 20 };
    const { wal } = await Wal.open(dir, new NodeFileSystem(), opts);
    for (let i = 1; i <= 200; i++) await wal.save(hs(1, i - 1), [makeEntry(i, 1, 100)], true);
    await wal.close();
    const [file] = await segmentFiles(dir);
    assert.equal((await fsp.stat(file!)).size, 1 << 20, 'the file never grows');
    const bytes = await fsp.readFile(file!);
    assert.ok(bytes.subarray(logicalEnd(bytes)).every((b) => b === 0), 'zeros after the last record');
    const recovery = await reopen(dir, opts);
    assert.equal(recovery.tornTail, undefined, 'the zero tail is the clean end, not a torn tail');
    assert.equal(describeLog(recovery.entries), describeLog(makeEntries(1, 200, 1, 100)));
    assert.deepEqual(recovery.hardState, hs(1, 199));
    // The reopened WAL writes at the logical end, not at the end of the file.
    const { wal: again } = await Wal.open(dir, new NodeFileSystem(), opts);
    await again.save(hs(1, 200), [makeEntry(201, 1, 100)], true);
    await again.close();
    assert.equal((await fsp.stat(file!)).size, 1 << 20);
    assert.equal((await reopen(dir, opts)).entries.length, 201);
  });
});

test('wal preallocation: a torn write into a preallocated segment is zeroed and reported; the WAL goes on', async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFileSystem(new NodeFileSystem());
    const opts = { identity: TEST_IDENTITY, segmentBytesMax: 64 * 1024 };
    const { wal } = await Wal.open(dir, fs, opts);
    await wal.save(hs(1, 0), makeEntries(1, 5, 1), true);
    fs.schedule({ kind: 'torn-write', bytesKept: 30, then: 'crash' }, { pathIncludes: '.wal' });
    await assert.rejects(wal.save(hs(1, 5), makeEntries(6, 9, 1, 200), true), (e: unknown) => e instanceof Error && /crash/.test(e.message));
    await wal.close();
    await fs.restart();
    const [file] = await segmentFiles(dir);
    const torn = await fsp.readFile(file!);
    const { wal: reopened, recovery } = await Wal.open(dir, fs, opts);
    assert.ok(recovery.tornTail, 'torn tail reported');
    assert.equal(recovery.tornTail.path, file);
    assert.ok(recovery.tornTail.bytesDropped > 0 && recovery.tornTail.bytesDropped <= 30, 'the kept bytes, up to the last non-zero one');
    assert.equal(describeLog(recovery.entries), describeLog(makeEntries(1, 5, 1)));
    assert.ok(torn.subarray(recovery.tornTail.offsetBytes, recovery.tornTail.offsetBytes + 30).some((b) => b !== 0));
    const zeroed = await fsp.readFile(file!);
    assert.equal(zeroed.byteLength, 64 * 1024);
    assert.ok(zeroed.subarray(recovery.tornTail.offsetBytes).every((b) => b === 0), 'the torn bytes are zeroed');
    // Fewer bytes than the torn write: without the zeroing its leftovers would follow them.
    await reopened.save(hs(2, 6), [makeEntry(6, 2, 1)], true);
    await reopened.close();
    const second = await reopen(dir, opts, fs);
    assert.equal(second.tornTail, undefined);
    assert.equal(describeLog(second.entries), '1/1 2/1 3/1 4/1 5/1 6/2');
  });
});

test('wal preallocation: a flipped bit mid-log is corruption with file and offset; non-zero bytes in a sealed zero tail too', async () => {
  await withTempDir(async (dir) => {
    const opts = { identity: TEST_IDENTITY, segmentBytesMax: 4096 };
    const { wal } = await Wal.open(dir, new NodeFileSystem(), opts);
    for (let i = 1; i <= 100; i++) await wal.save(hs(1, i - 1), [makeEntry(i, 1, 64)], true);
    await wal.close();
    const files = await segmentFiles(dir);
    assert.ok(files.length >= 3);
    const expectCorrupt = async (file: string, at: number): Promise<void> => {
      const original = await fsp.readFile(file);
      const bytes = Buffer.from(original);
      bytes[at] = bytes[at]! ^ 0x10;
      await fsp.writeFile(file, bytes);
      await assert.rejects(reopen(dir, opts), (error: unknown) => {
        assert.ok(error instanceof WalCorruptionError, String(error));
        assert.equal(error.path, file);
        assert.ok(error.offsetBytes <= at && at - error.offsetBytes < 120, `offset ${error.offsetBytes} near ${at}`);
        assert.match(error.message, new RegExp(`${path.basename(file)} at byte ${error.offsetBytes}`));
        return true;
      });
      assert.deepEqual(await fsp.readFile(file), bytes, 'a corrupt WAL is not modified');
      await fsp.writeFile(file, original);
    };
    const last = files[files.length - 1]!;
    await expectCorrupt(last, Math.floor(logicalEnd(await fsp.readFile(last)) / 2));
    const sealed = files[0]!;
    await expectCorrupt(sealed, Math.floor(logicalEnd(await fsp.readFile(sealed)) / 2));
    // Garbage in the zero tail after a segment-end record (the last byte of a sealed segment with a tail).
    let withTail: string | undefined;
    for (const f of files.slice(0, -1)) {
      const b = await fsp.readFile(f);
      if (logicalEnd(b) < b.byteLength - 1) withTail = f;
    }
    assert.ok(withTail, 'a sealed segment with a zero tail');
    await expectCorrupt(withTail, (await fsp.stat(withTail)).size - 1);
    assert.equal((await reopen(dir, opts)).entries.length, 100, 'restored files recover');
  });
});

test('wal preallocation: a crash while preparing or installing the next segment leaves a recoverable directory', async () => {
  const crashPoints: { readonly fault: DiskFault; readonly match: FaultMatch }[] = [
    { fault: { kind: 'crash', op: 'openWritable' }, match: { pathIncludes: '.segment.tmp' } },
    { fault: { kind: 'crash', op: 'write' }, match: { pathIncludes: '.segment.tmp', skip: 1 } }, // mid zero fill
    { fault: { kind: 'crash', op: 'datasync' }, match: { pathIncludes: '.segment.tmp' } }, // zero fill not synced
    { fault: { kind: 'crash', op: 'datasync' }, match: { pathIncludes: '.segment.tmp', skip: 1 } }, // header not synced
    { fault: { kind: 'crash', op: 'rename' }, match: { pathIncludes: '.segment.tmp' } },
    { fault: { kind: 'crash', op: 'syncDir' }, match: {} }, // renamed, directory not synced
    { fault: { kind: 'crash', op: 'openWritable' }, match: { pathIncludes: '.wal' } }, // installed, not reopened
  ];
  for (const [i, { fault, match }] of crashPoints.entries()) {
    await withTempDir(async (dir) => {
      const fs = new FaultyFileSystem(new NodeFileSystem());
      const opts = { identity: TEST_IDENTITY, segmentBytesMax: 2 * 1024 * 1024 }; // two chunks of zero fill
      const { wal } = await Wal.open(dir, fs, opts);
      fs.schedule(fault, match);
      let acked = 0;
      try {
        for (let index = 1; index <= 600; index++) {
          await wal.save(hs(1, index - 1), [makeEntry(index, 1, 4000)], true);
          acked = index;
        }
      } catch (error) {
        assert.ok(isStorageError(error, StorageErrorCode.WalFailed) && error.cause instanceof SimulatedCrashError, `point ${i}: ${String(error)}`);
      }
      assert.ok(fs.isCrashed, `point ${i}: the crash point was reached`);
      assert.ok(acked > 100 && acked < 600, `point ${i}: crashed at the first rollover, after ${acked} entries`);
      await wal.close().catch(() => {});
      await fs.restart();
      // The simulated crash undoes a temp file's creation (its directory entry was never synced);
      // had an earlier directory sync made it durable, a half-prepared segment would remain.
      const nextSeq = (await segmentFiles(dir)).length + 1;
      await fsp.writeFile(path.join(dir, `${hex16(nextSeq)}.segment${TEMP_SUFFIX}`), new Uint8Array(70_000));
      const tempsLeft = (await fsp.readdir(dir)).filter((n) => n.endsWith('.tmp')).length;
      const unlinksBefore = fs.stats.unlinks;
      const { wal: reopened, recovery } = await Wal.open(dir, fs, opts);
      assert.equal(recovery.tornTail, undefined, `point ${i}`);
      assert.equal(recovery.entries.length, acked, `point ${i}: every acknowledged entry survives`);
      // Counted, not listed: the reopened WAL may at once start preparing the next segment under
      // the same temp name (its current segment is past half full).
      assert.equal(fs.stats.unlinks - unlinksBefore, tempsLeft, `point ${i}: every temp file left by the crash is removed`);
      await reopened.save(hs(2, acked), [makeEntry(acked + 1, 2, 4000)], true);
      await reopened.close();
      assert.equal((await reopen(dir, opts, fs)).entries.length, acked + 1, `point ${i}`);
    });
  }
});

test('wal preallocation: group commit stays one fdatasync per batch; zero fills are synced off the hot path', async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFileSystem(new NodeFileSystem());
    const opts = { identity: TEST_IDENTITY, segmentBytesMax: 16 * 1024 };
    const { wal } = await Wal.open(dir, fs, opts);
    const before = { ...fs.stats };
    const batches = 300;
    for (let i = 1; i <= batches; i++) await wal.save(hs(1, i - 1), [makeEntry(i, 1, 200)], true);
    const rollovers = wal.segmentNames.length - 1;
    await wal.close(); // waits for a zero fill in flight, so the counts below are final
    assert.ok(rollovers >= 3, `${rollovers} rollovers`);
    const tempSyncs = fs.stats.tempDatasyncs - before.tempDatasyncs;
    const segmentSyncs = fs.stats.datasyncs - before.datasyncs - tempSyncs;
    assert.equal(segmentSyncs, batches + rollovers, 'one fdatasync per batch, plus one sealing each full segment');
    // Each new segment: one fdatasync of its zero fill (in the background) and one of its header;
    // the segment after the last may have been zero-filled too (prepared once the current one is half full).
    const zeroFills = tempSyncs - rollovers;
    assert.ok(zeroFills === rollovers || zeroFills === rollovers + 1, `${tempSyncs} temp-file fdatasyncs`);
    assert.equal(fs.stats.writes - before.writes, batches + 2 * rollovers + zeroFills,
      'one write per batch, plus a segment-end and a header per rollover and one zero-fill chunk per segment');
    assert.equal((await reopen(dir, opts, fs)).entries.length, batches);
  });
});

test('wal preallocation: version 1 segments are read and continued; new segments are version 2', async () => {
  await withTempDir(async (dir) => {
    const opts = { identity: TEST_IDENTITY, segmentBytesMax: 4096 };
    const v1: WalRecord[] = [
      { type: 'metadata', metadata: { formatVersion: 1, identity: TEST_IDENTITY, seq: 1, firstIndex: 1 } },
      { type: 'snapshot', marker: { index: 0, term: 0, installed: false } },
      { type: 'hard-state', hardState: hs(0, 0) },
      ...makeEntries(1, 5, 1, 50).map((entry): WalRecord => ({ type: 'entry', entry })),
      { type: 'hard-state', hardState: hs(1, 5) },
    ];
    const file = path.join(dir, segmentName(1, 1));
    const bytes = encodeRecords(v1);
    // A version 1 torn tail is cut off, as before.
    await fsp.writeFile(file, Buffer.concat([bytes, Buffer.from([0x40, 0, 0, 0, 1, 2, 3])]));
    const { wal, recovery } = await Wal.open(dir, new NodeFileSystem(), opts);
    assert.ok(recovery.tornTail);
    assert.equal((await fsp.stat(file)).size, bytes.byteLength, 'version 1: truncated at the tear');
    assert.equal(describeLog(recovery.entries), describeLog(makeEntries(1, 5, 1)));
    assert.deepEqual(recovery.hardState, hs(1, 5));
    for (let i = 6; i <= 120; i++) await wal.save(hs(1, i - 1), [makeEntry(i, 1, 50)], true);
    await wal.close();
    const files = await segmentFiles(dir);
    assert.ok(files.length >= 3);
    const versions = await Promise.all(files.map(async (f) => {
      const first = scanRecords(await fsp.readFile(f)).records[0]!.record;
      return first.type === 'metadata' ? first.metadata.formatVersion : -1;
    }));
    assert.deepEqual(versions, [1, ...files.slice(1).map(() => WAL_FORMAT_VERSION)]);
    assert.equal(WAL_FORMAT_VERSION, 2);
    assert.equal((await reopen(dir, opts)).entries.length, 120);
  });
});

test('wal preallocation: a segment of an unknown format version is refused', async () => {
  await withTempDir(async (dir) => {
    await fsp.writeFile(path.join(dir, segmentName(1, 1)), encodeRecords([
      { type: 'metadata', metadata: { formatVersion: 3, identity: TEST_IDENTITY, seq: 1, firstIndex: 1 } },
      { type: 'snapshot', marker: { index: 0, term: 0, installed: false } },
    ]));
    await assert.rejects(reopen(dir, { identity: TEST_IDENTITY }), (e: unknown) => isStorageError(e, StorageErrorCode.FormatVersionUnsupported));
  });
});

test('wal preallocation: without positional writes the WAL appends, and cuts a zero tail it finds', async () => {
  await withTempDir(async (dir) => {
    const opts = { identity: TEST_IDENTITY, segmentBytesMax: 4096 };
    const { wal } = await Wal.open(dir, new NodeFileSystem(), opts);
    await wal.save(hs(1, 0), makeEntries(1, 3, 1), true);
    await wal.close();
    const [file] = await segmentFiles(dir);
    assert.equal((await fsp.stat(file!)).size, 4096);
    const plain = new AppendOnlyFileSystem();
    const { wal: appending, recovery } = await Wal.open(dir, plain, opts);
    assert.equal(recovery.tornTail, undefined);
    assert.equal(recovery.entries.length, 3);
    assert.ok((await fsp.stat(file!)).size < 4096, 'the zero tail is cut so appends land after the records');
    for (let i = 4; i <= 40; i++) await appending.save(hs(1, i - 1), [makeEntry(i, 1, 50)], true);
    await appending.close();
    assert.equal((await reopen(dir, opts, plain)).entries.length, 40);
    assert.equal((await reopen(dir, opts)).entries.length, 40);
  });
});

test('wal preallocation: bytes at the far end of the last segment\'s zero tail are a torn tail, found quickly', async () => {
  await withTempDir(async (dir) => {
    const opts = { identity: TEST_IDENTITY, segmentBytesMax: 16 << 20 };
    const { wal } = await Wal.open(dir, new NodeFileSystem(), opts);
    await wal.save(hs(1, 0), makeEntries(1, 30, 1, 100), true);
    await wal.close();
    const [file] = await segmentFiles(dir);
    await fsp.appendFile(file!, Buffer.from([0x40, 0, 0, 0, 1, 2, 3]));
    const started = performance.now();
    const recovery = await reopen(dir, opts);
    assert.ok(performance.now() - started < 5000, 'no CRC check at every byte of the zero tail');
    assert.ok(recovery.tornTail);
    assert.equal(recovery.entries.length, 30);
    const bytes = await fsp.readFile(file!);
    assert.ok(bytes.subarray(recovery.tornTail.offsetBytes).every((b) => b === 0));
    assert.equal((await reopen(dir, opts)).tornTail, undefined);
  });
});
