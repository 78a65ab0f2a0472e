import { setMaxListeners } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { checkWorkloadHistory } from '../../src/check/workloads/index.js';
import { escapeHtml } from '../../src/check/timeline-html.js';
import type { WorkloadHistory, WorkloadName, WorkloadVerdict } from '../../src/check/workload-histories.js';
import type { NetworkMode } from './cluster-network.js';
import { VerifyCluster, type MemberExit } from './cluster.js';
import { nemesisKinds, runNemesis, type NemesisEvent, type NemesisName } from './nemesis.js';
import type { Workload, WorkloadContext } from './workload.js';

/**
 * runVerification: one workload under one nemesis on a fresh real cluster — the unit of
 * `npm run verify` (test/verify/main.ts). Phases: start the cluster and wait for a leader; run
 * the workload while the nemesis injects faults for `timeS` seconds; heal everything and wait for
 * a leader; resolve the workload's `healed`; await its history; check it with
 * checkWorkloadHistory; write `<out>/<workload>-<nemesis>-<seed>.json` (history, verdict, the
 * nemesis log, members' own exits) and, unless the run passed, `.html` (the verdict's drawing or
 * its problems) and `-members.log` (each member's last output lines). The cluster is destroyed
 * whatever happens.
 *
 * A run passes only if the verdict is 'ok', the cluster healed, and no member exited by itself
 * except under a full disk (where stopping is a member's documented answer).
 */

/** VerificationOptions configures one run. */
export interface VerificationOptions {
  readonly workload: Workload;
  readonly nemesis: NemesisName;
  readonly timeS: number;
  readonly nodes: number;
  readonly seed: number;
  readonly outDir: string;
  readonly network: NetworkMode | 'auto';
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
  /** checkBudgetMs bounds the register checker's search (its verdict is 'unknown' past it). */
  readonly checkBudgetMs?: number;
}

/** VerificationResult is one run's outcome. */
export interface VerificationResult {
  readonly workload: WorkloadName;
  readonly nemesis: NemesisName;
  readonly seed: number;
  /** outcome: 'ok' passes; 'skipped' means the nemesis is not feasible here (reason in `summary`). */
  readonly outcome: 'ok' | 'violation' | 'unknown' | 'failed' | 'skipped';
  readonly summary: string;
  readonly faults: number;
  readonly elapsedS: number;
  readonly mode: NetworkMode | undefined;
  readonly jsonPath: string | undefined;
  readonly htmlPath: string | undefined;
}

/** HEAL_LEADER_MS_MAX bounds the wait for a leader after the final heal. */
export const HEAL_LEADER_MS_MAX = 90_000;
/** HISTORY_MS_MAX bounds the wait for the workload's history after `healed` resolves (then it is aborted). */
export const HISTORY_MS_MAX = 240_000;
/** ABORTED_HISTORY_MS_MAX bounds the wait for an aborted workload to return what it recorded. */
export const ABORTED_HISTORY_MS_MAX = 30_000;

/** nemesisSeed derives the nemesis's seed from the run seed and the workload, so each workload of `--workload all` meets another schedule. */
export function nemesisSeed(seed: number, workload: WorkloadName): number {
  let h = seed >>> 0;
  for (const ch of workload) h = Math.imul(h ^ ch.charCodeAt(0), 0x9e3779b1) >>> 0;
  return h;
}

