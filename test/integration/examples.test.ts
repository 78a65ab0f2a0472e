import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { Concord } from '../../src/client/index.js';
import { TestCluster } from './cluster.js';

/**
 * The examples under examples/ run as a user runs them (`node examples/X.mjs`, each a child
 * process), against a real 3-member cluster named by CONCORD_ENDPOINTS, and do what they say.
 */
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const STEP_TIMEOUT_MS = 20_000;

/** Example is a running example: its output lines (stdout and stderr) as they come. */
class Example {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly waiters = new Set<() => void>();

  constructor(script: string, args: readonly string[], endpoints: string) {
    this.child = spawn(process.execPath, [path.join(root, 'examples', script), ...args], {
      cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CONCORD_ENDPOINTS: endpoints },
    });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        this.lines.push(line);
        for (const w of this.waiters) w();
      });
    }
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** waitForLine resolves with the first line from `from` on matching `pattern`. */
  async waitForLine(pattern: RegExp, from = 0, timeoutMs = STEP_TIMEOUT_MS): Promise<{ line: string; match: RegExpMatchArray; index: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = from; i < this.lines.length; i++) {
        const match = this.lines[i]!.match(pattern);
        if (match) return { line: this.lines[i]!, match, index: i };
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${this.lines.join('\n')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        const self = this;
        function done(): void {
          clearTimeout(timer);
          self.waiters.delete(done);
          resolve();
        }
        this.waiters.add(done);
      });
    }
  }

  async finish(timeoutMs = STEP_TIMEOUT_MS): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([this.exited, new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); })]);
    clearTimeout(timer);
    if (code === 'timeout') throw new Error(`the example did not finish within ${timeoutMs} ms; output:\n${this.lines.join('\n')}`);
    return code;
  }
}

