import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pidAlive, runTool } from './cluster-exec.js';
import { freeBytes, mountsUnder } from './cluster-disk.js';
import type { NetworkMode } from './cluster-network.js';
import { removeStaleRuns } from './cluster-teardown.js';
import { sleep, VerifyCluster } from './cluster.js';
import { harnessObjects, probeNetns } from './netns.js';
import { FAULT_KINDS, runNemesis } from './nemesis.js';

/**
 * The fault-injection harness against real 3-member clusters, in both network modes (netns
 * only where this process may create namespaces): every fault really takes effect and heals,
 * and teardown — normal, after SIGTERM, and after a SIGKILLed harness — leaves nothing behind.
 */

const netnsUnavailable = await probeNetns();
const modes: NetworkMode[] = ['netns', 'proxy'];

async function put(cluster: VerifyCluster, index: number, key: string, value: string, timeoutMs = 5_000): Promise<number> {
  const res = await fetch(`${cluster.clientUrl(index)}/concord/v0/kv/${encodeURIComponent(key)}`, { method: 'PUT', body: value, signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer();
  return res.status;
}

/** localGet is a serializable read: what member `index` itself has applied (undefined: absent). */
async function localGet(cluster: VerifyCluster, index: number, key: string): Promise<string | undefined> {
  const res = await fetch(`${cluster.clientUrl(index)}/concord/v0/kv/${encodeURIComponent(key)}?consistency=serializable`, { signal: AbortSignal.timeout(2_000) });
  const body = (await res.json()) as { value?: string };
  if (res.status === 404) return undefined;
  if (!res.ok || body.value === undefined) throw new Error(`m${index} get ${key}: HTTP ${res.status}`);
  return Buffer.from(body.value, 'base64').toString();
}

async function eventually(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function rejects(promise: Promise<unknown>): Promise<boolean> {
  try {
    await promise;
    return false;
  } catch {
    return true;
  }
}

for (const mode of modes) {
  const skip = mode === 'netns' && netnsUnavailable !== undefined ? `netns mode not available: ${netnsUnavailable}` : false;

  describe(`verify harness, ${mode} mode`, { skip }, () => {
    let cluster: VerifyCluster;
    const others = (i: number): number[] => [1, 2, 3].filter((k) => k !== i);

    before(async () => {
      cluster = await VerifyCluster.create({ size: 3, network: mode });
      cluster.startAll();
      await cluster.waitForLeader(30_000);
    });
    after(async () => {
      await cluster?.destroy();
    });

    test('an isolated leader commits nothing while the majority elects a leader and commits; after heal it catches up', async () => {
      const old = await cluster.waitForLeader(10_000);
      assert.equal(await put(cluster, old, 'before', 'b'), 200);
      await cluster.partition([old], others(old));
      const next = await cluster.waitForLeader(20_000, others(old));
      assert.notEqual(next, old);
      // Read once the majority has elected (an election timeout later): messages that were already in the old leader's buffers are processed by then.
      const commitAtCut = (await cluster.status(old)).commit;
      assert.equal(await put(cluster, next, 'during', 'majority'), 200);
      // The old leader cannot get a write committed, and learns nothing of the majority's.
      const minorityWrite = await put(cluster, old, 'minority', 'lost', 2_000).catch(() => 'no answer');
      assert.notEqual(minorityWrite, 200);
      assert.equal((await cluster.status(old)).commit, commitAtCut);
      assert.equal(await localGet(cluster, old, 'during'), undefined);
      assert.equal(await localGet(cluster, next, 'during'), 'majority');

      const healedLeader = await cluster.healAll(30_000);
      assert.ok(others(old).includes(healedLeader) || healedLeader === old);
      await eventually('the old leader to catch up', 20_000, async () => (await localGet(cluster, old, 'during')) === 'majority');
      assert.equal(await localGet(cluster, old, 'minority'), undefined);
    });

    test('a one-way partition blocks one direction only', async () => {
      const leader = await cluster.waitForLeader(20_000);
      const [follower, third] = others(leader) as [number, number];
      // The leader's messages to the follower are lost: the follower applies nothing new, the third member does.
      await cluster.block(leader, follower);
      for (let k = 1; k <= 3; k++) assert.equal(await put(cluster, leader, `out-${k}`, String(k)), 200);
      await eventually('the third member to apply', 10_000, async () => (await localGet(cluster, third, 'out-3')) === '3');
      await sleep(1_000);
      assert.equal(await localGet(cluster, follower, 'out-1'), undefined);
      assert.deepEqual(cluster.network.blocked(), [[leader, follower]]);
      await cluster.network.heal();
      await eventually('the follower to catch up after heal', 20_000, async () => (await localGet(cluster, follower, 'out-3')) === '3');

      // The other direction: the follower's messages to the leader are lost, the leader's still arrive.
      const now = await cluster.waitForLeader(20_000);
      const [f2] = others(now) as [number, number];
      await cluster.block(f2, now);
      for (let k = 1; k <= 3; k++) assert.equal(await put(cluster, now, `in-${k}`, String(k)), 200);
      await eventually('the follower to apply what the leader sends', 10_000, async () => (await localGet(cluster, f2, 'in-2')) === '2');
      await cluster.network.heal();
      await cluster.waitForLeader(20_000);
    });

    test('a paused member answers nothing; resumed, it answers and catches up', async () => {
      const leader = await cluster.waitForLeader(20_000);
      const [follower] = others(leader) as [number, number];
      cluster.pause(follower);
      assert.equal(cluster.state(follower), 'paused');
      assert.ok(await rejects(cluster.status(follower, 1_000)), 'a paused member must not answer');
      assert.equal(await put(cluster, leader, 'paused-write', 'p'), 200);
      cluster.resume(follower);
      await cluster.status(follower, 5_000);
      await eventually('the resumed member to apply the write', 20_000, async () => (await localGet(cluster, follower, 'paused-write')) === 'p');
    });

    test('kill -9 kills; the restarted member recovers its data and catches up', async () => {
      const leader = await cluster.waitForLeader(20_000);
      const [follower] = others(leader) as [number, number];
      await eventually('the follower to have the earlier write', 10_000, async () => (await localGet(cluster, follower, 'before')) === 'b');
      const pid = cluster.pid(follower)!;
      await cluster.kill(follower);
      assert.equal(pidAlive(pid), false);
      assert.equal(cluster.state(follower), 'killed');
      assert.ok(await rejects(cluster.status(follower, 1_000)), 'a killed member must not answer');
      assert.equal(await put(cluster, leader, 'while-dead', 'd'), 200);
      cluster.start(follower);
      await eventually('the restarted member to catch up', 30_000, async () => (await localGet(cluster, follower, 'while-dead')) === 'd');
      assert.equal(await localGet(cluster, follower, 'before'), 'b');
      assert.equal(cluster.exits.length, 0, `no member may exit by itself: ${JSON.stringify(cluster.exits)}`);
    });

    test('disk-full fills a member\'s data dir to ENOSPC and heal frees it', { skip: process.getuid?.() !== 0 ? 'tmpfs needs root' : false }, async () => {
      assert.equal(cluster.tmpfs, true);
      const target = 2;
      const bytes = await cluster.fillDisk(target);
      assert.ok(bytes > 0);
      assert.ok(freeBytes(cluster.dataDir(target)) < 64 * 1024, `free after fill: ${freeBytes(cluster.dataDir(target))}`);
      await assert.rejects(fs.promises.writeFile(path.join(cluster.dataDir(target), 'probe'), Buffer.alloc(1024 * 1024)), /ENOSPC/);
      await cluster.healAll(30_000);
      assert.ok(freeBytes(cluster.dataDir(target)) > 32 * 1024 * 1024);
      // Right after healing, leadership may still move (a restarted member campaigning): a 503
      // (no leader / leader changed, nothing applied) is retried as a client would.
      await eventually('a write after heal', 20_000, async () => (await put(cluster, await cluster.waitForLeader(20_000), 'after-disk', 'x')) === 200);
      await eventually('every member to run and apply', 30_000, async () => {
        for (let i = 1; i <= 3; i++) if ((await localGet(cluster, i, 'after-disk')) !== 'x') return false;
        return true;
      });
    });

    test('a nemesis drawing from every kind runs and the cluster heals afterwards', async () => {
      const started = Date.now();
      const events = await runNemesis(cluster, {
        kinds: cluster.tmpfs ? FAULT_KINDS : FAULT_KINDS.filter((k) => k !== 'disk-full'),
        seed: 7, durationMs: 6_000, signal: new AbortController().signal, now: () => Date.now() - started, log: () => {},
        schedule: { gapMsMin: 300, gapMsMax: 600, faultMsMin: 800, faultMsMax: 1_500, comboChance: 0.5 },
      });
      const starts = events.filter((e) => e.action === 'start');
      assert.ok(starts.length >= 3, JSON.stringify(events));
      assert.equal(events.filter((e) => e.action === 'heal').length, starts.length, JSON.stringify(events));
      await cluster.healAll(60_000);
      assert.deepEqual(cluster.network.blocked(), []);
      for (let i = 1; i <= 3; i++) assert.equal(cluster.state(i), 'running');
      await eventually('a write after heal', 20_000, async () => (await put(cluster, await cluster.waitForLeader(20_000), 'after-nemesis', 'n')) === 200);
    });

    test('teardown removes processes, namespaces, links, rules, mounts and the run dir', async () => {
      const pids = [1, 2, 3].map((i) => cluster.pid(i)!);
      const runDir = cluster.runDir;
      const rootRules = mode === 'netns' ? await runTool('iptables', ['-w', '-S']) : '';
      await cluster.destroy();
      for (const pid of pids) assert.equal(pidAlive(pid), false, `pid ${pid} still alive`);
      assert.equal(fs.existsSync(runDir), false);
      assert.deepEqual(mountsUnder(runDir), []);
      if (mode === 'netns') {
        assert.deepEqual(await harnessObjects(), []);
        const rulesAfter = await runTool('iptables', ['-w', '-S']);
        assert.ok(!rulesAfter.includes(`cv${process.pid}`), rulesAfter);
        assert.ok(rulesAfter.split('\n').length <= rootRules.split('\n').length);
      }
    });

    test('a harness killed with SIGKILL leaves objects that the next run removes; SIGTERM cleans up at once', async () => {
      const script = [
        `import { VerifyCluster } from ${JSON.stringify(new URL('./cluster.js', import.meta.url).href)};`,
        `const c = await VerifyCluster.create({ size: 3, network: ${JSON.stringify(mode)} });`,
        'c.startAll();',
        'console.log(JSON.stringify({ runDir: c.runDir, pids: [1, 2, 3].map((i) => c.pid(i)) }));',
        'setInterval(() => {}, 1000);',
      ].join('\n');
      const launch = async (): Promise<{ child: ReturnType<typeof spawn>; runDir: string; pids: number[] }> => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
        const line = await new Promise<string>((resolve, reject) => {
          let text = '';
          child.stdout!.on('data', (chunk: Buffer) => {
            text += chunk.toString();
            if (text.includes('\n')) resolve(text.split('\n')[0]!);
          });
          child.once('exit', (code) => reject(new Error(`harness child exited early (${code})`)));
        });
        return { child, ...(JSON.parse(line) as { runDir: string; pids: number[] }) };
      };
      const objectsOf = async (pid: number): Promise<string[]> => (mode === 'netns' ? await harnessObjects(pid) : []);

      // SIGKILL: nothing runs in the harness; its members, namespaces and mounts stay until the next run's leftover check.
      const crashed = await launch();
      const crashedPid = crashed.child.pid!;
      crashed.child.kill('SIGKILL');
      await new Promise((resolve) => crashed.child.once('exit', resolve));
      assert.ok(fs.existsSync(crashed.runDir));
      if (mode === 'netns') assert.ok((await objectsOf(crashedPid)).length >= 3 * 2 + 1);
      const removed = await removeStaleRuns({ netns: mode === 'netns' });
      assert.ok(removed.some((r) => r.startsWith(crashed.runDir)), removed.join('\n'));
      await eventually('the crashed run\'s members to die', 10_000, async () => crashed.pids.every((p) => !pidAlive(p)));
      assert.equal(fs.existsSync(crashed.runDir), false);
      assert.deepEqual(mountsUnder(crashed.runDir), []);
      assert.deepEqual(await objectsOf(crashedPid), []);

      // SIGTERM: the harness tears down by itself and exits 143.
      const stopped = await launch();
      const stoppedPid = stopped.child.pid!;
      const exited = new Promise<number | null>((resolve) => stopped.child.once('exit', (code) => resolve(code)));
      stopped.child.kill('SIGTERM');
      assert.equal(await exited, 143);
      for (const pid of stopped.pids) assert.equal(pidAlive(pid), false);
      assert.equal(fs.existsSync(stopped.runDir), false);
      assert.deepEqual(await objectsOf(stoppedPid), []);
    });
  });
}
