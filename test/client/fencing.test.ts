import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { Concord, FencedError, FencingGate } from '../../src/client/index.js';
import { sleep, type TestCluster } from '../integration/cluster.js';
import { endpointsOf, startCluster } from './helpers.js';

const childJs = path.join(path.dirname(new URL(import.meta.url).pathname), 'fencing-child.js');

/** Holder is a child process holding a lock (fencing-child.ts), with its stdout as a line queue. */
class Holder {
  readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private waiter: (() => void) | undefined;

  constructor(endpoints: string[], lockName: string, ttlSeconds: number) {
    this.child = spawn(process.execPath, [childJs, endpoints.join(','), lockName, String(ttlSeconds)], { stdio: ['pipe', 'pipe', 'inherit'] });
    readline.createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      this.waiter?.();
    });
  }

  async next(timeoutMs: number): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (Date.now() > deadline) throw new Error('no answer from the lock holder process');
      await Promise.race([new Promise<void>((r) => { this.waiter = r; }), sleep(100)]);
    }
    return JSON.parse(this.lines.shift()!) as Record<string, unknown>;
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGCONT');
      this.child.kill('SIGKILL');
    }
  }
}

/**
 * Fencing: process A takes a lock and is frozen (SIGSTOP) until its lease expires; process B
 * takes the lock. When A resumes, its guarded write is rejected and the resource's FencingGate
 * rejects A's token.
 */
describe('client locks with fencing tokens', { concurrency: false }, () => {
  let cluster: TestCluster;
  const holders: Holder[] = [];
  before(async () => { cluster = await startCluster(); });
  after(async () => {
    for (const h of holders) h.kill();
    await cluster?.destroy();
  });

  test('a paused holder is fenced off after its lease expired and another took the lock', async () => {
    const endpoints = endpointsOf(cluster);
    const client = new Concord({ endpoints });
    const gate = new FencingGate(); // the resource outside Concord
    try {
      const a = new Holder(endpoints, 'fence-lock', 2);
      holders.push(a);
      const tokenA = (await a.next(15_000)).token as number;
      gate.admit(tokenA);
      a.send('write from-A-1');
      assert.equal((await a.next(10_000)).result, 'ok');

      a.child.kill('SIGSTOP');
      const pausedAt = Date.now();
      const b = new Holder(endpoints, 'fence-lock', 2);
      holders.push(b);
      const tokenB = (await b.next(20_000)).token as number;
      console.log(`B got the lock ${Date.now() - pausedAt} ms after A was paused; tokens A=${tokenA} B=${tokenB}`);
      assert.ok(tokenB > tokenA, 'tokens strictly increase across holders');
      gate.admit(tokenB);
      b.send('write from-B');
      assert.equal((await b.next(10_000)).result, 'ok');

      a.child.kill('SIGCONT');
      a.send('write from-A-2');
      const late = await a.next(10_000);
      assert.equal(late.result, 'fenced', `A's guarded write after the pause: ${JSON.stringify(late)}`);
      assert.throws(() => gate.admit(tokenA), FencedError);
      assert.equal(gate.check(tokenB), true, 'the current holder is still admitted');
      assert.equal((await client.get('fenced/resource'))?.valueText, 'from-B');
      // A's lost signal fired once it ran again (its lease could not have been renewed in time).
      await sleep(200);
      a.send('write from-A-3');
      assert.equal((await a.next(10_000)).lost, true);
    } finally {
      client.close();
    }
  });
});
