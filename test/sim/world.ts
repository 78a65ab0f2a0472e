import type { Prng } from '../../src/lib/prng.js';
import { Role, type NodeId } from '../../src/raft/index.js';
import type { SafetyChecker } from './checkers.js';
import type { SimNetwork } from './network.js';
import type { SimOptions, SimParams } from './params.js';
import type { SimNode } from './sim-node.js';
import type { Trace } from './trace.js';

/** Phase is where a run is: faults on, faults healed (waiting for progress), or catching up. */
export type Phase = 'safety' | 'liveness' | 'settle';

/** ScheduledEvent is a fault undone (or a node restarted) at a future tick. */
export interface ScheduledEvent {
  readonly atTick: number;
  readonly what: string;
  readonly run: () => void;
}

/** Proposal is a client write in flight: which node incarnation it was given to, and when. */
export interface Proposal {
  readonly node: NodeId;
  readonly incarnation: number;
  readonly tick: number;
}

/**
 * RARE_PATHS names the paths a run can reach that the fixed seeds must prove they reach
 * (FoundationDB's "rare paths marked so tests can prove they were reached").
 */
export const RARE_PATHS = [
  'snapshot-installed', 'joint-config-entered', 'joint-config-left', 'voter-added', 'node-removed',
  'crash-mid-ready', 'slow-fsync-ready', 'read-served', 'restart-from-checkpoint', 'restart-from-snapshot',
  'timeout-now-delivered', 'leader-stepped-down', 'proposal-forwarded', 'read-forwarded', 'log-truncated',
  'one-way-partition', 'clog', 'message-duplicated', 'removed-node-shut-down', 'stray-message',
  'applied-during-write',
] as const;
export type RarePath = (typeof RARE_PATHS)[number];

/** RunStats are the counters a run reports. */
export interface RunStats {
  crashes: number;
  restarts: number;
  proposals: number;
  proposalsRefused: number;
  reads: number;
  confChangesProposed: number;
  confChangesRefused: number;
  nodesAdded: number;
  partitions: number;
  clogs: number;
  snapshotsSent: number;
  /** reached counts each rare path taken. */
  reached: Partial<Record<RarePath, number>>;
}

/** reach counts one pass through a rare path. */
export function reach(stats: RunStats, path: RarePath): void {
  stats.reached[path] = (stats.reached[path] ?? 0) + 1;
}

/**
 * World is the state of one simulated run shared by the loop (simulator.ts), the fault injector
 * (faults.ts) and the workload (workload.ts). All randomness comes from the four PRNG streams,
 * each derived from the run's one seed.
 */
export interface World {
  readonly options: SimOptions;
  readonly params: SimParams;
  readonly netPrng: Prng;
  readonly faultPrng: Prng;
  readonly loadPrng: Prng;
  readonly network: SimNetwork;
  readonly checker: SafetyChecker;
  readonly trace: Trace;
  readonly nodes: SimNode[];
  readonly proposals: Map<string, Proposal>;
  readonly scheduled: ScheduledEvent[];
  readonly stats: RunStats;
  phase: Phase;
  tick: number;
  step: number;
  /** addNode creates (and starts) a new node with an empty configuration. */
  addNode(): SimNode;
}

/** upNodes lists running nodes in id order. */
export function upNodes(world: World): SimNode[] {
  return world.nodes.filter((n) => n.up);
}

/** currentLeader is the running node that believes it leads the highest term, if any. */
export function currentLeader(world: World): SimNode | undefined {
  let best: SimNode | undefined;
  for (const n of world.nodes) {
    if (n.up && n.role === Role.Leader && (best === undefined || n.term > best.term)) best = n;
  }
  return best;
}

/** schedule queues `run` at `atTick` (events at one tick run in the order scheduled). */
export function schedule(world: World, atTick: number, what: string, run: () => void): void {
  world.scheduled.push({ atTick, what, run });
}
