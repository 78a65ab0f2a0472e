import { Worker } from 'node:worker_threads';
import { WORKLOAD_NAMES, type WorkloadName } from '../../src/check/workload-histories.js';
import type { StackFault } from './kv-state-machine.js';
import { LinkMode, Scenario, type LinkMode as LinkModeT } from './params.js';
import { runSimulation, SimRunError } from './simulator.js';
import { RARE_PATHS, type RarePath } from './world.js';

/** SeedJob is one run to do: a seed and the options that are not drawn from it. */
export interface SeedJob {
  readonly seed: number;
  readonly nodes: number;
  readonly scenario: Scenario;
  readonly safetyTicks: number;
  readonly preVoteCheckQuorum?: boolean;
  readonly linkMode?: LinkModeT;
  /** stack 'kv' runs `stackWorkload` through the real MVCC store (kv-stack.ts). */
  readonly stack?: 'list' | 'kv';
  readonly stackWorkload?: WorkloadName;
  readonly stackFault?: StackFault;
}

/** SeedOutcome is what a worker reports for one job. */
export interface SeedOutcome {
  readonly job: SeedJob;
  readonly ok: boolean;
  readonly ms: number;
  readonly leaderChanges: number;
  readonly leaderChangesFaulty: number;
  readonly leaderlessTicksFaulty: number;
  readonly commits: number;
  readonly traceDigest: string;
  readonly reached: Partial<Record<RarePath, number>>;
  readonly report: string | undefined;
  /** stackVerdict is the workload's verdict of a kv run that did not fail. */
  readonly stackVerdict?: 'ok' | 'unknown';
}

/** runJob runs one job in this thread and never throws for a failed run. */
export function runJob(job: SeedJob): SeedOutcome {
  const started = performance.now();
  try {
    const r = runSimulation({
      seed: job.seed, nodes: job.nodes, scenario: job.scenario, safetyTicks: job.safetyTicks,
      ...(job.preVoteCheckQuorum !== undefined ? { preVoteCheckQuorum: job.preVoteCheckQuorum } : {}),
      ...(job.linkMode !== undefined ? { linkMode: job.linkMode } : {}),
      ...(job.stack !== undefined ? { stack: job.stack } : {}),
      ...(job.stackWorkload !== undefined ? { stackWorkload: job.stackWorkload } : {}),
      ...(job.stackFault !== undefined ? { stackFault: job.stackFault } : {}),
    });
    return {
      job, ok: true, ms: performance.now() - started, leaderChanges: r.leaderChanges,
      leaderChangesFaulty: r.leaderChangesFaulty, leaderlessTicksFaulty: r.leaderlessTicksFaulty, commits: r.commits, traceDigest: r.traceDigest,
      reached: r.stats.reached, report: undefined,
      ...(r.stack !== undefined && r.stack.verdict.verdict !== 'violation' ? { stackVerdict: r.stack.verdict.verdict } : {}),
    };
  } catch (error) {
    const report = error instanceof SimRunError ? error.report
      : `SIM FAILURE seed=${job.seed}: harness error ${error instanceof Error ? error.stack : String(error)}`;
    return { job, ok: false, ms: performance.now() - started, leaderChanges: 0, leaderChangesFaulty: 0, leaderlessTicksFaulty: 0, commits: 0, traceDigest: '', reached: {}, report };
  }
}

/** RunSeedsOptions: a time budget, a worker count and a failure callback. */
export interface RunSeedsOptions {
  readonly budgetMs?: number | undefined;
  /** workers: worker threads to use (1 runs in this thread). */
  readonly workers: number;
  readonly onFailure?: (report: string) => void;
}

/** RunSummary totals a batch of runs; `text` is the one-line summary the CLI prints. */
export interface RunSummary {
  readonly outcomes: SeedOutcome[];
  readonly seedsRun: number;
  readonly failures: number;
  readonly failedSeeds: number[];
  readonly elapsedMs: number;
  readonly overBudget: boolean;
  readonly leaderChanges: number;
  readonly commits: number;
  /** reached totals each rare path over the runs; `reachedText` lists them (unreached first). */
  readonly reached: Record<RarePath, number>;
  readonly reachedText: string;
  readonly text: string;
}

