#!/usr/bin/env node
/**
 * The simulator's command line (`npm run sim -- ...`):
 *   --seeds N             run seeds base..base+N-1 (base 1, or --base B, or --random-base)
 *   --seed S              replay one seed exactly; the full trace goes to --trace-file F (or stdout with --trace)
 *   --time-budget-s T     stop starting new seeds after T seconds (says so)
 *   --nodes 3|5|7         founding voters (default 3; `mixed` cycles 3, 5, 7 by seed)
 *   --scenario random|flaky-link
 *   --ticks N             fault-phase length in ticks
 *   --jobs J              worker threads (default: 2 when more than 8 seeds)
 *   --pre-vote-check-quorum on|off, --link-mode cannot-receive|cannot-send|flaky  (force settings)
 *   --stack list|kv       kv: nodes apply the log to the real MVCC store and clients run a workload
 *   --workload W|all      the kv workload (register, set, sequencer, watch, lease, lock; all: each, per seed)
 *   --stack-fault stale-reads|lose-writes|fast-lease-clock|lock-skips-wait   break the stack on purpose (the checkers must object)
 * Exit code 1 on any failure; every failure prints its seed and the command that replays it.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { LinkMode, SIM_DEFAULTS, Scenario, type LinkMode as LinkModeT, type Scenario as ScenarioT } from './params.js';
import { runFlakyLinkComparison, runSeeds, type SeedJob } from './runner.js';
import { runSimulation, SimRunError } from './simulator.js';
import type { WorkloadName } from '../../src/check/workload-histories.js';
import { STACK_WORKLOADS } from './kv-stack.js';
import { STACK_FAULTS, type StackFault } from './kv-state-machine.js';

function parseChoice<T extends string>(name: string, value: string | undefined, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) throw new Error(`--${name} must be one of ${choices.join(', ')}`);
  return value as T;
}

function parseIntArg(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${value}`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string' },
      seed: { type: 'string' },
      base: { type: 'string' },
      'random-base': { type: 'boolean', default: false },
      'time-budget-s': { type: 'string' },
      nodes: { type: 'string', default: '3' },
      scenario: { type: 'string', default: Scenario.Random },
      ticks: { type: 'string' },
      jobs: { type: 'string' },
      'trace-file': { type: 'string' },
      trace: { type: 'boolean', default: false },
      'pre-vote-check-quorum': { type: 'string' },
      'link-mode': { type: 'string' },
      runs: { type: 'string' },
      stack: { type: 'string', default: 'list' },
      workload: { type: 'string' },
      'stack-fault': { type: 'string' },
    },
    strict: true,
  });
  const scenario = parseChoice<ScenarioT>('scenario', values.scenario, [Scenario.Random, Scenario.FlakyLink])!;
  const nodesArg = values.nodes ?? '3';
  if (!['3', '5', '7', 'mixed'].includes(nodesArg)) throw new Error('--nodes must be 3, 5, 7 or mixed');
  const nodesFor = (seed: number): number => (nodesArg === 'mixed' ? [3, 5, 7][seed % 3]! : Number(nodesArg));
  const safetyTicks = parseIntArg('ticks', values.ticks) ?? SIM_DEFAULTS.safetyTicks;
  const pvcq = parseChoice('pre-vote-check-quorum', values['pre-vote-check-quorum'], ['on', 'off'] as const);
  const linkMode = parseChoice<LinkModeT>('link-mode', values['link-mode'], [LinkMode.CannotReceive, LinkMode.CannotSend, LinkMode.Flaky]);
  const budgetS = parseIntArg('time-budget-s', values['time-budget-s']);
  const stack = parseChoice('stack', values.stack, ['list', 'kv'] as const)!;
  const workloadArg = parseChoice('workload', values.workload, [...STACK_WORKLOADS, 'all']);
  if (workloadArg !== undefined && stack !== 'kv') throw new Error('--workload needs --stack kv');
  const stackFault = parseChoice<StackFault>('stack-fault', values['stack-fault'], STACK_FAULTS);
  const workloads: WorkloadName[] = stack !== 'kv' ? [] : workloadArg === 'all' ? [...STACK_WORKLOADS] : [workloadArg ?? 'register'];
  const stackOptions = (workload: WorkloadName | undefined): { stack?: 'kv'; stackWorkload?: WorkloadName; stackFault?: StackFault } =>
    workload === undefined ? {} : { stack: 'kv', stackWorkload: workload, ...(stackFault ? { stackFault } : {}) };

  if (values.seed !== undefined) {
    const seed = parseIntArg('seed', values.seed)!;
    if (workloads.length > 1) throw new Error('--seed replays one run: name one --workload');
    const started = performance.now();
    try {
      const r = runSimulation({
        seed, nodes: nodesFor(seed), scenario, safetyTicks, keepFullTrace: true,
        ...(pvcq ? { preVoteCheckQuorum: pvcq === 'on' } : {}), ...(linkMode ? { linkMode } : {}),
        ...stackOptions(workloads[0]),
      });
      writeTrace(values['trace-file'], values.trace, r.fullTrace ?? '');
      console.log(`seed ${seed}: ok in ${((performance.now() - started) / 1000).toFixed(2)} s; ticks ${r.ticks}, leader changes ${r.leaderChanges} ` +
        `(${r.leaderChangesFaulty} during faults), commits ${r.commits}, acknowledged ${r.acknowledged}, reads ${r.readsServed}, ` +
        `liveness in ${r.livenessTicks} ticks, trace ${r.traceLines} lines #${r.traceDigest}`);
      console.log(`params: ${r.params}`);
      if (r.stack) console.log(`workload ${r.stack.workload}: ${r.stack.verdict.verdict}: ${r.stack.verdict.summary}`);
      return 0;
    } catch (error) {
      if (!(error instanceof SimRunError)) throw error;
      writeTrace(values['trace-file'], values.trace, error.fullTrace ?? '');
      console.error(error.report);
      return 1;
    }
  }

  if (scenario === Scenario.FlakyLink) {
    const runs = parseIntArg('runs', values.runs) ?? parseIntArg('seeds', values.seeds) ?? 10;
    const report = await runFlakyLinkComparison({ runs, nodes: nodesFor(1), safetyTicks, ...(linkMode ? { linkMode } : {}) });
    console.log(report.text);
    return report.failures > 0 ? 1 : 0;
  }

  const count = parseIntArg('seeds', values.seeds) ?? 100;
  const base = values['random-base'] ? 1 + Math.floor(Math.random() * 2 ** 31) : parseIntArg('base', values.base) ?? 1;
  if (values['random-base']) console.log(`random base seed: ${base}`);
  const jobs: SeedJob[] = [];
  for (let i = 0; i < count; i++) {
    for (const workload of workloads.length > 0 ? workloads : [undefined]) {
      jobs.push({ seed: base + i, nodes: nodesFor(base + i), scenario, safetyTicks, ...stackOptions(workload) });
    }
  }
  const summary = await runSeeds(jobs, {
    budgetMs: budgetS !== undefined ? budgetS * 1000 : undefined,
    workers: parseIntArg('jobs', values.jobs) ?? (jobs.length > 8 ? 2 : 1),
    onFailure: (report) => console.error(report),
  });
  console.log(summary.reachedText);
  console.log(summary.text);
  return summary.failures > 0 ? 1 : 0;
}

function writeTrace(file: string | undefined, toStdout: boolean, text: string): void {
  if (file) {
    fs.writeFileSync(file, text + '\n');
    console.log(`full trace written to ${file}`);
  } else if (toStdout) {
    console.log(text);
  }
}

main().then((code) => { process.exitCode = code; }, (error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 2;
});
