/**
 * `npm run verify`: the workloads against real clusters under faults (docs/verification.md).
 *
 *   npm run verify -- [--workload W|all] [--nemesis N] [--time S] [--nodes 3|5] [--seed X]
 *                     [--out DIR] [--network auto|netns|proxy]
 *
 * For each workload: a fresh cluster, the workload for --time seconds while the nemesis injects
 * faults, heal, check (test/verify/run.ts). One line per workload; exit 1 if any run did not
 * pass (violation, unknown, crash, no heal), 2 on bad usage, 130/143 on SIGINT/SIGTERM (after
 * tearing the cluster down). The seed is printed first; the same seed replays the same workload
 * choices and fault schedule.
 */
import crypto from 'node:crypto';
import { parseArgs } from 'node:util';
import { WORKLOAD_NAMES, type WorkloadName } from '../../src/check/workload-histories.js';
import { isRoot } from './cluster-exec.js';
import { removeStaleRuns } from './cluster-teardown.js';
import { isNemesisName, NEMESIS_NAMES } from './nemesis.js';
import { runVerification, type VerificationResult } from './run.js';
import type { Workload } from './workload.js';
import { workloadByName, WORKLOADS } from './workloads/index.js';

const USAGE = `usage: npm run verify -- [--workload ${[...WORKLOAD_NAMES, 'all'].join('|')}] [--nemesis ${NEMESIS_NAMES.join('|')}]
                     [--time SECONDS] [--nodes 3|5] [--seed N] [--out DIR] [--network auto|netns|proxy]
defaults: --workload all --nemesis all --time 60 --nodes 3 --seed (random) --out verify-out --network auto
`;

class UsageError extends Error {}

interface Arguments {
  readonly workloads: readonly Workload[];
  readonly nemesis: (typeof NEMESIS_NAMES)[number];
  readonly timeS: number;
  readonly nodes: number;
  readonly seed: number;
  readonly outDir: string;
  readonly network: 'auto' | 'netns' | 'proxy';
}

function parse(argv: readonly string[]): Arguments {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        workload: { type: 'string', default: 'all' },
        nemesis: { type: 'string', default: 'all' },
        time: { type: 'string', default: '60' },
        nodes: { type: 'string', default: '3' },
        seed: { type: 'string' },
        out: { type: 'string', default: 'verify-out' },
        network: { type: 'string', default: 'auto' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const workload = values.workload;
  let workloads: Workload[];
  if (workload === 'all') workloads = [...WORKLOADS];
  else if ((WORKLOAD_NAMES as readonly string[]).includes(workload)) {
    try {
      workloads = [workloadByName(workload as WorkloadName)];
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  } else throw new UsageError(`invalid --workload ${JSON.stringify(workload)}: expected one of ${[...WORKLOAD_NAMES, 'all'].join(', ')}`);
  if (!isNemesisName(values.nemesis)) throw new UsageError(`invalid --nemesis ${JSON.stringify(values.nemesis)}: expected one of ${NEMESIS_NAMES.join(', ')}`);
  const timeS = Number(values.time);
  if (!Number.isFinite(timeS) || timeS < 1 || timeS > 86_400) throw new UsageError(`invalid --time ${JSON.stringify(values.time)}: seconds, 1..86400`);
  const nodes = Number(values.nodes);
  if (nodes !== 3 && nodes !== 5) throw new UsageError(`invalid --nodes ${JSON.stringify(values.nodes)}: expected 3 or 5`);
  const seed = values.seed === undefined ? crypto.randomBytes(4).readUInt32LE(0) : Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new UsageError(`invalid --seed ${JSON.stringify(values.seed)}: an integer 0..4294967295`);
  const network = values.network;
  if (network !== 'auto' && network !== 'netns' && network !== 'proxy') throw new UsageError(`invalid --network ${JSON.stringify(network)}: expected auto, netns or proxy`);
  return { workloads, nemesis: values.nemesis, timeS, nodes, seed, outDir: values.out, network };
}

function line(result: VerificationResult): string {
  return `verify: ${result.workload.padEnd(9)} nemesis=${result.nemesis}  ${result.outcome}  ${result.summary}, ${result.faults} faults, ${result.elapsedS} s`;
}

async function main(): Promise<number> {
  let args: Arguments;
  try {
    args = parse(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`verify: ${error.message}\n${USAGE}`);
    return 2;
  }
  const log = (text: string): void => { process.stdout.write(`  ${text}\n`); };
  const reproduce = `npm run verify -- --workload ${args.workloads.length === WORKLOADS.length ? 'all' : args.workloads.map((w) => w.name).join(',')} ` +
    `--nemesis ${args.nemesis} --time ${args.timeS} --nodes ${args.nodes} --seed ${args.seed}`;
  process.stdout.write(`verify: seed ${args.seed} (reproduce: ${reproduce})\n`);
  const stale = await removeStaleRuns({ netns: isRoot() });
  for (const s of stale) log(`removed a leftover of an earlier run: ${s}`);

  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const results: VerificationResult[] = [];
  for (const workload of args.workloads) {
    if (controller.signal.aborted) break;
    let result: VerificationResult;
    try {
      result = await runVerification({
        workload, nemesis: args.nemesis, timeS: args.timeS, nodes: args.nodes, seed: args.seed, outDir: args.outDir,
        network: args.network, signal: controller.signal, log,
      });
    } catch (error) {
      result = {
        workload: workload.name, nemesis: args.nemesis, seed: args.seed, outcome: 'failed', summary: `harness error: ${(error as Error).message}`,
        faults: 0, elapsedS: 0, mode: undefined, jsonPath: undefined, htmlPath: undefined,
      };
    }
    results.push(result);
    process.stdout.write(`${line(result)}\n`);
    if (result.outcome !== 'ok' && result.outcome !== 'skipped') {
      process.stdout.write(`  details: ${result.jsonPath ?? '(no output written)'}${result.htmlPath ? `, ${result.htmlPath}` : ''}\n`);
    }
  }
  const failed = results.filter((r) => r.outcome !== 'ok' && r.outcome !== 'skipped');
  const skipped = results.filter((r) => r.outcome === 'skipped').length;
  const passed = results.length - failed.length - skipped;
  process.stdout.write(`verify: ${passed}/${results.length} passed${skipped > 0 ? `, ${skipped} skipped` : ''}` +
    `${failed.length > 0 ? `; FAILED: ${failed.map((r) => r.workload).join(', ')}` : ''} (seed ${args.seed})\n`);
  return failed.length > 0 || controller.signal.aborted ? 1 : 0;
}

process.exitCode = await main();
