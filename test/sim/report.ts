import { AssertionError } from '../../src/lib/assert.js';
import type { NodeId } from '../../src/raft/index.js';
import { SimFailure, type CheckerName } from './checkers.js';
import { SIM_DEFAULTS, Scenario, describeParams, type LinkMode as LinkModeT } from './params.js';
import type { StackOutcome } from './kv-stack.js';
import type { SimNode } from './sim-node.js';
import type { RunStats, World } from './world.js';

/** SimResult is what one successful run reports. */
export interface SimResult {
  readonly seed: number;
  readonly nodes: number;
  readonly scenario: Scenario;
  readonly linkMode: LinkModeT | undefined;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly steps: number;
  readonly ticks: number;
  /** leaderChanges counts terms with a leader over the whole run; `leaderChangesFaulty` only during the fault phase. */
  readonly leaderChanges: number;
  readonly leaderChangesFaulty: number;
  /** leaderlessTicksFaulty counts fault-phase ticks in which no running node led the highest term. */
  readonly leaderlessTicksFaulty: number;
  /** commits is the highest index applied by any node. */
  readonly commits: number;
  readonly acknowledged: number;
  readonly readsServed: number;
  readonly livenessTicks: number;
  readonly stats: RunStats;
  readonly messagesSent: number;
  readonly messagesDropped: number;
  readonly traceDigest: string;
  readonly traceLines: number;
  readonly params: string;
  /** fullTrace is every trace line, when the options asked to keep them. */
  readonly fullTrace: string | undefined;
  /** stack is the whole-stack workload's outcome (kv runs only). */
  readonly stack?: StackOutcome;
}

/** SimRunError is a failed run: seed, step, checker, message and the trace tail to replay it. */
export class SimRunError extends Error {
  override name = 'SimRunError';
  constructor(
    readonly seed: number,
    readonly step: number,
    readonly tick: number,
    readonly checker: CheckerName,
    readonly detail: string,
    readonly report: string,
    readonly fullTrace: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(report, options);
  }
}

/** describeNodes renders each node's role, term, commit and applied index (or down/removed). */
export function describeNodes(nodes: readonly SimNode[]): string {
  return nodes.map((n) => `n${n.id}:${n.removed ? 'removed' : n.up ? `${n.role}/t${n.term}/c${n.commit}/a${n.sm.appliedIndex}` : 'down'}`).join(' ');
}

/** describeConfigs lists each node's configuration as of its applied index. */
export function describeConfigs(nodes: readonly SimNode[]): string {
  const ids = (xs: readonly NodeId[]): string => xs.join(',');
  return nodes.filter((n) => !n.removed).map((n) => {
    const cs = n.confState;
    return `n${n.id}:v[${ids(cs.voters)}]${cs.votersOutgoing.length > 0 ? `o[${ids(cs.votersOutgoing)}]` : ''}l[${ids(cs.learners)}]${cs.learnersNext.length > 0 ? `n[${ids(cs.learnersNext)}]` : ''}`;
  }).join(' ');
}

/**
 * failureReport turns what a run threw into a SimRunError whose report names the seed, step,
 * checker, parameters, node states, the replay command and the trace tail.
 */
export function failureReport(world: World, error: unknown): SimRunError {
  const checker: CheckerName = error instanceof SimFailure ? error.checker : 'core-assertion';
  const detail = error instanceof SimFailure ? error.message
    : error instanceof AssertionError ? `core assertion failed: ${error.message}`
      : `unexpected error: ${error instanceof Error ? error.stack ?? error.message : String(error)}`;
  const o = world.options;
  const replay = `npm run sim -- --seed ${o.seed} --nodes ${o.nodes}${o.scenario !== Scenario.Random ? ` --scenario ${o.scenario}` : ''}` +
    `${o.preVoteCheckQuorum !== undefined ? ` --pre-vote-check-quorum ${o.preVoteCheckQuorum ? 'on' : 'off'}` : ''}` +
    `${o.linkMode !== undefined ? ` --link-mode ${o.linkMode}` : ''}` +
    `${o.safetyTicks !== SIM_DEFAULTS.safetyTicks ? ` --ticks ${o.safetyTicks}` : ''}` +
    `${o.stack === 'kv' ? ` --stack kv --workload ${o.stackWorkload ?? 'register'}` : ''}` +
    `${o.stackFault !== undefined && o.stackFault !== 'none' ? ` --stack-fault ${o.stackFault}` : ''}`;
  const report = [
    `SIM FAILURE seed=${o.seed} step=${world.step} tick=${world.tick} phase=${world.phase} checker=${checker}`,
    `  ${detail}`,
    `  params: ${describeParams(world.params)}`,
    `  nodes: ${describeNodes(world.nodes)}`,
    `  configs (as applied): ${describeConfigs(world.nodes)}`,
    `  replay: ${replay} --trace-file sim-${o.seed}.trace`,
    `  trace tail (last ${o.traceTailLines} events):`,
    world.trace.tailText(o.traceTailLines).split('\n').map((l) => `    ${l}`).join('\n'),
  ].join('\n');
  return new SimRunError(o.seed, world.step, world.tick, checker, detail, report, world.trace.fullText(), { cause: error });
}