/** runVerification runs one workload under one nemesis; see the file comment. */
export async function runVerification(options: VerificationOptions): Promise<VerificationResult> {
  const wallStart = performance.now();
  const name = options.workload.name;
  const base = `${name}-${options.nemesis}-${options.seed}`;
  const elapsedS = (): number => Math.round((performance.now() - wallStart) / 1000);
  let runStart = performance.now();
  const now = (): number => Math.round((performance.now() - runStart) * 1000) / 1000;
  const cluster = await VerifyCluster.create({ size: options.nodes, network: options.network, now, log: options.log });
  const result = (outcome: VerificationResult['outcome'], summary: string, faults: number, paths: { json?: string; html?: string } = {}): VerificationResult => ({
    workload: name, nemesis: options.nemesis, seed: options.seed, outcome, summary, faults, elapsedS: elapsedS(), mode: cluster.mode,
    jsonPath: paths.json, htmlPath: paths.html,
  });
  try {
    const { kinds, skipped } = nemesisKinds(options.nemesis, cluster.tmpfs ? undefined : cluster.tmpfsUnavailable);
    if (skipped) options.log(skipped);
    if (options.nemesis !== 'none' && kinds.length === 0) return result('skipped', skipped ?? 'no fault available', 0);

    cluster.startAll();
    await cluster.waitForLeader(60_000);

    const controller = new AbortController();
    // Every call of the run shares this signal (one abort listener per call in flight).
    setMaxListeners(0, controller.signal);
    const abort = (): void => controller.abort();
    options.signal.addEventListener('abort', abort, { once: true });
    let resolveHealed!: () => void;
    const healed = new Promise<void>((resolve) => { resolveHealed = resolve; });
    runStart = performance.now();
    const durationMs = options.timeS * 1000;
    const ctx: WorkloadContext = {
      endpoints: cluster.endpoints, durationMs, healed, signal: controller.signal, seed: options.seed, now,
      log: options.log,
    };
    const history = options.workload.run(ctx).then(
      (h): { history: WorkloadHistory } | { error: Error } => ({ history: h }),
      (error: unknown) => ({ error: error instanceof Error ? error : new Error(String(error)) }),
    );

    const events: NemesisEvent[] = await runNemesis(cluster, {
      kinds, seed: nemesisSeed(options.seed, name), durationMs, signal: controller.signal, now, log: options.log,
    });
    const faults = events.filter((e) => e.action === 'start').length;
    let healError: string | undefined;
    try {
      const leader = await cluster.healAll(HEAL_LEADER_MS_MAX);
      events.push({ time: Math.round(now()), action: 'heal', kind: 'heal-all', detail: `every fault healed; leader m${leader}` });
    } catch (error) {
      healError = (error as Error).message;
      events.push({ time: Math.round(now()), action: 'note', kind: 'heal-all', detail: `heal failed: ${healError}` });
    }
    options.log(`healed at ${(now() / 1000).toFixed(1)} s${healError ? ` (failed: ${healError})` : ''}; waiting for the history`);
    resolveHealed();

    let outcome = await within(history, HISTORY_MS_MAX);
    if (outcome === undefined) {
      options.log(`the workload did not return within ${HISTORY_MS_MAX / 1000} s of healing; aborting it`);
      controller.abort();
      outcome = await within(history, ABORTED_HISTORY_MS_MAX);
    }
    options.signal.removeEventListener('abort', abort);

    let verdict: WorkloadVerdict | undefined;
    if (outcome !== undefined && 'history' in outcome) {
      verdict = checkWorkloadHistory(outcome.history, { now: () => performance.now(), timeBudgetMs: options.checkBudgetMs ?? 120_000 });
    }
    const crashes = cluster.exits.filter((e) => !e.diskFull);
    const failures: string[] = [];
    if (outcome === undefined) failures.push('the workload never returned its history');
    else if ('error' in outcome) failures.push(`the workload failed: ${outcome.error.message}`);
    if (healError) failures.push(`the cluster did not heal: ${healError}`);
    for (const c of crashes) failures.push(`member ${c.member} exited by itself at ${(c.time / 1000).toFixed(1)} s (code ${c.code}, signal ${c.signal})`);
    if (options.signal.aborted) failures.push('aborted');

    const passed = verdict?.verdict === 'ok' && failures.length === 0;
    const summaryParts = [verdict?.summary ?? 'no verdict', ...failures];
    const report = {
      workload: name, nemesis: options.nemesis, seed: options.seed, nemesisSeed: nemesisSeed(options.seed, name),
      nodes: options.nodes, timeS: options.timeS, network: cluster.mode, tmpfs: cluster.tmpfs,
      ...(skipped ? { skipped } : {}),
      passed, failures, verdict: verdict === undefined ? null : { ...verdict, html: undefined },
      nemesisLog: events, memberExits: cluster.exits.map(stripLines),
      history: outcome !== undefined && 'history' in outcome ? outcome.history : null,
    };
    fs.mkdirSync(options.outDir, { recursive: true });
    const jsonPath = path.join(options.outDir, `${base}.json`);
    fs.writeFileSync(jsonPath, `${JSON.stringify(report, null, 1)}\n`);
    let htmlPath: string | undefined;
    if (!passed) {
      htmlPath = path.join(options.outDir, `${base}.html`);
      fs.writeFileSync(htmlPath, verdict?.html ?? problemsHtml(base, [...(verdict?.problems ?? []), ...failures], events));
      const logs = cluster.names.map((n, k) => [`== ${n} (last ${cluster.output(k + 1).length} lines)`, ...cluster.output(k + 1)].join('\n'));
      fs.writeFileSync(path.join(options.outDir, `${base}-members.log`), `${logs.join('\n')}\n`);
    }
    const verdictWord: VerificationResult['outcome'] = failures.length > 0 ? 'failed' : verdict?.verdict ?? 'failed';
    return result(verdictWord, summaryParts.join('; '), faults, { json: jsonPath, ...(htmlPath ? { html: htmlPath } : {}) });
  } finally {
    await cluster.destroy();
  }
}

function stripLines(exit: MemberExit): Omit<MemberExit, 'lastLines'> & { lastLines: readonly string[] } {
  return { ...exit, lastLines: exit.lastLines.slice(-10) };
}

async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), ms); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function problemsHtml(title: string, problems: readonly string[], events: readonly NemesisEvent[]): string {
  const items = problems.map((p) => `<li>${escapeHtml(p)}</li>`).join('\n');
  const log = events.map((e) => `${(e.time / 1000).toFixed(1)} s ${e.action} ${e.kind} ${e.detail}`).map(escapeHtml).join('\n');
  return `<!doctype html>\n<meta charset="utf-8">\n<title>${escapeHtml(title)}</title>\n<h1>${escapeHtml(title)}</h1>\n` +
    `<h2>Problems</h2>\n<ul>\n${items}\n</ul>\n<h2>Nemesis log</h2>\n<pre>${log}</pre>\n`;
}