/**
 * runSeeds runs the jobs on `workers` threads (a shared queue, so a slow seed does not stall the
 * others) and stops handing out jobs once the time budget is spent.
 */
export async function runSeeds(jobs: readonly SeedJob[], options: RunSeedsOptions): Promise<RunSummary> {
  const started = performance.now();
  const outcomes: SeedOutcome[] = [];
  let next = 0;
  let overBudget = false;
  const take = (): SeedJob | undefined => {
    if (next >= jobs.length) return undefined;
    if (options.budgetMs !== undefined && performance.now() - started > options.budgetMs) {
      overBudget = true;
      return undefined;
    }
    return jobs[next++];
  };
  const record = (o: SeedOutcome): void => {
    outcomes.push(o);
    if (!o.ok && o.report) options.onFailure?.(o.report);
  };
  if (options.workers <= 1) {
    for (let job = take(); job; job = take()) record(runJob(job));
  } else {
    await Promise.all(Array.from({ length: options.workers }, () => runWorker(take, record)));
  }
  outcomes.sort((a, b) => a.job.seed - b.job.seed || Number(a.job.preVoteCheckQuorum) - Number(b.job.preVoteCheckQuorum));
  const elapsedMs = performance.now() - started;
  const failed = outcomes.filter((o) => !o.ok);
  const leaderChanges = outcomes.reduce((s, o) => s + o.leaderChanges, 0);
  const commits = outcomes.reduce((s, o) => s + o.commits, 0);
  const seconds = elapsedMs / 1000;
  const text = `${overBudget ? `time budget spent: stopped after ${outcomes.length} of ${jobs.length} seeds. ` : ''}` +
    `seeds run ${outcomes.length}, failures ${failed.length}${failed.length > 0 ? ` [${failed.map((o) => o.job.seed).join(' ')}]` : ''}, ` +
    `time ${seconds.toFixed(1)} s (${(outcomes.length / Math.max(seconds, 1e-9)).toFixed(1)} seeds/s), ` +
    `leader changes ${leaderChanges} (${(leaderChanges / Math.max(1, outcomes.length)).toFixed(1)} per run), commits ${commits}` +
    describeStackVerdicts(outcomes);
  const reached = Object.fromEntries(RARE_PATHS.map((p) => [p, 0])) as Record<RarePath, number>;
  for (const o of outcomes) for (const p of RARE_PATHS) reached[p] += o.reached[p] ?? 0;
  const reachedText = 'paths reached: ' + [...RARE_PATHS].sort((a, b) => Number(reached[a] > 0) - Number(reached[b] > 0))
    .map((p) => `${p}=${reached[p]}`).join(' ');
  return {
    outcomes, seedsRun: outcomes.length, failures: failed.length, failedSeeds: failed.map((o) => o.job.seed),
    elapsedMs, overBudget, leaderChanges, commits, reached, reachedText, text,
  };
}

/** describeStackVerdicts totals the kv runs' verdicts per workload, e.g. "; register: 10 ok, 0 unknown, 1 failed". */
function describeStackVerdicts(outcomes: readonly SeedOutcome[]): string {
  const kv = outcomes.filter((o) => o.job.stack === 'kv');
  if (kv.length === 0) return '';
  const names = WORKLOAD_NAMES.filter((name) => kv.some((o) => (o.job.stackWorkload ?? 'register') === name));
  return names.map((name) => {
    const mine = kv.filter((o) => (o.job.stackWorkload ?? 'register') === name);
    const count = (v: 'ok' | 'unknown'): number => mine.filter((o) => o.stackVerdict === v).length;
    return `; ${name}: ${count('ok')} ok, ${count('unknown')} unknown, ${mine.filter((o) => !o.ok).length} failed`;
  }).join('');
}

