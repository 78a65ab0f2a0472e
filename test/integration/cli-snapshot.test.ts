import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Concord } from '../../src/client/index.js';
import { freePorts, sleep, TestCluster } from './cluster.js';

/**
 * `concord snapshot save` from a real cluster, `snapshot status` of the file, and the file
 * restored with `concord snapshot restore` into a new one-member cluster that serves the data.
 */

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const mainJs = path.join(root, 'dist/src/cli/main.js');
const RUN_TIMEOUT_MS = 30_000;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mainJs, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CONCORD_ENDPOINTS: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`concord ${args.join(' ')} did not finish in ${RUN_TIMEOUT_MS} ms`)); }, RUN_TIMEOUT_MS);
    child.once('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

interface SavedJson {
  file: string;
  endpoint: string;
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
}

describe('concord snapshot save / status / restore', { concurrency: false }, () => {
  let cluster: TestCluster;
  let client: Concord;
  let endpoints: string;
  let restored: ChildProcess | undefined;
  before(async () => {
    cluster = await TestCluster.create(3, { extraFlags: ['--heartbeat-interval=50', '--election-timeout=500'] });
    cluster.startAll();
    await cluster.waitForLeader(20_000);
    endpoints = cluster.members.map((m) => `127.0.0.1:${m.clientPort}`).join(',');
    client = new Concord({ endpoints: endpoints.split(',') });
  });
  after(async () => {
    client?.close();
    restored?.kill('SIGKILL');
    await cluster?.destroy();
  });

  test('save from a cluster, status of the file, restore into a new 1-member cluster that serves the data', async () => {
    for (let i = 0; i < 50; i++) await client.put(`snap/k${String(i).padStart(2, '0')}`, `value ${i}`);
    await client.put('snap/big', 'x'.repeat(200_000)); // several 64 KiB chunks
    await client.delete('snap/k49');
    const written = await client.put('snap/last', 'the last write');
    const file = path.join(cluster.dir, 'backups', 'concord.db');
    await fs.mkdir(path.dirname(file));

    // Readable output, then --json (to the same file: the second save replaces the first).
    const first = await run(['snapshot', 'save', file, `--endpoints=${endpoints}`]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`^Snapshot saved at ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} from http://127\\.0\\.0\\.1:\\d+: revision \\d+, 52 keys, [\\d.]+ kB, hash [0-9a-f]{8}\\n$`));
    const saved = await run(['snapshot', 'save', file, `--endpoints=${endpoints}`, '--json']);
    assert.equal(saved.code, 0, saved.stderr);
    const info = JSON.parse(saved.stdout) as SavedJson;
    assert.equal(info.file, file);
    assert.ok(info.revision >= written.revision, `the snapshot (revision ${info.revision}) includes the last acknowledged write (${written.revision})`);
    assert.equal(info.totalKey, 52);
    const stat = await fs.stat(file);
    assert.equal(info.totalSize, stat.size);
    assert.equal(stat.size % 512, 32, 'sector-aligned with a SHA-256 trailer, as etcdctl expects');
    assert.deepEqual((await fs.readdir(path.dirname(file))).sort(), ['concord.db'], 'no .part file left behind');

    // The file's hash is the serving member's HashKV at the snapshot's revision (what `etcdctl endpoint hashkv` prints).
    const member = cluster.members.find((m) => info.endpoint.endsWith(`:${m.clientPort}`))!;
    const hashed = await (await fetch(`http://127.0.0.1:${member.clientPort}/v3/maintenance/hashkv`, {
      method: 'POST', body: JSON.stringify({ revision: String(info.revision) }),
    })).json() as { hash?: number | string };
    assert.equal(Number(hashed.hash ?? 0), info.hash);

    // status: etcdctl's table and JSON.
    const status = await run(['snapshot', 'status', file]);
    assert.equal(status.code, 0, status.stderr);
    const [header, row, ...rest] = status.stdout.trimEnd().split('\n');
    assert.match(header!, /^HASH\s+REVISION\s+TOTAL KEYS\s+TOTAL SIZE$/);
    assert.deepEqual(row!.split(/\s{2,}/), [info.hash.toString(16).padStart(8, '0'), String(info.revision), '52', `${(info.totalSize / 1000).toFixed(1)} kB`]);
    assert.equal(rest.length, 0);
    const statusJson = await run(['snapshot', 'status', file, '--json']);
    assert.deepEqual(JSON.parse(statusJson.stdout), { hash: info.hash, revision: info.revision, totalKey: 52, totalSize: info.totalSize });

    // restore into a new one-member cluster and read the data back.
    const [peerPort, clientPort] = await freePorts(2);
    const flags = [`--name=restored`, `--data-dir=${path.join(cluster.dir, 'restored')}`,
      `--initial-cluster=restored=http://127.0.0.1:${peerPort}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`, `--listen-client-urls=http://127.0.0.1:${clientPort}`,
      `--advertise-client-urls=http://127.0.0.1:${clientPort}`, '--initial-cluster-token=restored-cluster'];
    const restore = await run(['snapshot', 'restore', file, ...flags]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.match(restore.stdout, new RegExp(`revision ${info.revision}, 52 keys`));
    restored = spawn(process.execPath, [mainJs, 'start', ...flags], { stdio: 'ignore' });
    const fresh = new Concord({ endpoints: [`127.0.0.1:${clientPort}`] });
    try {
      let last: string | undefined;
      for (let i = 0; i < 200 && last === undefined; i++) {
        last = await fresh.get('snap/last').then((kv) => kv?.valueText, () => undefined);
        if (last === undefined) await sleep(100);
      }
      assert.equal(last, 'the last write');
      const all = await fresh.getRange('snap/');
      assert.equal(all.kvs.length, 51);
      assert.equal(all.kvs.find((kv) => kv.keyText === 'snap/big')?.valueText.length, 200_000);
      assert.equal(all.kvs.find((kv) => kv.keyText === 'snap/k07')?.valueText, 'value 7');
      assert.equal(all.kvs.some((kv) => kv.keyText === 'snap/k49'), false, 'the deleted key stays deleted');
      assert.ok(all.header.revision >= info.revision, 'the restored cluster continues from the snapshot\'s revision');
    } finally {
      fresh.close();
    }
  });

  test('clear errors and exit codes', async () => {
    const missing = await run(['snapshot', 'status', path.join(cluster.dir, 'nope.db')]);
    assert.deepEqual([missing.code, missing.stdout], [1, '']);
    assert.match(missing.stderr, /^concord snapshot status: cannot read .*nope\.db: no such file\n$/);

    const damagedFile = path.join(cluster.dir, 'damaged.db');
    const good = path.join(cluster.dir, 'good.db');
    assert.equal((await run(['snapshot', 'save', good, `--endpoints=${endpoints}`])).code, 0);
    const bytes = await fs.readFile(good);
    bytes[100] = bytes[100]! ^ 0xff;
    await fs.writeFile(damagedFile, bytes);
    const damaged = await run(['snapshot', 'status', damagedFile]);
    assert.equal(damaged.code, 1);
    assert.match(damaged.stderr, /SHA-256 mismatch/);

    const noDir = await run(['snapshot', 'save', path.join(cluster.dir, 'no', 'such', 'dir.db'), `--endpoints=${endpoints}`]);
    assert.equal(noDir.code, 1);
    assert.match(noDir.stderr, /^concord snapshot save: cannot create .*dir\.db\.part/);

    const unreachable = await run(['snapshot', 'save', path.join(cluster.dir, 'x.db'), '--endpoints=127.0.0.1:1', '--command-timeout=2s']);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /^concord snapshot save: CONCORD_CLIENT_/);
    await assert.rejects(fs.stat(path.join(cluster.dir, 'x.db.part')), 'a failed save leaves no .part file');

    const usage = await run(['snapshot', 'save']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /usage: concord snapshot save FILE/);
    const unknown = await run(['snapshot', 'frobnicate']);
    assert.equal(unknown.code, 2);
  });
});
