import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

/**
 * End to end: a real member and etcdctl 3.4 with an `http://` endpoint, whose maintenance
 * connections send `:authority: http://127.0.0.1:PORT` (see authority-fix.ts). Skipped only when
 * etcdctl is not installed (`.ci/run` installs etcd-client).
 */
const etcdctl = '/usr/bin/etcdctl';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const main = path.join(root, 'dist/src/cli/main.js');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(etcdctl, args, { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 15_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

test('etcdctl endpoint status / hashkv / snapshot save with an http:// endpoint', { skip: fs.existsSync(etcdctl) ? false : `${etcdctl} not installed (apt-get install etcd-client)`, timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concord-etcdctl-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const member = spawn(
    process.execPath,
    [main, 'start', '--name', 'm1', '--data-dir', path.join(dir, 'm1'), '--listen-client-urls', client, '--advertise-client-urls', client,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `m1=${peer}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let memberErr = '';
  member.stderr.on('data', (c: Buffer) => (memberErr = (memberErr + c.toString()).slice(-4000)));
  try {
    // Ready: the plain endpoint (host:port authority) answers.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await run([`--endpoints=127.0.0.1:${clientPort}`, '--command-timeout=2s', 'endpoint', 'status']);
      if (r.code === 0) break;
      assert.ok(Date.now() < deadline && member.exitCode === null, `member not ready: ${r.stderr}\n${memberErr}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    const status = await run([`--endpoints=${client}`, 'endpoint', 'status', '-w', 'json']);
    assert.equal(status.code, 0, status.stderr);
    const parsed = JSON.parse(status.stdout) as Array<{ Endpoint: string; Status: { version: string } }>;
    assert.equal(parsed[0]?.Endpoint, client);
    assert.ok(parsed[0]?.Status.version);
    const hash = await run([`--endpoints=${client}`, 'endpoint', 'hashkv']);
    assert.equal(hash.code, 0, hash.stderr);
    const snapshot = await run([`--endpoints=${client}`, 'snapshot', 'save', path.join(dir, 'snap.db')]);
    assert.equal(snapshot.code, 0, snapshot.stderr);
    assert.ok(fs.statSync(path.join(dir, 'snap.db')).size > 0);
  } finally {
    member.kill('SIGKILL');
    await new Promise((res) => (member.exitCode !== null ? res(undefined) : member.once('exit', res)));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
