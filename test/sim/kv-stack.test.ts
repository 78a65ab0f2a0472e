import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WorkloadName } from '../../src/check/workload-histories.js';
import { SIM_MS_PER_STEP } from './kv-clients.js';
import { decodeStackValue, encodeStackValue } from './kv-state-machine.js';
import { STACK_WORKLOADS } from './kv-stack.js';
import { runSimulation, SimRunError } from './simulator.js';

/** SEEDS_PER_WORKLOAD: the seeds `npm test` runs per workload (a few seconds in all). */
const SEEDS_PER_WORKLOAD = 4;

function operationsOf(workload: WorkloadName, history: unknown): { total: number; unknown: number } {
  const h = history as Record<string, unknown>;
  const list = (workload === 'register' ? h['operations'] : workload === 'set' ? h['adds'] : workload === 'sequencer' ? h['calls'] : h['acknowledged']) as Array<{ returnTime?: number | null }>;
  return { total: list.length, unknown: list.filter((op) => op.returnTime === null).length };
}

for (const workload of STACK_WORKLOADS) {
  test(`whole stack: the ${workload} workload under faults is judged ok on fixed seeds`, () => {
    let operations = 0;
    let unknown = 0;
    for (let seed = 1; seed <= SEEDS_PER_WORKLOAD; seed++) {
      const r = runSimulation({ seed, stack: 'kv', stackWorkload: workload });
      assert.ok(r.stack, 'a kv run reports its workload');
      assert.equal(r.stack.workload, workload);
      assert.equal(r.stack.verdict.verdict, 'ok', `seed ${seed}: ${r.stack.verdict.summary}\n${r.stack.verdict.problems.join('\n')}`);
      const counts = operationsOf(workload, r.stack.history);
      operations += counts.total;
      unknown += counts.unknown;
    }
    // The runs did real work under faults: many operations, and (where the format records them) some unknown outcomes.
    assert.ok(operations > 100 * SEEDS_PER_WORKLOAD / 2, `${operations} operations`);
    if (workload !== 'watch') assert.ok(unknown > 0, 'faults left some outcomes unknown');
  });
}

test('whole stack: history times are simulated milliseconds', () => {
  const r = runSimulation({ seed: 2, stack: 'kv', stackWorkload: 'sequencer' });
  const history = r.stack!.history;
  assert.equal(history.workload, 'sequencer');
  const calls = history.workload === 'sequencer' ? history.calls : [];
  assert.ok(calls.length > 0);
  for (const c of calls) {
    assert.equal(c.callTime % SIM_MS_PER_STEP, 0);
    assert.ok(c.returnTime === null || c.returnTime >= c.callTime);
  }
  assert.ok(Math.max(...calls.map((c) => c.callTime)) > 10_000, 'a 400-tick fault phase spans 40 s of simulated time');
});

test('whole stack: the same seed replays the same trace, history and verdict', () => {
  for (const workload of ['register', 'watch'] as const) {
    const a = runSimulation({ seed: 7, stack: 'kv', stackWorkload: workload });
    const b = runSimulation({ seed: 7, stack: 'kv', stackWorkload: workload });
    assert.equal(a.traceDigest, b.traceDigest);
    assert.equal(a.traceLines, b.traceLines);
    assert.deepEqual(a.stack!.history, b.stack!.history);
    assert.equal(a.stack!.verdict.summary, b.stack!.verdict.summary);
    // A different seed takes another path.
    const c = runSimulation({ seed: 8, stack: 'kv', stackWorkload: workload });
    assert.notEqual(a.traceDigest, c.traceDigest);
  }
});

function expectWorkloadFailure(run: () => unknown, pattern: RegExp): SimRunError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof SimRunError, String(error));
    assert.equal(error.checker, 'workload', error.report);
    assert.match(error.report, pattern);
    assert.match(error.report, /replay: npm run sim -- --seed \d+ .*--stack kv --workload \w+ --stack-fault/);
    return error;
  }
  assert.fail('the broken stack was not caught');
}

test('whole stack, negative control: reads served from local state without ReadIndex are caught', () => {
  for (const seed of [1, 2]) {
    expectWorkloadFailure(() => runSimulation({ seed, stack: 'kv', stackWorkload: 'register', stackFault: 'stale-reads' }), /register: .*not linearizable on key/);
  }
});

test('whole stack, negative control: a state machine that drops acknowledged writes is caught', () => {
  expectWorkloadFailure(() => runSimulation({ seed: 1, stack: 'kv', stackWorkload: 'set', stackFault: 'lose-writes' }), /acknowledged add .* is missing from the final read/);
  expectWorkloadFailure(() => runSimulation({ seed: 1, stack: 'kv', stackWorkload: 'register', stackFault: 'lose-writes' }), /not linearizable/);
  expectWorkloadFailure(() => runSimulation({ seed: 1, stack: 'kv', stackWorkload: 'watch', stackFault: 'lose-writes' }), /watch: /);
});

test('whole stack: entry values carry the KV command and a proposal id', () => {
  const value = encodeStackValue('q7', { type: 'put', request: { key: new Uint8Array([1, 2, 255]), value: new Uint8Array([0]) } });
  assert.match(value, /^q7:[0-9a-f]+$/);
  const decoded = decodeStackValue(value)!;
  assert.equal(decoded.id, 'q7');
  assert.equal(decoded.command.type, 'put');
  assert.deepEqual(decoded.command.type === 'put' ? [...decoded.command.request.key] : [], [1, 2, 255]);
  assert.equal(decodeStackValue('v12'), undefined);
});
