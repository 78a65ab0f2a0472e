import { setMaxListeners } from 'node:events';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { performance } from 'node:perf_hooks';
import type { WorkloadHistory, WorkloadName, WorkloadVerdict } from '../../src/check/workload-histories.js';
import { checkWorkloadHistory } from '../../src/check/workloads/index.js';
import { sleep, type TestCluster } from '../integration/cluster.js';
import { endpointsOf, startCluster } from '../client/helpers.js';
import type { WorkloadContext } from './workload.js';
import { workloadByName, WORKLOADS } from './workloads/index.js';

/**
 * Each verification workload against a real 3-member cluster (real processes, TCP, fsync) for a
 * few seconds, during which the test itself kills the leader with SIGKILL and restarts it; the
 * history must pass its checker (src/check/workloads), and the same history broken on purpose
 * (one fact changed) must not.
 */

/** DURATION_MS is each workload's operation phase. */
const DURATION_MS = 5_000;
/** RUN_MS_MAX aborts a workload run that has not returned by then (a workload must never hang). */
const RUN_MS_MAX = 60_000;
/** ABORT_RETURN_MS_MAX is how long a workload may take to return once aborted (its last bounded waits). */
const ABORT_RETURN_MS_MAX = 20_000;

interface Run {
  readonly history: WorkloadHistory;
  readonly log: readonly string[];
  readonly victim: string;
}

/**
 * runWithKill runs `name` for DURATION_MS: at 30% it SIGKILLs the leader, at 60% restarts it,
 * and resolves `healed` once the run phase is over and every member agrees on a leader.
 */
async function runWithKill(cluster: TestCluster, name: WorkloadName, seed: number): Promise<Run> {
  const started = performance.now();
  const now = (): number => Math.round((performance.now() - started) * 1000) / 1000;
  const controller = new AbortController();
  // Every call of the run shares this signal (one abort listener per call in flight).
  setMaxListeners(0, controller.signal);
  const log: string[] = [];
  let resolveHealed!: () => void;
  const healed = new Promise<void>((resolve) => { resolveHealed = resolve; });
  let victim = '';
  const nemesis = (async () => {
    await sleep(DURATION_MS * 0.3);
    victim = await cluster.waitForLeader(20_000);
    log.push(`${now().toFixed(0)} kill -9 ${victim}`);
    await cluster.kill(victim);
    await sleep(DURATION_MS * 0.3);
    cluster.start(victim);
    log.push(`${now().toFixed(0)} restarted ${victim}`);
    await sleep(Math.max(0, DURATION_MS - now()));
    await cluster.waitForLeader(30_000);
    log.push(`${now().toFixed(0)} healed`);
    resolveHealed();
  })();
  nemesis.catch(() => controller.abort());
  const ctx: WorkloadContext = {
    endpoints: endpointsOf(cluster),
    durationMs: DURATION_MS,
    healed,
    signal: controller.signal,
    seed,
    now,
    log: (line) => log.push(`${now().toFixed(0)} ${line}`),
  };
  const guard = setTimeout(() => controller.abort(), RUN_MS_MAX);
  try {
    const history = await workloadByName(name).run(ctx);
    await nemesis;
    assert.equal(controller.signal.aborted, false, `${name} did not return within ${RUN_MS_MAX} ms:\n${log.join('\n')}`);
    assert.equal(history.workload, name);
    return { history, log, victim };
  } finally {
    clearTimeout(guard);
  }
}

/** judge runs the workload's checker (with a time budget for the register search). */
function judge(history: WorkloadHistory): WorkloadVerdict {
  return checkWorkloadHistory(history, { now: () => performance.now(), timeBudgetMs: 30_000 });
}

/** assertOk requires an 'ok' verdict, showing the problems and the run's log otherwise. */
function assertOk(run: Run): WorkloadVerdict {
  const verdict = judge(run.history);
  console.log(`# ${run.history.workload}: ${summarize(run.history)}; checker: ${verdict.summary}`);
  assert.equal(verdict.verdict, 'ok', `${verdict.summary}\n${verdict.problems.join('\n')}\n--- run log ---\n${run.log.join('\n')}`);
  return verdict;
}

/** assertCaught requires the checker to find a violation in a history the test broke on purpose. */
function assertCaught(broken: WorkloadHistory, what: string): void {
  const verdict = judge(broken);
  assert.equal(verdict.verdict, 'violation', `${what} went unnoticed: ${verdict.summary}`);
}

