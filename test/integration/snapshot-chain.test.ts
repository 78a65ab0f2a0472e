import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { TestCluster } from './cluster.js';

/**
 * Linked snapshots with real processes, real TCP and real fsync: members whose store keeps a long
 * history write deltas over their previous snapshot (files named `.on-<base>`), restart from the
 * chain, and a member that was down catches up from a leader's chain.
 */

function snapshotFiles(dataDir: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.snap')) found.push(e.name);
    }
  };
  walk(dataDir);
  return found;
}

describe('linked snapshots', { concurrency: false }, () => {
  const clusters: TestCluster[] = [];
  after(async () => {
    for (const c of clusters) await c.destroy();
  });

  test('members write deltas over their last snapshot, restart from the chain, and a lagging member catches up from one', async () => {
    const c = await TestCluster.create(3, { extraFlags: ['--heartbeat-interval=50', '--election-timeout=500', '--snapshot-count=100'] });
    clusters.push(c);
    c.startAll();
    const leader = await c.waitForLeader(15_000);
    const lagging = c.members.map((m) => m.name).find((n) => n !== leader)!;
    await c.kill(lagging);
    // Few keys, many versions: the history grows, so the snapshots after the first few are deltas.
    const last = new Map<string, string>();
    const writers = 8;
    const perWriter = 250;
    await Promise.all(Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; i < perWriter; i++) {
        const key = `h${(w * 7 + i) % 20}`;
        const value = `${w}-${i}`;
        const r = await c.put(leader, key, value);
        assert.equal(r.ok, true, JSON.stringify(r.body));
        last.set(key, value); // writers of one key race; the latest acknowledged is read back below
      }
    }));
    const expected = new Map<string, string | undefined>();
    for (const key of last.keys()) expected.set(key, await c.get(leader, key));
    const running = c.members.map((m) => m.name).filter((n) => n !== lagging);
    const linked = running.flatMap((n) => snapshotFiles(c.member(n).dataDir)).filter((f) => f.includes('.on-'));
    assert.ok(linked.length > 0, `no linked snapshot among ${running.map((n) => snapshotFiles(c.member(n).dataDir).join(' ')).join(' | ')}`);

    // The lagging member catches up from the leader's snapshot, a chain or a whole one.
    const leaderStatus = await c.status(leader);
    c.start(lagging);
    await c.waitFor(`${lagging} to catch up`, 30_000, async () => (await c.status(lagging)).applied >= leaderStatus.applied);
    assert.ok((await c.status(lagging)).snapshotsApplied >= 1, `${lagging} caught up without a snapshot`);
    for (const [key, value] of expected) assert.equal(await c.get(lagging, key, 'serializable'), value, `${lagging} ${key}`);

    // Every member restarts from its own chain plus its WAL.
    await Promise.all(c.members.map((m) => c.kill(m.name)));
    c.startAll();
    const newLeader = await c.waitForLeader(20_000);
    for (const m of c.members) {
      await c.waitFor(`${m.name} to apply`, 20_000, async () => (await c.status(m.name)).applied >= leaderStatus.applied);
      for (const [key, value] of expected) assert.equal(await c.get(m.name, key, 'serializable'), value, `${m.name} ${key} after restart`);
    }
    assert.equal((await c.put(newLeader, 'after', 'restart')).ok, true);
  });
});
