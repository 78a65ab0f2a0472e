import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { TestCluster, sleep } from './cluster.js';

/**
 * Real processes, real TCP, real fsync: a 3-member cluster on loopback under kill -9, restarts,
 * a lagging member, disk corruption and a foreign cluster. Timings are logged (failover time),
 * never asserted.
 */
const ELECTION_FLAGS = ['--heartbeat-interval=50', '--election-timeout=500'];

describe('a 3-member cluster of real processes', { concurrency: false }, () => {
  const clusters: TestCluster[] = [];
  after(async () => {
    for (const c of clusters) await c.destroy();
  });
  const make = async (flags: string[] = []): Promise<TestCluster> => {
    const c = await TestCluster.create(3, { extraFlags: [...ELECTION_FLAGS, ...flags] });
    clusters.push(c);
    return c;
  };

  test('writes are acknowledged and readable on every member', async () => {
    const c = await make();
    c.startAll();
    await c.waitForLeader(15_000);
    for (let i = 0; i < 20; i++) {
      const r = await c.put(`m${(i % 3) + 1}`, `k${i}`, `v${i}`);
      assert.equal(r.ok, true, JSON.stringify(r.body));
    }
    for (const m of c.members) {
      for (let i = 0; i < 20; i++) assert.equal(await c.get(m.name, `k${i}`), `v${i}`, `${m.name} k${i}`);
    }
    // The peer traffic is counted in /metrics: a write through the leader adds writes and bytes
    // sent to its peers, and messages received by each follower.
    const leader = await c.waitForLeader(15_000);
    const scrape = async (name: string): Promise<Map<string, number>> => {
      const text = await (await fetch(c.url(name, '/metrics'))).text();
      const values = new Map<string, number>();
      for (const line of text.split('\n')) {
        const m = /^(concord_network_peer_\w+|etcd_network_peer_\w+) (\S+)$/.exec(line);
        if (m) values.set(m[1]!, Number(m[2]));
      }
      return values;
    };
    const before = await Promise.all(c.members.map((m) => scrape(m.name)));
    assert.equal((await c.put(leader, 'counted', 'x')).ok, true);
    const after = await Promise.all(c.members.map((m) => scrape(m.name)));
    const li = c.members.findIndex((m) => m.name === leader);
    for (const name of ['concord_network_peer_socket_writes_total', 'concord_network_peer_messages_sent_total', 'etcd_network_peer_sent_bytes_total']) {
      assert.ok(after[li]!.get(name)! > before[li]!.get(name)!, `${name} grows on the leader`);
    }
    for (let i = 0; i < c.members.length; i++) {
      if (i === li) continue;
      assert.ok(after[i]!.get('concord_network_peer_messages_received_total')! > before[i]!.get('concord_network_peer_messages_received_total')!,
        `${c.members[i]!.name} received the append`);
    }
    await c.destroy();
  });

  test('kill -9 of the leader: a new leader is elected and no acknowledged write is lost', async () => {
    const c = await make();
    c.startAll();
    const leader = await c.waitForLeader(15_000);
    const acked: string[] = [];
    for (let i = 0; i < 50; i++) {
      const r = await c.put(leader, `a${i}`, `v${i}`);
      if (r.ok) acked.push(`a${i}`);
    }
    assert.equal(acked.length, 50);
    const killedAt = Date.now();
    await c.kill(leader);
    const survivors = c.members.map((m) => m.name).filter((n) => n !== leader);
    const next = await c.waitForLeader(20_000, survivors);
    const failoverMs = Date.now() - killedAt;
    console.log(`# failover after kill -9 of the leader: ${failoverMs} ms (election timeout 500 ms)`);
    assert.notEqual(next, leader);
    for (const key of acked) assert.ok((await c.get(next, key)) !== undefined, `lost ${key}`);
    const r = await c.put(next, 'after-failover', 'x');
    assert.equal(r.ok, true);
    // The old leader comes back as a follower and catches up.
    c.start(leader);
    await c.waitFor(`${leader} to catch up`, 20_000, async () => (await c.get(leader, 'after-failover', 'serializable')) === 'x');
    await c.destroy();
  });

  test('kill -9 of every member, then restart: every acknowledged write is back', async () => {
    const c = await make();
    c.startAll();
    const leader = await c.waitForLeader(15_000);
    const acked = new Map<string, string>();
    await Promise.all(Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; i < 25; i++) {
        const key = `w${w}-${i}`;
        const r = await c.put(leader, key, `value-${w}-${i}`);
        if (r.ok) acked.set(key, `value-${w}-${i}`);
      }
    }));
    assert.equal(acked.size, 200);
    await Promise.all(c.members.map((m) => c.kill(m.name)));
    c.startAll();
    const newLeader = await c.waitForLeader(20_000);
    for (const [key, value] of acked) assert.equal(await c.get(newLeader, key), value, key);
    await c.destroy();
  });

  test('a member down while thousands of entries are written catches up by snapshot', async () => {
    const c = await make(['--snapshot-count=500']);
    c.startAll();
    const leader = await c.waitForLeader(15_000);
    const lagging = c.members.map((m) => m.name).find((n) => n !== leader)!;
    await c.kill(lagging);
    const writers = 16;
    const perWriter = 200;
    await Promise.all(Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; i < perWriter; i++) {
        const r = await c.put(leader, `s${w}-${i}`, `${w}-${i}`);
        assert.equal(r.ok, true, JSON.stringify(r.body));
      }
    }));
    const leaderStatus = await c.status(leader);
    assert.ok(leaderStatus.snapshotIndex > 0, 'the leader took a snapshot');
    c.start(lagging);
    await c.waitFor(`${lagging} to catch up`, 30_000, async () => {
      const s = await c.status(lagging);
      return s.applied >= leaderStatus.applied;
    });
    const s = await c.status(lagging);
    assert.ok(s.snapshotsApplied >= 1, `${lagging} caught up without a snapshot: ${JSON.stringify(s)}`);
    for (let w = 0; w < writers; w += 5) {
      assert.equal(await c.get(lagging, `s${w}-${perWriter - 1}`, 'serializable'), `${w}-${perWriter - 1}`);
    }
    await c.destroy();
  });

  test('a corrupted WAL record stops the member with the file and offset; a torn tail is recovered', async () => {
    const c = await make();
    c.startAll();
    const leader = await c.waitForLeader(15_000);
    for (let i = 0; i < 30; i++) assert.equal((await c.put(leader, `c${i}`, 'x'.repeat(100))).ok, true);
    const victim = c.members.map((m) => m.name).find((n) => n !== leader)!;
    await c.kill(victim);
    const walDir = findWalDir(c.member(victim).dataDir);
    const segments = fs.readdirSync(walDir).filter((f) => f.endsWith('.wal')).sort();
    const segment = path.join(walDir, segments[segments.length - 1]!);
    const original = fs.readFileSync(segment);

    // A torn tail: a partial record appended at the end is truncated on start.
    fs.writeFileSync(segment, Buffer.concat([original, Buffer.from([0x40, 0, 0, 0, 1, 2, 3])]));
    c.start(victim);
    await c.waitFor(`${victim} to serve after a torn tail`, 20_000, async () => (await c.get(victim, 'c29', 'serializable')) !== undefined);
    await c.kill(victim);

    // A flipped bit in the middle of the log is corruption: refuse to start, name file and offset.
    const now = fs.readFileSync(segment);
    const flipped = Buffer.from(now);
    // Segments are preallocated (a zero-filled tail follows the records): flip a bit inside the
    // records, a third of the way in.
    let end = now.byteLength;
    while (end > 0 && now[end - 1] === 0) end--;
    const at = Math.floor(end / 3);
    flipped[at] = flipped[at]! ^ 0x10;
    fs.writeFileSync(segment, flipped);
    c.start(victim);
    const code = await c.waitExit(victim, 15_000);
    assert.notEqual(code, 0);
    const text = c.output.get(victim)!.join('\n');
    assert.match(text, new RegExp(escapeRegExp(path.basename(segment))), text.slice(-2000));
    assert.match(text, /(offset|byte) \d+/, text.slice(-2000));
    await c.destroy();
  });

  test('a peer started with another --initial-cluster-token is refused', async () => {
    const c = await make();
    c.start('m1');
    c.start('m2');
    c.start('m3', { token: 'another-cluster' });
    await sleep(3000);
    const text = [...(c.output.get('m1') ?? []), ...(c.output.get('m3') ?? [])].join('\n');
    assert.match(text, /cluster/i);
    assert.match(text, /refus/i, text.slice(-3000));
    // The two members of the right cluster still form a majority and serve.
    const leader = await c.waitForLeader(15_000, ['m1', 'm2']);
    assert.equal((await c.put(leader, 'k', 'v')).ok, true);
    const s3 = await c.status('m3');
    assert.equal(s3.applied <= 3, true, 'the foreign member never received the cluster\'s entries');
    await c.destroy();
  });
});

function findWalDir(dataDir: string): string {
  const stack = [dataDir];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name === 'wal') return p;
        stack.push(p);
      }
    }
  }
  throw new Error(`no wal dir under ${dataDir}`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
