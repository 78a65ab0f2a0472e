import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { Concord, type MemberEvent } from '../../src/client/index.js';
import { sleep, type TestCluster } from '../integration/cluster.js';
import { endpointsOf, startCluster } from './helpers.js';

const clientUrl = new URL('../../src/client/index.js', import.meta.url).href;

/** A registered instance in its own process: prints `{"revision":N}` once registered, then idles. */
function spawnRegistered(endpoints: string[], service: string, instance: string, ttlSeconds: number): { child: ChildProcess; registered: Promise<number> } {
  const script = `
    import { Concord } from ${JSON.stringify(clientUrl)};
    const client = new Concord({ endpoints: ${JSON.stringify(endpoints)} });
    const r = await client.register(${JSON.stringify(service)}, ${JSON.stringify(instance)}, { pid: process.pid }, { ttl: ${ttlSeconds} });
    process.stdout.write(JSON.stringify({ revision: r.revision }) + '\\n');
    setInterval(() => {}, 1_000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const registered = new Promise<number>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', (line) => resolve((JSON.parse(line) as { revision: number }).revision));
    child.once('exit', (code) => reject(new Error(`registering child exited (${code})`)));
  });
  return { child, registered };
}

/** collect gathers `watchMembers` events into an array as they come. */
function collect(client: Concord, service: string, signal: AbortSignal): { events: MemberEvent[]; done: Promise<void> } {
  const events: MemberEvent[] = [];
  const done = (async () => {
    for await (const ev of client.watchMembers(service, { signal })) events.push(ev);
  })();
  return { events, done };
}

async function waitFor(what: string, timeoutMs: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('client membership and service discovery', { concurrency: false }, () => {
  let cluster: TestCluster;
  let client: Concord;
  const children: ChildProcess[] = [];
  before(async () => {
    cluster = await startCluster();
    client = new Concord({ endpoints: endpointsOf(cluster) });
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    client?.close();
    await cluster?.destroy();
  });

  test('discover lists the current members with their metadata', async () => {
    const a = await client.register('api', 'a', { addr: '10.0.0.1:80' }, { ttl: 5 });
    const b = await client.register('api', 'b', { addr: '10.0.0.2:80' }, { ttl: 5 });
    const other = await client.register('api-admin', 'x', {}, { ttl: 5 }); // another service, same name prefix
    assert.deepEqual((await client.discover('api')).map((m) => [m.instance, m.metadata]), [['a', { addr: '10.0.0.1:80' }], ['b', { addr: '10.0.0.2:80' }]]);
    await a.close();
    assert.ok(a.lost.aborted);
    assert.deepEqual((await client.discover('api')).map((m) => m.instance), ['b']);
    await b.close();
    await other.close();
    assert.deepEqual(await client.discover('api'), []);
    await assert.rejects(client.register('api', 'a/b'), { code: 'CONCORD_CLIENT_INVALID_ARGUMENT' });
  });

  test('a killed instance disappears within its TTL and watchers see the leave', async () => {
    const ttlSeconds = 2;
    const controller = new AbortController();
    const stay = await client.register('workers', 'stay', { role: 'in-process' }, { ttl: 5 });
    const watcher = collect(client, 'workers', controller.signal);
    await waitFor('the initial join', 5_000, () => watcher.events.length === 1);
    const { child, registered } = spawnRegistered(endpointsOf(cluster), 'workers', 'doomed', ttlSeconds);
    children.push(child);
    const revision = await registered;
    await waitFor('the join of the child', 5_000, () => watcher.events.some((e) => e.instance === 'doomed'));
    assert.deepEqual((await client.discover('workers')).map((m) => m.instance), ['doomed', 'stay']);

    child.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor('the leave of the killed child', ttlSeconds * 1000 + 5_000, () => watcher.events.some((e) => e.type === 'leave'));
    const elapsedMs = Date.now() - killedAt;
    console.log(`killed instance left ${elapsedMs} ms after SIGKILL (TTL ${ttlSeconds} s)`);
    // The lease expires at most TTL after its last renewal (before the kill); allow the leader's expiry check and the watch delivery.
    assert.ok(elapsedMs <= ttlSeconds * 1000 + 3_000, `left after ${elapsedMs} ms`);
    assert.deepEqual((await client.discover('workers')).map((m) => m.instance), ['stay']);

    controller.abort();
    await watcher.done;
    const trace = watcher.events.map((e) => `${e.type} ${e.instance}`);
    assert.deepEqual(trace, ['join stay', 'join doomed', 'leave doomed']);
    assert.equal(watcher.events[1]!.revision, revision);
    assert.equal(watcher.events[1]!.metadata.pid, child.pid);
    assert.ok(watcher.events[2]!.revision > revision);
    await stay.close();
  });

  test('watchMembers: a snapshot then the changes, no gap and no duplicate under concurrent joins and leaves', async () => {
    const count = 30;
    const registrations = new Map<string, Awaited<ReturnType<Concord['register']>>>();
    const churn = (async () => {
      for (let i = 0; i < count; i++) {
        registrations.set(`i${i}`, await client.register('churn', `i${i}`, { i }, { ttl: 5 }));
        if (i % 3 === 2) await registrations.get(`i${i - 1}`)!.close(); // every third step, a leave too
      }
    })();
    await sleep(30); // start watching in the middle of the churn
    const controller = new AbortController();
    const watcher = collect(client, 'churn', controller.signal);
    await churn;
    const expected = await client.discover('churn');
    await waitFor('the watcher to catch up', 10_000, () => {
      const live = new Set<string>();
      for (const e of watcher.events) if (e.type === 'leave') live.delete(e.instance); else live.add(e.instance);
      return [...live].sort().join() === expected.map((m) => m.instance).join();
    });
    controller.abort();
    await watcher.done;
    // Revision order, and each instance joins at most once and leaves only after its join.
    const state = new Map<string, 'in' | 'out'>();
    let last = 0;
    for (const e of watcher.events) {
      assert.ok(e.revision > last, `revisions strictly increase: ${e.revision} after ${last}`);
      last = e.revision;
      if (e.type === 'join') assert.equal(state.get(e.instance), undefined, `${e.instance} joins once`);
      if (e.type === 'leave') assert.equal(state.get(e.instance), 'in', `${e.instance} leaves after joining`);
      state.set(e.instance, e.type === 'leave' ? 'out' : 'in');
    }
    assert.ok(watcher.events.some((e) => e.type === 'leave'), 'the watch saw leaves');
    for (const r of registrations.values()) await r.close();
  });
  test('watchMembers across a compaction: re-reads the members and reports the difference, then follows live changes', async () => {
    const service = 'compacted';
    const a1 = await client.register(service, 'a', { v: 1 }, { ttl: 10 });
    const b = await client.register(service, 'b', { v: 1 }, { ttl: 10 });
    const c1 = await client.register(service, 'c', { v: 1 }, { ttl: 10 });
    const controller = new AbortController();
    const members = client.watchMembers(service, { signal: controller.signal });
    const next = async (): Promise<MemberEvent> => {
      const r = await members.next();
      assert.equal(r.done, false, 'the iteration goes on');
      return r.value as MemberEvent;
    };
    // The snapshot: three joins. The iterator is now paused before it opens its watch.
    const joins = [await next(), await next(), await next()];
    assert.deepEqual(joins.map((e) => [e.type, e.instance]), [['join', 'a'], ['join', 'b'], ['join', 'c']]);

    // While it is paused: b leaves, a leaves and registers again (a new registration), c
    // registers again with new metadata (the same key: an update), d joins. Then the history of
    // all of that is compacted away, so the watch cannot start where the snapshot ended.
    await b.close();
    await a1.close();
    const a2 = await client.register(service, 'a', { v: 2 }, { ttl: 10 });
    const c2 = await client.register(service, 'c', { v: 2 }, { ttl: 10 });
    const d = await client.register(service, 'd', { v: 1 }, { ttl: 10 });
    const compactedAt = (await client.getRange(`services/${service}/`)).header.revision;
    await client.compact(compactedAt);
    // Every member must have applied the compaction before the iterator resumes: a member still
    // behind would (correctly) stream the changes as plain events instead of a re-read.
    for (const endpoint of endpointsOf(cluster)) {
      const one = new Concord({ endpoints: [endpoint] });
      try {
        await waitFor(`${endpoint} to apply the compaction`, 10_000, async () => {
          try {
            await one.getRange(`services/${service}/`, { consistency: 'serializable', revision: compactedAt - 1 });
            return false;
          } catch (error) {
            if ((error as Error).message.includes('compacted')) return true;
            throw error;
          }
        });
      } finally { one.close(); }
    }

    const diff = [await next(), await next(), await next(), await next(), await next()];
    assert.deepEqual(diff.map((e) => [e.type, e.instance, e.metadata]), [
      ['leave', 'a', { v: 1 }], ['leave', 'b', { v: 1 }], // leaves first, with the last metadata seen
      ['join', 'a', { v: 2 }], ['update', 'c', { v: 2 }], ['join', 'd', { v: 1 }],
    ]);
    assert.ok(diff.every((e) => e.revision >= compactedAt), 'the difference is stamped with the re-read\'s revision');

    // The watch resumed from the re-read: a later leave arrives as a plain event, once.
    await d.close();
    const leave = await next();
    assert.deepEqual([leave.type, leave.instance], ['leave', 'd']);
    assert.ok(leave.revision > diff[4]!.revision);
    const discovered = (await client.discover(service)).map((m) => [m.instance, m.metadata]);
    assert.deepEqual(discovered, [['a', { v: 2 }], ['c', { v: 2 }]]);
    controller.abort();
    assert.equal((await members.next()).done, true, 'aborting ends the iteration');
    await Promise.all([a2.close(), c1.close().catch(() => {}), c2.close()]);
  });
});