/** summarize counts a history's operations for the test log. */
function summarize(history: WorkloadHistory): string {
  switch (history.workload) {
    case 'register': {
      const unknown = history.operations.filter((o) => o.returnTime === null).length;
      return `${history.operations.length} ops (${unknown} unknown)`;
    }
    case 'set': {
      const unknown = history.adds.filter((o) => o.returnTime === null).length;
      return `${history.adds.length} adds (${unknown} unknown), final read ${history.finalRead?.elements.length ?? 'failed'}`;
    }
    case 'watch':
      return `${history.acknowledged.length} acknowledged writes, revisions ${history.startRevision}..${history.final?.revision ?? '?'}, watchers saw ${history.watchers.map((w) => w.events.length).join('/')} events`;
    case 'lock':
      return `${history.acquisitions.length} acquisitions, ${history.acknowledged.length} acknowledged / ${history.resourceLog.length} accepted / ${history.rejected.length} rejected writes`;
    case 'sequencer': {
      const unknown = history.calls.filter((o) => o.returnTime === null).length;
      return `${history.calls.length} calls (${unknown} unknown)`;
    }
    case 'lease': {
      const count = (fate: string): number => history.leases.filter((l) => l.fate === fate).length;
      return `${history.leases.length} leases (${count('revoked')} revoked, ${count('abandoned')} abandoned, ${count('kept')} kept), final read ${history.finalRead?.keys.length ?? 'failed'} keys`;
    }
  }
}

