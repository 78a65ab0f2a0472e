import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Concord } from '../../src/client/index.js';
import { TestCluster } from './cluster.js';

/**
 * The ctl commands as a user runs them: the built CLI as a child process against a real
 * 3-member cluster, checking stdout, stderr and exit codes (0 ok, 1 failure, 2 usage).
 */

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const mainJs = path.join(root, 'dist/src/cli/main.js');
const RUN_TIMEOUT_MS = 20_000;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(args: readonly string[], stdin = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mainJs, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, CONCORD_ENDPOINTS: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`concord ${args.join(' ')} did not finish in ${RUN_TIMEOUT_MS} ms`)); }, RUN_TIMEOUT_MS);
    child.once('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    child.stdin.end(stdin);
  });
}

describe('concord ctl commands against a real cluster', () => {
  let cluster: TestCluster;
  let endpoints: string;
  // Global flags go right after the command name, so they stay before a `lock ... --` command.
  const ctl = (args: readonly string[], stdin?: string): Promise<Run> => run([args[0]!, `--endpoints=${endpoints}`, ...args.slice(1)], stdin);

  before(async () => {
    cluster = await TestCluster.create(3, { extraFlags: ['--heartbeat-interval=50', '--election-timeout=500'] });
    cluster.startAll();
    await cluster.waitForLeader(20_000);
    endpoints = cluster.members.map((m) => `127.0.0.1:${m.clientPort}`).join(',');
  });
  after(async () => {
    await cluster?.destroy();
  });

  test('put, get (readable, --prefix, --json, --consistency, --rev) and del', async () => {
    const put1 = await ctl(['put', 'cfg/a', 'one']);
    assert.deepEqual([put1.code, put1.stdout, put1.stderr], [0, 'OK\n', '']);
    const put2 = await ctl(['put', 'cfg/b', 'two', '--json']);
    assert.equal(put2.code, 0);
    const rev2 = (JSON.parse(put2.stdout) as { revision: number }).revision;
    assert.ok(rev2 > 0);
    await ctl(['put', 'cfg/a', 'uno']);

    assert.equal((await ctl(['get', 'cfg/a'])).stdout, 'cfg/a\nuno\n');
    assert.equal((await ctl(['get', 'cfg/', '--prefix', '--consistency', 's'])).stdout, 'cfg/a\nuno\ncfg/b\ntwo\n');
    assert.equal((await ctl(['get', 'cfg/a', '--rev', String(rev2)])).stdout, 'cfg/a\none\n');
    const json = await ctl(['get', 'cfg/a', '--json', '--consistency', 'log']);
    const parsed = JSON.parse(json.stdout) as { count: number; kvs: Array<{ key: string; value: string; version: number }> };
    assert.equal(parsed.count, 1);
    assert.deepEqual([parsed.kvs[0]?.key, parsed.kvs[0]?.value, parsed.kvs[0]?.version], ['cfg/a', 'uno', 2]);
    assert.equal((await ctl(['get', 'cfg/missing'])).stdout, '');

    const del = await ctl(['del', 'cfg/', '--prefix']);
    assert.deepEqual([del.code, del.stdout], [0, '2\n']);
    assert.equal((await ctl(['get', 'cfg/', '--prefix'])).stdout, '');
  });

  test('txn reads etcdctl syntax from stdin and runs the right branch', async () => {
    await ctl(['put', 'tx/k', 'v1']);
    const script = 'value("tx/k") = "v1"\nmod("tx/k") > "0"\n\nput tx/k "v 2"\nget tx/k\n\nget tx/k\n';
    const first = await ctl(['txn'], script);
    assert.deepEqual([first.code, first.stdout], [0, 'SUCCESS\n\nOK\n\ntx/k\nv 2\n']);
    const second = await ctl(['txn', '--json'], script);
    const r = JSON.parse(second.stdout) as { succeeded: boolean; results: Array<{ type: string; kvs: Array<{ value: string }> }> };
    assert.equal(r.succeeded, false);
    assert.deepEqual(r.results.map((x) => [x.type, x.kvs[0]?.value]), [['get', 'v 2']]);
    const bad = await ctl(['txn'], 'valu("tx/k") = "v1"\n\n\n');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^concord txn: bad compare/);
  });

  test('lock prints key and token, runs a command while holding it, tokens increase', async () => {
    const first = await ctl(['lock', 'jobs', '--json', '--', process.execPath, '-e', 'process.stdout.write(process.env.CONCORD_LOCK_TOKEN)']);
    assert.equal(first.code, 0, first.stderr);
    const [line, childOut] = [first.stdout.split('\n')[0]!, first.stdout.split('\n')[1]!];
    const held = JSON.parse(line) as { key: string; token: number };
    assert.match(held.key, /^jobs\/[0-9a-f]+$/);
    assert.equal(childOut, String(held.token));
    const second = await ctl(['lock', 'jobs', '--', process.execPath, '-e', 'process.exit(3)']);
    assert.equal(second.code, 1); // the command failed
    const token2 = Number(/token: (\d+)/.exec(second.stdout)?.[1]);
    assert.ok(token2 > held.token, `${token2} > ${held.token}`);
    // Released after the command: nothing left under the lock's prefix.
    assert.equal((await ctl(['get', 'jobs/', '--prefix'])).stdout, '');
  });

  test('seq hands out consecutive numbers; claim reports the winner', async () => {
    assert.deepEqual(await ctl(['seq', 'orders']), { code: 0, stdout: '1\n', stderr: '' });
    assert.equal((await ctl(['seq', 'orders', '--count', '5'])).stdout, '2..6\n');
    const json = JSON.parse((await ctl(['seq', 'orders', '--json'])).stdout) as { first: string; count: number };
    assert.deepEqual([json.first, json.count], ['7', 1]);

    assert.deepEqual(await ctl(['claim', 'usernames', 'alice', 'user-1']), { code: 0, stdout: 'claimed usernames/alice for user-1\n', stderr: '' });
    assert.equal((await ctl(['claim', 'usernames', 'alice', 'user-1'])).code, 0); // same owner: idempotent
    const taken = await ctl(['claim', 'usernames', 'alice', 'user-2', '--json']);
    assert.equal(taken.code, 1);
    assert.deepEqual(JSON.parse(taken.stdout), { claimed: false, namespace: 'usernames', value: 'alice', owner: 'user-2', takenBy: 'user-1', revision: (JSON.parse(taken.stdout) as { revision: number }).revision });
  });

  test('members and status list every member; status has one leader', async () => {
    const members = await ctl(['members', '--json']);
    assert.equal(members.code, 0);
    const list = (JSON.parse(members.stdout) as { members: Array<{ name: string }> }).members.map((m) => m.name).sort();
    assert.deepEqual(list, cluster.members.map((m) => m.name).sort());
    assert.match((await ctl(['members'])).stdout, /^ID\s+NAME\s+PEER URLS/);

    const status = await ctl(['status']);
    assert.equal(status.code, 0, status.stderr);
    const lines = status.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^ENDPOINT\s+ID\s+VERSION\s+RAFT TERM\s+REVISION\s+IS LEADER$/);
    assert.equal(lines.length, 4);
    assert.equal(lines.filter((l) => / true$/.test(l)).length, 1);
    const rows = (JSON.parse((await ctl(['status', '--json'])).stdout) as { endpoints: Array<{ reachable: boolean; isLeader: boolean }> }).endpoints;
    assert.deepEqual(rows.map((r) => r.reachable), [true, true, true]);
    assert.equal(rows.filter((r) => r.isLeader).length, 1);
  });

  test('lease grant, ttl and revoke', async () => {
    const grant = JSON.parse((await ctl(['lease', 'grant', '30', '--json'])).stdout) as { id: string; ttl: number };
    assert.equal(grant.ttl, 30);
    assert.match((await ctl(['lease', 'ttl', grant.id])).stdout, new RegExp(`^lease ${grant.id} granted with TTL\\(30s\\)`));
    assert.equal((await ctl(['lease', 'revoke', grant.id])).code, 0);
    const gone = await ctl(['lease', 'ttl', grant.id]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /CONCORD_CLIENT_LEASE_NOT_FOUND/);
  });

  test('watch --rev below a compaction fails with the compact revision; from the compact revision it replays', async () => {
    const client = new Concord({ endpoints: endpoints.split(',') });
    try {
      const first = await client.put('compacted/k', 'v1');
      await client.put('compacted/k', 'v2');
      const last = await client.put('compacted/k', 'v3');
      await client.compact(last.revision);
      const gone = await ctl(['watch', 'compacted/k', '--rev', String(first.revision)]);
      assert.deepEqual([gone.code, gone.stdout], [1, '']);
      assert.equal(gone.stderr, `concord watch: CONCORD_CLIENT_WATCH_COMPACTED: watch needs revision ${first.revision} but the history was compacted up to ${last.revision}\n`);
      const replay = await ctl(['watch', 'compacted/k', '--rev', String(last.revision), '--max-events', '1', '--json']);
      assert.equal(replay.code, 0, replay.stderr);
      const ev = JSON.parse(replay.stdout) as { type: string; revision: number; kv: { value: string } };
      assert.deepEqual([ev.type, ev.revision, ev.kv.value], ['put', last.revision, 'v3']);
    } finally {
      client.close();
    }
  });

  test('bad usage exits 2 with one line; an unreachable cluster exits 1', async () => {
    const usage = await ctl(['get']);
    assert.equal(usage.code, 2);
    assert.equal(usage.stderr.trimEnd().split('\n').length, 1);
    assert.match(usage.stderr, /^concord get: usage: concord get KEY/);
    assert.equal((await ctl(['get', 'k', '--consistency', 'strong'])).code, 2);
    assert.equal((await ctl(['seq', 'x', '--count', 'many'])).code, 2);
    const down = await run(['get', 'k', '--endpoints=127.0.0.1:1', '--command-timeout=1s']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /^concord get: CONCORD_CLIENT_UNAVAILABLE: /);
  });
});
