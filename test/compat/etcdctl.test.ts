import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestCluster, freePorts, sleep } from '../integration/cluster.js';

/**
 * The etcdctl compatibility suite (`npm run test:compat`): the real etcdctl 3.4 (Debian's
 * etcd-client) against a 3-member Concord cluster, checking its output as a user sees it.
 */
const ETCDCTL = process.env.ETCDCTL ?? '/usr/bin/etcdctl';
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');

function etcdctl(endpoints: string, args: string[], input?: string, timeoutMs = 60_000): { code: number; out: string; err: string } {
  const r = spawnSync(ETCDCTL, [`--endpoints=${endpoints}`, '--dial-timeout=5s', '--command-timeout=15s', ...args], {
    env: { ...process.env, ETCDCTL_API: '3' }, input, encoding: 'utf8', timeout: timeoutMs,
  });
  return { code: r.status ?? -1, out: r.stdout ?? '', err: r.stderr ?? '' };
}

describe('etcdctl 3.4 against a 3-member Concord cluster', { concurrency: false }, () => {
  let cluster: TestCluster;
  let all: string;
  let one: string;
  const run = (args: string[], input?: string): string => {
    const r = etcdctl(one, args, input);
    assert.equal(r.code, 0, `etcdctl ${args.join(' ')} failed:\n${r.err}\n${r.out}`);
    return r.out;
  };

  before(async () => {
    assert.ok(fs.existsSync(ETCDCTL), `${ETCDCTL} is missing: apt-get install -y etcd-client`);
    cluster = await TestCluster.create(3, { extraFlags: ['--heartbeat-interval=50', '--election-timeout=500'] });
    cluster.startAll();
    await cluster.waitForLeader(20_000);
    all = cluster.members.map((m) => `http://127.0.0.1:${m.clientPort}`).join(',');
    one = `http://127.0.0.1:${cluster.members[0]!.clientPort}`;
  });
  after(async () => {
    await cluster?.destroy();
  });

  test('put and get: prefix, limit, sort, rev, keys-only, count-only, print-value-only, json', () => {
    assert.equal(run(['put', 'fruit/apple', 'red']).trim(), 'OK');
    run(['put', 'fruit/banana', 'yellow']);
    run(['put', 'fruit/cherry', 'dark red']);
    run(['put', 'fruit/apple', 'green']);
    assert.equal(run(['get', 'fruit/apple']), 'fruit/apple\ngreen\n');
    assert.equal(run(['get', 'fruit/', '--prefix', '--keys-only']).replace(/\n+/g, ' ').trim(), 'fruit/apple fruit/banana fruit/cherry');
    assert.equal(run(['get', 'fruit/', '--prefix', '--limit=2', '--keys-only']).replace(/\n+/g, ' ').trim(), 'fruit/apple fruit/banana');
    assert.equal(run(['get', 'fruit/', '--prefix', '--sort-by=KEY', '--order=DESCEND', '--keys-only']).replace(/\n+/g, ' ').trim(),
      'fruit/cherry fruit/banana fruit/apple');
    // etcdctl 3.4 has no --count-only flag; its JSON output carries the count of the range.
    const counted = JSON.parse(run(['get', 'fruit/', '--prefix', '--keys-only', '--limit=1', '-w', 'json'])) as { count: number; more: boolean };
    assert.equal(counted.count, 3);
    assert.equal(counted.more, true);
    assert.equal(run(['get', 'fruit/cherry', '--consistency=s', '--print-value-only']), 'dark red\n');
    assert.equal(run(['get', 'fruit/banana', '--print-value-only']), 'yellow\n');
    const json = JSON.parse(run(['get', 'fruit/apple', '-w', 'json'])) as {
      header: { revision: number }; kvs: { key: string; value: string; version: number; create_revision: number; mod_revision: number }[];
    };
    const kv = json.kvs[0]!;
    assert.equal(Buffer.from(kv.key, 'base64').toString(), 'fruit/apple');
    assert.equal(Buffer.from(kv.value, 'base64').toString(), 'green');
    assert.equal(kv.version, 2);
    assert.ok(kv.mod_revision > kv.create_revision);
    // A historical read at the apple's first revision sees "red".
    assert.equal(run(['get', 'fruit/apple', `--rev=${kv.create_revision}`, '--print-value-only']), 'red\n');
  });

  test('del with prefix and prev-kv', () => {
    run(['put', 'tmp/a', '1']);
    run(['put', 'tmp/b', '2']);
    assert.equal(run(['del', 'tmp/a', '--prev-kv']), '1\ntmp/a\n1\n');
    assert.equal(run(['del', 'tmp/', '--prefix']).trim(), '1');
    assert.equal(run(['get', 'tmp/', '--prefix']), '');
  });

  test('txn from interactive input', () => {
    run(['put', 'txn/flag', 'on']);
    const out = run(['txn'], 'value("txn/flag") = "on"\n\nput txn/result yes\n\nput txn/result no\n\n');
    assert.match(out, /^SUCCESS\n\nOK\n/);
    assert.equal(run(['get', 'txn/result', '--print-value-only']), 'yes\n');
    const failed = run(['txn'], 'value("txn/flag") = "off"\n\nput txn/result yes\n\nput txn/result no\n\n');
    assert.match(failed, /^FAILURE\n\nOK\n/);
    assert.equal(run(['get', 'txn/result', '--print-value-only']), 'no\n');
  });

  test('watch with prefix, rev and prev-kv sees every change in order', async () => {
    const start = JSON.parse(run(['get', 'w', '-w', 'json'])) as { header: { revision: number } };
    run(['put', 'w/x', '1']);
    const watcher = spawn(ETCDCTL, [`--endpoints=${all}`, 'watch', 'w/', '--prefix', '--prev-kv', `--rev=${start.header.revision + 1}`],
      { env: { ...process.env, ETCDCTL_API: '3' } });
    let out = '';
    watcher.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    try {
      await sleep(500);
      run(['put', 'w/x', '2']);
      run(['del', 'w/x']);
      for (let i = 0; i < 50 && out.split('\n').length < 13; i++) await sleep(100);
      assert.equal(out, 'PUT\nw/x\n1\nPUT\nw/x\n1\nw/x\n2\nDELETE\nw/x\n2\nw/x\n\n');
    } finally {
      watcher.kill();
    }
  });

  test('compaction: old revisions are gone, new ones served', () => {
    const before = JSON.parse(run(['put', 'c/k', 'v1', '-w', 'json'])) as { header: { revision: number } };
    run(['put', 'c/k', 'v2']);
    assert.match(run(['compaction', String(before.header.revision + 1)]), /compacted revision/);
    const r = etcdctl(one, ['get', 'c/k', `--rev=${before.header.revision}`]);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /required revision has been compacted/);
    assert.equal(run(['get', 'c/k', '--print-value-only']), 'v2\n');
  });

  test('leases: grant, attach, timetolive, list, keep-alive, revoke', async () => {
    const granted = run(['lease', 'grant', '60']);
    const id = /lease ([0-9a-f]+) granted with TTL\(60s\)/.exec(granted)?.[1];
    assert.ok(id, granted);
    run(['put', 'leased/k', 'v', `--lease=${id}`]);
    assert.match(run(['lease', 'timetolive', id, '--keys']), new RegExp(`lease ${id} granted with TTL\\(60s\\), remaining\\(\\d+s\\), attached keys\\(\\[leased/k\\]\\)`));
    assert.match(run(['lease', 'list']), new RegExp(id));
    assert.match(run(['lease', 'keep-alive', '--once', id]), new RegExp(`lease ${id} keepalived with TTL\\(60\\)`));
    assert.match(run(['lease', 'revoke', id]), new RegExp(`lease ${id} revoked`));
    assert.equal(run(['get', 'leased/k']), '');
    // A short lease expires by itself and takes its key along.
    const short = /lease ([0-9a-f]+) granted/.exec(run(['lease', 'grant', '2']))![1]!;
    run(['put', 'leased/short', 'v', `--lease=${short}`]);
    let gone = false;
    for (let i = 0; i < 80 && !gone; i++) {
      await sleep(100);
      gone = run(['get', 'leased/short']) === '';
    }
    assert.ok(gone, 'the key of an expired lease was deleted');
  });

  test('lock: two contenders, the second waits until the first releases', async () => {
    const first = spawn(ETCDCTL, [`--endpoints=${all}`, 'lock', 'mylock'], { env: { ...process.env, ETCDCTL_API: '3' } });
    let firstOut = '';
    first.stdout.on('data', (d: Buffer) => { firstOut += d.toString(); });
    for (let i = 0; i < 50 && !firstOut.includes('mylock/'); i++) await sleep(100);
    assert.match(firstOut, /^mylock\/[0-9a-f]+/);
    const second = spawnSync(ETCDCTL, [`--endpoints=${all}`, 'lock', 'mylock', '--', 'echo', 'second got it'],
      { env: { ...process.env, ETCDCTL_API: '3' }, encoding: 'utf8', timeout: 2_000 });
    assert.notEqual(second.stdout?.includes('second got it'), true, 'the second must wait while the first holds the lock');
    first.kill('SIGINT');
    await new Promise((resolve) => first.once('exit', resolve));
    const third = spawnSync(ETCDCTL, [`--endpoints=${all}`, 'lock', 'mylock', '--', 'echo', 'third got it'],
      { env: { ...process.env, ETCDCTL_API: '3' }, encoding: 'utf8', timeout: 20_000 });
    assert.match(third.stdout ?? '', /third got it/);
  });

  test('elect: a campaigner leads, an observer sees it, the next takes over', async () => {
    const leader = spawn(ETCDCTL, [`--endpoints=${all}`, 'elect', 'myelection', 'alice'], { env: { ...process.env, ETCDCTL_API: '3' } });
    let leaderOut = '';
    leader.stdout.on('data', (d: Buffer) => { leaderOut += d.toString(); });
    for (let i = 0; i < 50 && !leaderOut.includes('alice'); i++) await sleep(100);
    assert.match(leaderOut, /^myelection\/[0-9a-f]+\nalice\n/);
    const observed = spawnSync(ETCDCTL, [`--endpoints=${all}`, 'elect', '-l', 'myelection'],
      { env: { ...process.env, ETCDCTL_API: '3' }, encoding: 'utf8', timeout: 2_000 });
    assert.match(observed.stdout ?? '', /alice/);
    const bob = spawn(ETCDCTL, [`--endpoints=${all}`, 'elect', 'myelection', 'bob'], { env: { ...process.env, ETCDCTL_API: '3' } });
    let bobOut = '';
    bob.stdout.on('data', (d: Buffer) => { bobOut += d.toString(); });
    await sleep(1000);
    assert.equal(bobOut, '', 'bob waits while alice leads');
    leader.kill('SIGINT');
    // etcdctl resigns on SIGINT; allow for a loaded machine.
    for (let i = 0; i < 300 && !bobOut.includes('bob'); i++) await sleep(100);
    bob.kill('SIGINT');
    assert.match(bobOut, /bob/);
  });

  test('member list, endpoint status, health and hashkv, alarm list', () => {
    const members = run(['member', 'list']).trim().split('\n');
    assert.equal(members.length, 3);
    for (const m of cluster.members) assert.ok(members.some((line) => line.includes(`, ${m.name}, http://127.0.0.1:${m.peerPort}`)), members.join('\n'));
    const status = JSON.parse(etcdctl(all, ['endpoint', 'status', '-w', 'json']).out) as { Status: { leader: number; raft_term: number } }[];
    assert.equal(status.length, 3);
    assert.equal(new Set(status.map((s) => s.Status.leader)).size, 1, 'all agree on the leader');
    const health = etcdctl(all, ['endpoint', 'health']);
    assert.equal(health.code, 0, health.err);
    assert.equal((health.out + health.err).match(/is healthy/g)?.length, 3);
    const hashes = JSON.parse(etcdctl(all, ['endpoint', 'hashkv', '-w', 'json']).out) as { HashKV: { hash: number } }[];
    assert.equal(hashes.length, 3);
    assert.equal(new Set(hashes.map((h) => h.HashKV.hash)).size, 1, 'every member holds the same data');
    assert.equal(run(['alarm', 'list']), '');
  });

  test('snapshot save, then concord snapshot restore into a new cluster that serves the data', async () => {
    run(['put', 'snap/k', 'saved']);
    const file = path.join(cluster.dir, 'backup.db');
    const saved = etcdctl(one, ['snapshot', 'save', file]);
    assert.equal(saved.code, 0, saved.err);
    assert.match(saved.out, /Snapshot saved/);
    const [peerPort, clientPort] = await freePorts(2);
    const flags = [`--name=restored`, `--data-dir=${path.join(cluster.dir, 'restored')}`,
      `--initial-cluster=restored=http://127.0.0.1:${peerPort}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`, `--listen-client-urls=http://127.0.0.1:${clientPort}`,
      `--advertise-client-urls=http://127.0.0.1:${clientPort}`, '--initial-cluster-token=restored-cluster'];
    const restore = spawnSync(process.execPath, [path.join(root, 'dist/src/cli/main.js'), 'snapshot', 'restore', file, ...flags], { encoding: 'utf8' });
    assert.equal(restore.status, 0, restore.stderr);
    const member = spawn(process.execPath, [path.join(root, 'dist/src/cli/main.js'), 'start', ...flags], { stdio: 'ignore' });
    try {
      let value = '';
      for (let i = 0; i < 100 && value !== 'saved\n'; i++) {
        await sleep(100);
        value = etcdctl(`http://127.0.0.1:${clientPort}`, ['get', 'snap/k', '--print-value-only']).out;
      }
      assert.equal(value, 'saved\n');
    } finally {
      member.kill('SIGKILL');
    }
  });

  test('concord snapshot save and etcdctl snapshot save from one member: concord snapshot status reads both alike', () => {
    run(['put', 'snap/both', 'saved twice']);
    const concordStatus = (file: string): { hash: number; revision: number; totalKey: number; totalSize: number } => {
      const r = spawnSync(process.execPath, [path.join(root, 'dist/src/cli/main.js'), 'snapshot', 'status', file, '--json'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { hash: number; revision: number; totalKey: number; totalSize: number };
    };
    // Both files come from the same member; a write landing between the two saves (an expiring
    // lease of an earlier test) changes the revision, so compare only saves of one revision.
    for (let attempt = 0; ; attempt++) {
      const byEtcdctl = path.join(cluster.dir, `etcdctl-${attempt}.db`);
      const byConcord = path.join(cluster.dir, `concord-${attempt}.db`);
      assert.equal(etcdctl(one, ['snapshot', 'save', byEtcdctl]).code, 0);
      const saved = spawnSync(process.execPath, [path.join(root, 'dist/src/cli/main.js'), 'snapshot', 'save', byConcord, `--endpoints=${one}`, '--json'], { encoding: 'utf8' });
      assert.equal(saved.status, 0, saved.stderr);
      const a = concordStatus(byEtcdctl);
      const b = concordStatus(byConcord);
      if (a.revision !== b.revision && attempt < 5) continue;
      assert.deepEqual(b, a);
      assert.ok(a.totalKey > 0);
      const { hash, revision, totalKey, totalSize } = JSON.parse(saved.stdout) as typeof a;
      assert.deepEqual({ hash, revision, totalKey, totalSize }, b, 'save prints what status reads');
      break;
    }
  });

  // etcdctl snapshot status opens the file as a bbolt database (it hashes bbolt buckets); a Concord
  // snapshot is Concord's store inside etcd's outer layout (512-byte sectors, SHA-256 trailer),
  // which is what etcdctl snapshot save checks, but not a bbolt file. Use concord snapshot status.
  test('etcdctl snapshot status of a Concord snapshot', { todo: 'Concord snapshot files are not bbolt databases: etcdctl answers "invalid database"' }, () => {
    const file = path.join(cluster.dir, 'for-etcdctl-status.db');
    assert.equal(etcdctl(one, ['snapshot', 'save', file]).code, 0);
    const status = spawnSync(ETCDCTL, ['snapshot', 'status', file, '-w', 'json'], { env: { ...process.env, ETCDCTL_API: '3' }, encoding: 'utf8' });
    assert.equal(status.status, 0, status.stderr);
  });

  test('move-leader hands leadership to another member', async () => {
    const status = JSON.parse(etcdctl(all, ['endpoint', 'status', '-w', 'json']).out) as { Endpoint: string; Status: { leader: number; header: { member_id: number } } }[];
    const leaderId = status[0]!.Status.leader;
    const leaderEndpoint = status.find((s) => s.Status.header.member_id === leaderId)!.Endpoint;
    const target = status.find((s) => s.Status.header.member_id !== leaderId)!.Status.header.member_id;
    const moved = etcdctl(leaderEndpoint, ['move-leader', BigInt(target).toString(16)]);
    assert.equal(moved.code, 0, moved.err);
    assert.match(moved.out, /Leadership transferred/);
    await cluster.waitFor('the new leader', 10_000, async () => {
      const now = JSON.parse(etcdctl(all, ['endpoint', 'status', '-w', 'json']).out) as { Status: { leader: number } }[];
      return now.every((s) => s.Status.leader === target);
    });
  });

  test('check perf --load=s passes', () => {
    // The small load runs for 60 seconds.
    const r = etcdctl(all, ['check', 'perf', '--load=s'], undefined, 150_000);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /PASS: Throughput/);
  });
});
