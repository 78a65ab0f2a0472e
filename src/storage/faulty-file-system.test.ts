import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { FaultyFileSystem, InjectedFaultError, SimulatedCrashError } from './faulty-file-system.js';
import { NodeFileSystem } from './file-system.js';
import { withTempDir } from './test-support.js';

const bytes = (n: number, fill = 1): Uint8Array => new Uint8Array(n).fill(fill);

test('faulty fs: a crash drops unsynced bytes and unsynced file creations', async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFileSystem(new NodeFileSystem());
    const kept = path.join(dir, 'kept');
    const f = await fs.openAppend(kept);
    await f.append([bytes(100)]);
    await f.datasync();
    await fs.syncDir(dir);
    await f.append([bytes(50, 2)]);
    const lost = await fs.openAppend(path.join(dir, 'lost'));
    await lost.append([bytes(10)]);
    await lost.datasync(); // data synced, but the directory entry never was
    fs.crash();
    await assert.rejects(f.append([bytes(1)]), SimulatedCrashError);
    await assert.rejects(fs.list(dir), SimulatedCrashError);
    await fs.restart();
    assert.equal((await fsp.stat(kept)).size, 100);
    assert.equal(await fs.exists(path.join(dir, 'lost')), false);
    await assert.rejects(f.datasync(), SimulatedCrashError, 'handles from before the crash stay dead');
  });
});

test('faulty fs: scripted fsync error, torn write, bit flip and disk full', async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFileSystem(new NodeFileSystem());
    const file = path.join(dir, 'f');
    const f = await fs.openAppend(file);
    fs.schedule({ kind: 'fsync-error' });
    await assert.rejects(f.datasync(), (e: unknown) => e instanceof InjectedFaultError && e.code === 'EIO');
    fs.schedule({ kind: 'torn-write', bytesKept: 3, then: 'error' });
    await assert.rejects(f.append([bytes(10)]), /torn write/);
    assert.equal((await fsp.stat(file)).size, 3);
    fs.schedule({ kind: 'bit-flip', bitOffset: 9 });
    await f.append([bytes(4, 0)]);
    assert.deepEqual([...(await fsp.readFile(file)).subarray(3)], [0, 2, 0, 0]);
    fs.setBytesFree(5);
    await assert.rejects(f.append([bytes(8)]), (e: unknown) => e instanceof InjectedFaultError && e.code === 'ENOSPC');
    assert.equal((await fsp.stat(file)).size, 12);
    fs.schedule({ kind: 'torn-write', bytesKept: 0, then: 'crash' });
    fs.setBytesFree(undefined);
    await assert.rejects(f.append([bytes(8)]), SimulatedCrashError);
    assert.equal(fs.isCrashed, true);
    await f.close();
  });
});

test('faulty fs: a crash gives positionally overwritten bytes their synced content back', async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFileSystem(new NodeFileSystem());
    const file = path.join(dir, 'w');
    const f = await fs.openWritable(file);
    await f.write(bytes(8, 0), 0);
    await f.datasync();
    await fs.syncDir(dir);
    await f.write(bytes(3, 7), 2);
    await f.datasync(); // durable: [0 0 7 7 7 0 0 0]
    await f.write(bytes(2, 9), 3);
    await f.write(bytes(4, 5), 6); // overwrites two bytes and extends the file by two
    assert.deepEqual([...(await fsp.readFile(file))], [0, 0, 7, 9, 9, 0, 5, 5, 5, 5]);
    assert.deepEqual([...(await f.read(2, 3))], [7, 9, 9]);
    fs.crash();
    await assert.rejects(f.write(bytes(1), 0), SimulatedCrashError);
    await fs.restart();
    assert.deepEqual([...(await fsp.readFile(file))], [0, 0, 7, 7, 7, 0, 0, 0]);
    assert.equal(fs.stats.writes, 4);
    assert.equal(fs.stats.datasyncs, 2);
    await f.close();
  });
});
