import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Concord, type LeaderInfo } from '../../src/client/index.js';
import { sleep, type TestCluster } from '../integration/cluster.js';
import { endpointsOf, startCluster } from './helpers.js';

/**
 * TTL_S: the candidates' session TTL. A candidate whose resign fails when its member is killed
 * (the delete's outcome unknown, the revoke refused while there is no leader) leaves its key
 * until the lease expires: the others wait up to this long, as etcd's do.
 */
const TTL_S = 3;

interface Term {
  readonly who: string;
  readonly token: number;
  readonly startMs: number;
  endMs: number;
}

/**
 * Election over repeated kills of the Concord leader member: candidates' leadership intervals
 * never overlap, tokens strictly increase with time, and observers see leaders in that order.
 */
describe('client election across leader kills', { concurrency: false }, () => {
  let cluster: TestCluster;
  before(async () => { cluster = await startCluster(); });
  after(async () => { await cluster?.destroy(); });

  test('no overlapping leaderships, strictly increasing tokens', async () => {
    const endpoints = endpointsOf(cluster);
    const candidates = [0, 1, 2].map((i) => ({ name: `c${i}`, client: new Concord({ endpoints: [...endpoints.slice(i), ...endpoints.slice(0, i)] }) }));
    const observers = [0, 1].map((i) => new Concord({ endpoints: [...endpoints.slice(i + 1), ...endpoints.slice(0, i + 1)] }));
    const terms: Term[] = [];
    const observed: LeaderInfo[][] = [[], []];
    const stop = new AbortController();
    let errors = 0;
    /** notes: campaign and resign failures with their times, for the failure message. */
    const notes: string[] = [];
    const started = performance.now();
    const note = (text: string): void => { notes.push(`${Math.round(performance.now() - started)} ms ${text}`); };
    try {
      const observing = observers.map(async (o, i) => {
        try {
          for await (const info of o.election('workers').observe({ signal: stop.signal })) observed[i]!.push(info);
        } catch (error) {
          if (!stop.signal.aborted) throw error;
        }
      });
      const campaigning = candidates.map(async ({ name, client }) => {
        while (!stop.signal.aborted) {
          try {
            const leadership = await client.election('workers').campaign(name, { ttl: TTL_S, signal: stop.signal });
            const term: Term = { who: name, token: leadership.token, startMs: performance.now(), endMs: Infinity };
            terms.push(term);
            if (process.env['CONCORD_TEST_DEBUG']) console.log(`${Date.now() % 100000} ${name} leads #${term.token}`);
            leadership.lost.addEventListener('abort', () => { term.endMs = Math.min(term.endMs, performance.now()); });
            await leadership.proclaim(`${name}-working`).catch(() => {});
            await sleep(150 + Math.random() * 200, );
            term.endMs = Math.min(term.endMs, performance.now());
            await leadership.resign().catch((e: unknown) => { note(`${name} resign #${term.token} failed: ${String(e)}`); });
            if (process.env['CONCORD_TEST_DEBUG']) console.log(`${Date.now() % 100000} ${name} resigned #${term.token}`);
          } catch (error) {
            if (stop.signal.aborted) return;
            note(`${name} campaign failed: ${String(error)}`);
            errors++;
            await sleep(100);
          }
        }
      });
      for (let round = 0; round < 3; round++) {
        await sleep(1_000);
        const leader = await cluster.waitForLeader(20_000);
        await cluster.kill(leader);
        note(`killed ${leader}`);
        await sleep(1_500);
        cluster.start(leader);
        await cluster.waitForLeader(20_000);
      }
      // A calm period: leadership keeps changing hands, once a key left by a failed resign at the
      // last kill has expired.
      await sleep(2_500 + TTL_S * 1000);
      stop.abort();
      await Promise.all([...campaigning, ...observing]);

      assert.ok(terms.length >= 4, `leadership changed hands repeatedly (${terms.length} terms)\n${notes.join('\n')}`);
      const byStart = [...terms].sort((a, b) => a.startMs - b.startMs);
      for (let i = 1; i < byStart.length; i++) {
        const prev = byStart[i - 1]!;
        const cur = byStart[i]!;
        assert.ok(cur.token > prev.token, `tokens increase with time: ${prev.who}#${prev.token} then ${cur.who}#${cur.token}`);
        assert.ok(prev.endMs <= cur.startMs, `${prev.who}#${prev.token} ended before ${cur.who}#${cur.token} started`);
      }
      const tokens = new Set(terms.map((t) => t.token));
      for (const seq of observed) {
        assert.ok(seq.length > 0, 'observers saw leaders');
        const distinct = seq.map((l) => l.token).filter((t, i, a) => i === 0 || a[i - 1] !== t);
        for (let i = 1; i < distinct.length; i++) assert.ok(distinct[i]! > distinct[i - 1]!, 'observers see tokens strictly increase');
        for (const l of seq) {
          const term = terms.find((t) => t.token === l.token);
          if (term) {
            // A leadership its candidate learned of: its value is that candidate's.
            assert.equal(l.value.replace(/-working$/, ''), term.who);
          } else {
            // The head of the queue whose campaign call failed before returning (a member was
            // killed mid-call): it leads by definition (lowest create revision, as in etcd) until
            // its lease is revoked, but its candidate never acted: it never proclaimed.
            assert.ok(!l.value.endsWith('-working'), `observed leader #${l.token} proclaimed without a known leadership`);
          }
        }
      }
      console.log(`election: ${terms.length} terms, ${observed.map((s) => s.length).join('/')} observed updates, ${errors} campaign errors over 3 leader kills`);
    } finally {
      stop.abort();
      for (const c of candidates) c.client.close();
      for (const o of observers) o.close();
    }
  });
});