describe('examples run against a real cluster', { concurrency: false }, () => {
  let cluster: TestCluster;
  let endpoints: string;
  let client: Concord;
  const running: Example[] = [];
  const pids: number[] = []; // grandchildren (the election workers), killed at the end if still alive
  const start = (script: string, ...args: string[]): Example => {
    const e = new Example(script, args, endpoints);
    running.push(e);
    return e;
  };
  before(async () => {
    cluster = await TestCluster.create(3, { extraFlags: ['--heartbeat-interval=50', '--election-timeout=500'] });
    cluster.startAll();
    await cluster.waitForLeader(20_000);
    endpoints = cluster.members.map((m) => `127.0.0.1:${m.clientPort}`).join(',');
    client = new Concord({ endpoints: endpoints.split(',') });
  });
  after(async () => {
    for (const e of running) if (e.child.exitCode === null && e.child.signalCode === null) e.child.kill('SIGKILL');
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    client?.close();
    await cluster?.destroy();
  });

  test('unique-usernames: of 20 concurrent claims one wins, the 19 others are told who won', async () => {
    const run = start('unique-usernames.mjs', 'alice');
    assert.equal(await run.finish(), 0, run.lines.join('\n'));
    const [race, ...distinct] = run.lines;
    const m = /^"alice": 1 winner \((user-\d+)\), 19 told "taken by (user-\d+)"$/.exec(race ?? '');
    assert.ok(m, `one winner and 19 told: ${race}`);
    assert.equal(m[2], m[1]);
    assert.equal((await client.get('usernames/alice'))?.valueText, m[1], 'the store names the winner');
    assert.deepEqual(distinct, ['user-100 now owns "bob"', 'user-101 now owns "carol"', 'user-102 cannot have "bob": taken by user-100']);
  });

  test('fenced-file: the stalled writer\'s stale token is refused; the file keeps the newer holder\'s write', async () => {
    const file = path.join(cluster.dir, 'fenced-report.txt');
    const run = start('fenced-file.mjs', file);
    assert.equal(await run.finish(), 0, run.lines.join('\n'));
    const slowToken = Number(/^\[slow\] holds report-file\/\w+ with token (\d+)/.exec(run.lines[0] ?? '')?.[1]);
    const fastLine = (await run.waitForLine(/^\[fast\] holds report-file\/\w+ with token (\d+)$/)).match;
    const fastToken = Number(fastLine[1]);
    assert.ok(fastToken > slowToken, `the next holder's token ${fastToken} is higher than ${slowToken}`);
    await run.waitForLine(/^\[fast\] wrote the file$/);
    await run.waitForLine(new RegExp(`^\\[slow\\] refused by the storage: CONCORD_CLIENT_FENCED: fencing token ${slowToken} is older than ${fastToken}`));
    assert.ok(!run.lines.some((l) => l.includes('should not happen')));
    assert.equal(await fs.readFile(file, 'utf8'), `written by fast (token ${fastToken})\n`);
  });

  test('service-discovery: the watcher sees instances join, leave at once on Ctrl-C, and leave after a kill -9 within the TTL', async () => {
    const watcher = start('service-discovery.mjs', 'watch', 'api');
    await watcher.waitForLine(/^watching the members of api$/);
    const a1 = start('service-discovery.mjs', 'register', 'api', 'a1');
    await a1.waitForLine(/^registered services\/api\/a1 /);
    let at = (await watcher.waitForLine(/^\+ a1 join at revision \d+ -> a1$/)).index;
    const a2 = start('service-discovery.mjs', 'register', 'api', 'a2');
    await a2.waitForLine(/^registered services\/api\/a2 /);
    at = (await watcher.waitForLine(/^\+ a2 join at revision \d+ -> a1, a2$/, at)).index;

    a1.child.kill('SIGINT'); // leaves at once (revokes its lease)
    assert.equal(await a1.finish(), 0);
    at = (await watcher.waitForLine(/^- a1 leave at revision \d+ -> a2$/, at)).index;

    a2.child.kill('SIGKILL'); // leaves when its 3 s lease expires
    await a2.exited;
    await watcher.waitForLine(/^- a2 leave at revision \d+ -> \(none\)$/, at);
    assert.deepEqual(await client.discover('api'), []);
    // Every change seen once, in revision order.
    const revisions = watcher.lines.slice(1).map((l) => Number(/at revision (\d+)/.exec(l)?.[1]));
    assert.equal(revisions.length, 4, watcher.lines.join('\n'));
    assert.deepEqual([...revisions].sort((x, y) => x - y), revisions);
    watcher.child.kill('SIGINT');
    assert.equal(await watcher.finish(), 0);
  });

  test('leader-election: one leader at a time; kill -9 of the leader hands over to another worker with a higher token', async () => {
    const run = start('leader-election.mjs');
    const started = (await run.waitForLine(/^started workers (\d+), (\d+), (\d+);/)).match;
    pids.push(...started.slice(1, 4).map(Number));
    const first = await run.waitForLine(/^\[(w\d)\] leader \(pid (\d+)\) with token (\d+)$/);
    const [, firstName, firstPid, firstToken] = first.match;
    await run.waitForLine(new RegExp(`^\\[${firstName}\\] did work item 2$`), first.index);
    const leadersBefore = run.lines.filter((l) => / leader \(pid/.test(l));
    assert.equal(leadersBefore.length, 1, `exactly one leader while the first one works: ${leadersBefore.join(' | ')}`);
    assert.ok(!run.lines.some((l) => /did work item/.test(l) && !l.startsWith(`[${firstName}]`)), 'only the leader works');
    assert.equal((await client.get('worker-heartbeat'))?.valueText.startsWith(`${firstName} #`), true);

    process.kill(Number(firstPid), 'SIGKILL');
    const second = await run.waitForLine(/^\[(w\d)\] leader \(pid (\d+)\) with token (\d+)$/, first.index + 1);
    const [, secondName, , secondToken] = second.match;
    assert.notEqual(secondName, firstName);
    assert.ok(Number(secondToken) > Number(firstToken), `the new leader's token ${secondToken} is higher than ${firstToken}`);
    await run.waitForLine(new RegExp(`^\\[${secondName}\\] did work item 1$`), second.index);
    assert.equal(run.lines.filter((l) => / leader \(pid/.test(l)).length, 2, 'one takeover, no other leader');
    const heartbeat = (await client.get('worker-heartbeat'))?.valueText ?? '';
    assert.match(heartbeat, new RegExp(`^${secondName} #\\d+ token ${secondToken}$`));

    run.child.kill('SIGINT'); // the workers resign and stop
    assert.equal(await run.finish(), 0);
  });
});
