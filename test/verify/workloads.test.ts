import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { check, kvModel } from '../../src/check/index.js';
import type { WorkloadHistory, WorkloadName } from '../../src/check/workload-histories.js';
import { sleep, type TestCluster } from '../integration/cluster.js';
import { endpointsOf, startCluster } from '../client/helpers.js';
import type { WorkloadContext } from './workload.js';
import { workloadByName, WORKLOADS } from './workloads/index.js';

/**
 * Each verification workload against a real 3-member cluster (real processes, TCP, fsync) for a
 * few seconds, during which the test itself kills the leader with SIGKILL and restarts it; the
 * history must be well formed and pass its check.
 */

/** DURATION_MS is each workload's operation phase. */
const DURATION_MS = 4_000;
/** RUN_MS_MAX aborts a workload run that has not returned by then (a workload must never hang). */
const RUN_MS_MAX = 60_000;

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

/** judge checks a history the way its checker will: a list of problems (empty: ok). */
function judge(history: WorkloadHistory): string[] {
  switch (history.workload) {
    case 'register': {
      const result = check(history.operations, kvModel);
      return result.verdict === 'ok' ? [] : [`register history is ${result.verdict}`];
    }
    case 'set': {
      if (!history.finalRead) return ['set final read failed'];
      const final = new Set(history.finalRead.elements);
      const attempted = new Set(history.adds.map((a) => a.input.element));
      return [
        ...history.adds.filter((a) => a.returnTime !== null && !final.has(a.input.element)).map((a) => `acknowledged ${a.input.element} lost`),
        ...history.finalRead.elements.filter((e) => !attempted.has(e)).map((e) => `unexpected element ${e}`),
      ];
    }
    default:
      return [`no check for ${history.workload} yet`];
  }
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
    default:
      return '';
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
    const { history, log } = await runWithKill(cluster, 'register', 101);
    assert.equal(history.workload, 'register');
    console.log(`# register: ${summarize(history)}`);
    const completed = history.operations.filter((o) => o.returnTime !== null);
    for (const type of ['get', 'put', 'cas', 'delete'] as const) {
      assert.ok(completed.some((o) => o.input.type === type), `no completed ${type}:\n${log.join('\n')}`);
    }
    assert.ok(completed.length >= 20, `only ${completed.length} completed operations`);
    assert.deepEqual(judge(history), [], log.join('\n'));
    // The check is real: a read answering a value nobody wrote is caught.
    const lastGet = completed.filter((o) => o.input.type === 'get').at(-1)!;
    const forged = history.operations.map((o) => (o === lastGet ? { ...lastGet, output: { value: 'never-written' } } : o));
    assert.notDeepEqual(judge({ workload: 'register', operations: forged }), []);
  });

  test('set: every acknowledged add is in the final read', async () => {
    const { history, log } = await runWithKill(cluster, 'set', 102);
    assert.equal(history.workload, 'set');
    console.log(`# set: ${summarize(history)}`);
    assert.ok(history.finalRead, `final read failed:\n${log.join('\n')}`);
    assert.ok(history.adds.filter((a) => a.returnTime !== null).length >= 20);
    assert.ok(history.finalRead.time > DURATION_MS);
    assert.deepEqual(judge(history), [], log.join('\n'));
    const acknowledged = history.adds.find((a) => a.returnTime !== null)!;
    const dropped = { ...history.finalRead, elements: history.finalRead.elements.filter((e) => e !== acknowledged.input.element) };
    assert.notDeepEqual(judge({ ...history, finalRead: dropped }), []);
  });
});
