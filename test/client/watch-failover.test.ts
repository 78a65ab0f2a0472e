import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ClientErrorCode, Concord, ConcordClientError } from '../../src/client/index.js';
import { sleep, type TestCluster } from '../integration/cluster.js';
import { endpointsOf, startCluster } from './helpers.js';

/**
 * A watch survives kill -9 of the member it is connected to: it reconnects to another member,
 * resumes at lastRevision + 1, and sees each revision of the prefix exactly once, in order.
 */
describe('client watch across a member kill', { concurrency: false }, () => {
  let cluster: TestCluster;
  before(async () => { cluster = await startCluster(); });
  after(async () => { await cluster?.destroy(); });

  test('kill -9 of the watch\'s member: every revision exactly once', async () => {
    const endpoints = endpointsOf(cluster);
    const writer = new Concord({ endpoints, requestTimeoutMs: 5_000 });
    const watcher = new Concord({ endpoints });
    try {
      const start = (await writer.put('wf/start', 'x')).revision;
      const connected: string[] = [];
      const seen: number[] = [];
      let stopAt = Infinity;
      const done = (async () => {
        for await (const ev of watcher.watch('wf/', { fromRevision: start, onConnect: (e) => connected.push(e) })) {
          seen.push(ev.revision);
          if (ev.revision >= stopAt) return;
        }
      })();
      const acked: number[] = [];
      let unknown = 0;
      let stop = false;
      const writers = [0, 1, 2].map(async (w) => {
        for (let i = 0; !stop; i++) {
          try {
            acked.push((await writer.put(`wf/w${w}`, String(i))).revision);
          } catch (error) {
            assert.ok(error instanceof ConcordClientError);
            if (error.code === ClientErrorCode.OutcomeUnknown) unknown++;
            await sleep(20);
          }
        }
      });
      await sleep(800);
      const victimUrl = connected[0]!;
      const victim = cluster.members.find((m) => victimUrl.endsWith(`:${m.clientPort}`))!;
      await cluster.kill(victim.name);
      await sleep(2_500);
      stop = true;
      await Promise.all(writers);
      stopAt = (await writer.put('wf/end', 'x')).revision;
      // The watch may have delivered wf/end before stopAt was known: one more write wakes it.
      await writer.put('wf/after-end', 'x');
      await done;
      assert.ok(connected.length >= 2, `the watch reconnected (connections: ${connected.join(', ')})`);
      assert.notEqual(connected[connected.length - 1], victimUrl);

      // Reference: the prefix's history from a surviving member.
      const reference: number[] = [];
      for await (const ev of writer.watch('wf/', { fromRevision: start })) {
        reference.push(ev.revision);
        if (ev.revision >= stopAt) break;
      }
      assert.deepEqual(seen.filter((r) => r <= stopAt), reference, 'the watch saw exactly the revisions of the prefix, once each, in order');
      for (const r of acked) assert.ok(seen.includes(r), `acknowledged revision ${r} was delivered`);
      console.log(`watch failover: ${seen.length} revisions, ${acked.length} acknowledged writes, ${unknown} unknown outcomes, reconnected to ${connected.slice(1).join(', ')}`);
    } finally {
      writer.close();
      watcher.close();
    }
  });
});