function runWorker(take: () => SeedJob | undefined, record: (o: SeedOutcome) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./runner-worker.js', import.meta.url));
    const feed = (): void => {
      const job = take();
      if (job) worker.postMessage(job);
      else void worker.terminate().then(() => resolve());
    };
    worker.on('message', (o: SeedOutcome) => {
      record(o);
      feed();
    });
    worker.on('error', reject);
    feed();
  });
}

/** FlakyLinkRow is one link mode's mean leader changes and leaderless ticks, with and without PreVote+CheckQuorum. */
export interface FlakyLinkRow {
  readonly mode: LinkModeT;
  readonly withPvcq: number;
  readonly withoutPvcq: number;
  readonly leaderlessWithPvcq: number;
  readonly leaderlessWithoutPvcq: number;
}

/** FlakyLinkReport compares leader changes with and without PreVote+CheckQuorum per link mode. */
export interface FlakyLinkReport {
  readonly rows: FlakyLinkRow[];
  readonly failures: number;
  readonly text: string;
}

/**
 * runFlakyLinkComparison runs the flaky-link scenario `runs` times per link mode, with
 * PreVote+CheckQuorum on and off, and reports the mean leader changes during the fault phase.
 */
export async function runFlakyLinkComparison(o: { runs: number; nodes: number; safetyTicks: number; linkMode?: LinkModeT; workers?: number }): Promise<FlakyLinkReport> {
  const modes = o.linkMode ? [o.linkMode] : [LinkMode.CannotReceive, LinkMode.CannotSend, LinkMode.Flaky];
  const jobs: SeedJob[] = [];
  for (const mode of modes) {
    for (let seed = 1; seed <= o.runs; seed++) {
      for (const pvcq of [true, false]) {
        jobs.push({ seed, nodes: o.nodes, scenario: Scenario.FlakyLink, safetyTicks: o.safetyTicks, preVoteCheckQuorum: pvcq, linkMode: mode });
      }
    }
  }
  const failures: string[] = [];
  const summary = await runSeeds(jobs, { workers: o.workers ?? 2, onFailure: (r) => failures.push(r) });
  const mean = (mode: LinkModeT, pvcq: boolean, field: 'leaderChangesFaulty' | 'leaderlessTicksFaulty'): number => {
    const xs = summary.outcomes.filter((x) => x.ok && x.job.linkMode === mode && x.job.preVoteCheckQuorum === pvcq);
    return xs.reduce((s, x) => s + x[field], 0) / Math.max(1, xs.length);
  };
  const rows: FlakyLinkRow[] = modes.map((mode) => ({
    mode,
    withPvcq: mean(mode, true, 'leaderChangesFaulty'),
    withoutPvcq: mean(mode, false, 'leaderChangesFaulty'),
    leaderlessWithPvcq: mean(mode, true, 'leaderlessTicksFaulty'),
    leaderlessWithoutPvcq: mean(mode, false, 'leaderlessTicksFaulty'),
  }));
  const lines = [
    `flaky-link scenario: ${o.nodes} nodes, node ${o.nodes}'s links faulty for ${o.safetyTicks} ticks, ${o.runs} runs per mode`,
    'per run, mean: leader changes (terms with a leader during the fault phase) / ticks without an undisputed leader',
    `  ${'link mode'.padEnd(15)} ${'PreVote+CheckQuorum on'.padStart(24)} ${'off'.padStart(16)}`,
    ...rows.map((r) => `  ${r.mode.padEnd(15)} ${`${r.withPvcq.toFixed(1)} / ${r.leaderlessWithPvcq.toFixed(0)}`.padStart(24)} ${`${r.withoutPvcq.toFixed(1)} / ${r.leaderlessWithoutPvcq.toFixed(0)}`.padStart(16)}`),
    ...failures,
    summary.text,
  ];
  return { rows, failures: failures.length, text: lines.join('\n') };
}