describe('verification workloads on a real cluster with the leader killed and restarted', { concurrency: false }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.destroy();
  });

  test('workloadByName knows every listed workload and refuses others', () => {
    for (const w of WORKLOADS) assert.equal(workloadByName(w.name), w);
    assert.throws(() => workloadByName('nope' as WorkloadName), /no workload named "nope"/);
  });

  test('register: random put/get/CAS/delete stay linearizable across a leader kill', async () => {
    const run = await runWithKill(cluster, 'register', 101);
    assert.equal(run.history.workload, 'register');
    const { operations } = run.history;
    const completed = operations.filter((o) => o.returnTime !== null);
    for (const type of ['get', 'put', 'cas', 'delete'] as const) {
      assert.ok(completed.some((o) => o.input.type === type), `no completed ${type}:\n${run.log.join('\n')}`);
    }
    assert.ok(completed.length >= 20, `only ${completed.length} completed operations:\n${run.log.join('\n')}`);
    assertOk(run);
    // A read answering a value nobody wrote.
    const lastGet = completed.filter((o) => o.input.type === 'get').at(-1)!;
    assertCaught({ workload: 'register', operations: operations.map((o) => (o === lastGet ? { ...lastGet, output: { value: 'never-written' } } : o)) },
      'a read of a value never written');
  });

  test('set: every acknowledged add is in the final read', async () => {
    const run = await runWithKill(cluster, 'set', 102);
    assert.equal(run.history.workload, 'set');
    const history = run.history;
    assert.ok(history.finalRead, `final read failed:\n${run.log.join('\n')}`);
    assert.ok(history.finalRead.time > DURATION_MS);
    assert.ok(history.adds.filter((a) => a.returnTime !== null).length >= 20, run.log.join('\n'));
    assertOk(run);
    const acknowledged = history.adds.find((a) => a.returnTime !== null)!;
    assertCaught({ ...history, finalRead: { ...history.finalRead, elements: history.finalRead.elements.filter((e) => e !== acknowledged.input.element) } },
      'an acknowledged add missing from the final read');
  });

  test('watch: every watcher sees every revision once, in order, matching the writes and the final read', async () => {
    const run = await runWithKill(cluster, 'watch', 103);
    assert.equal(run.history.workload, 'watch');
    const history = run.history;
    assert.ok(history.final, `final read failed:\n${run.log.join('\n')}`);
    assert.ok(history.acknowledged.length >= 20, `only ${history.acknowledged.length} acknowledged writes:\n${run.log.join('\n')}`);
    assert.equal(history.watchers.length, 3);
    assertOk(run);
    const [first, ...others] = history.watchers;
    const events = first!.events.filter((_, i) => i !== Math.floor(first!.events.length / 2));
    assertCaught({ ...history, watchers: [{ ...first!, events }, ...others] }, 'a watcher missing one event');
  });

  test('lock: the fenced resource accepts tokens in order, each from its holder, every acknowledged write', async () => {
    const run = await runWithKill(cluster, 'lock', 104);
    assert.equal(run.history.workload, 'lock');
    const history = run.history;
    assert.ok(history.acquisitions.length >= 3, `only ${history.acquisitions.length} acquisitions:\n${run.log.join('\n')}`);
    assert.ok(history.acknowledged.length >= 3, run.log.join('\n'));
    assertOk(run);
    // An older holder writing after a newer one: what a lock held twice at once produces.
    const log = history.resourceLog;
    assert.ok(new Set(log.map((w) => w.token)).size >= 2);
    assertCaught({ ...history, resourceLog: [...log.slice(1), log[0]!] }, 'a token going back in the resource log');
    assertCaught({ ...history, resourceLog: log.filter((w) => !(w.clientId === history.acknowledged[0]!.clientId && w.seq === history.acknowledged[0]!.seq)) },
      'an acknowledged write missing from the resource');
  });

  test('sequencer: numbers are unique, ordered and gapless', async () => {
    const run = await runWithKill(cluster, 'sequencer', 105);
    assert.equal(run.history.workload, 'sequencer');
    const history = run.history;
    const completed = history.calls.filter((c) => c.returnTime !== null);
    assert.ok(completed.length >= 20, run.log.join('\n'));
    assert.ok(completed.some((c) => c.input.count > 1));
    assertOk(run);
    // Two calls answered the same first number.
    const [a, b] = completed;
    assertCaught({ ...history, calls: history.calls.map((c) => (c === b ? { ...b, output: a!.output } : c)) }, 'a number handed out twice');
  });

  test('lease: kept leases keep their keys; revoked and abandoned ones lose them', async () => {
    const run = await runWithKill(cluster, 'lease', 106);
    assert.equal(run.history.workload, 'lease');
    const history = run.history;
    assert.ok(history.finalRead, `final read failed:\n${run.log.join('\n')}`);
    for (const fate of ['revoked', 'abandoned', 'kept'] as const) assert.ok(history.leases.some((l) => l.fate === fate), `no ${fate} lease:\n${run.log.join('\n')}`);
    assertOk(run);
    const ended = history.leases.find((l) => l.fate !== 'kept' && l.keys.length > 0);
    assert.ok(ended, `no revoked or abandoned lease with keys:\n${run.log.join('\n')}`);
    assertCaught({ ...history, finalRead: { ...history.finalRead, keys: [...history.finalRead.keys, ended.keys[0]!] } },
      `a key of a ${ended.fate} lease surviving`);
    const kept = history.leases.find((l) => l.fate === 'kept' && l.keys.length > 0);
    assert.ok(kept, `no kept lease with keys:\n${run.log.join('\n')}`);
    assertCaught({ ...history, finalRead: { ...history.finalRead, keys: history.finalRead.keys.filter((k) => k !== kept.keys[0]) } },
      'a key of a kept lease gone');
  });

  test('every workload returns soon after the run is aborted, even with healed never resolving', async () => {
    const controller = new AbortController();
    // Every call of every workload shares this signal (one abort listener per call in flight).
    setMaxListeners(0, controller.signal);
    const started = performance.now();
    const log: string[] = [];
    const runs = WORKLOADS.map((w, i) => w.run({
      endpoints: endpointsOf(cluster),
      durationMs: 600_000,
      healed: new Promise<void>(() => {}),
      signal: controller.signal,
      seed: 200 + i,
      now: () => performance.now() - started,
      log: (line) => log.push(line),
    }));
    await sleep(1_500);
    controller.abort();
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>((resolve) => { timer = setTimeout(() => resolve('hung'), ABORT_RETURN_MS_MAX); });
    try {
      const histories = await Promise.all(runs.map((r) => Promise.race([r, hung])));
      histories.forEach((h, i) => assert.notEqual(h, 'hung', `${WORKLOADS[i]!.name} still running ${ABORT_RETURN_MS_MAX} ms after the abort:\n${log.join('\n')}`));
      histories.forEach((h, i) => assert.equal(h !== 'hung' && h.workload, WORKLOADS[i]!.name));
    } finally {
      clearTimeout(timer);
    }
  });
});
