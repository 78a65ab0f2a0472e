import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { TestCluster, sleep } from './cluster.js';

/**
 * `concord start` run without glibc's malloc tunables (as a service manager would run it) runs its
 * member in a child process that has them, forwards stop signals to it and exits with its code;
 * with CONCORD_MALLOC_TUNABLES=off it serves in its own process.
 */

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const mainJs = path.join(root, 'dist/src/cli/main.js');

function envWithout(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('CONCORD_') && key !== 'GLIBC_TUNABLES') env[key] = value;
  }
  return { ...env, ...extra };
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
    const text = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    if (text !== '') out.push(...text.split(/\s+/).map(Number));
  }
  return out;
}

async function healthy(port: number, deadlineMs: number): Promise<void> {
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadlineMs) throw new Error('member did not become healthy');
    await sleep(100);
  }
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

const onGlibc = process.platform === 'linux' &&
  (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime !== undefined;

describe('concord start and glibc malloc tunables', { concurrency: false }, () => {
  const clusters: TestCluster[] = [];
  after(async () => {
    for (const c of clusters) await c.destroy();
  });

  test('started without them, the member runs in a child with them; SIGTERM stops both, exit 0', { skip: !onGlibc && 'not glibc' }, async () => {
    const cluster = await TestCluster.create(1);
    clusters.push(cluster);
    const m = cluster.members[0]!;
    const parent = spawn(process.execPath, [mainJs, ...cluster.flagsFor(m)], { env: envWithout(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    parent.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
    const done = exited(parent);
    await healthy(m.clientPort, Date.now() + 20_000);
    const kids = childrenOf(parent.pid!);
    assert.equal(kids.length, 1, 'one member process under the launcher');
    const environ = fs.readFileSync(`/proc/${kids[0]}/environ`, 'utf8');
    assert.match(environ, /GLIBC_TUNABLES=glibc\.malloc\.trim_threshold=/);
    parent.kill('SIGTERM');
    const { code } = await done;
    assert.equal(code, 0, stderr);
    assert.match(stderr, /stopping member reason=SIGTERM/, 'the member heard the forwarded signal');
    assert.ok(!fs.existsSync(`/proc/${kids[0]}`) || fs.readFileSync(`/proc/${kids[0]}/stat`, 'utf8').includes(') Z'), 'the member is gone');
  });

  test('with CONCORD_MALLOC_TUNABLES=off it serves in its own process', async () => {
    const cluster = await TestCluster.create(1);
    clusters.push(cluster);
    const m = cluster.members[0]!;
    const member = spawn(process.execPath, [mainJs, ...cluster.flagsFor(m)], { env: envWithout({ CONCORD_MALLOC_TUNABLES: 'off' }), stdio: 'ignore' });
    const done = exited(member);
    await healthy(m.clientPort, Date.now() + 20_000);
    assert.deepEqual(childrenOf(member.pid!), []);
    member.kill('SIGTERM');
    assert.equal((await done).code, 0);
  });
});
