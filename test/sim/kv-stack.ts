/**
 * KvStack is the whole-stack mode of a run (`--stack kv`): every node applies its log to the
 * real MVCC store (kv-state-machine.ts), simulated clients run one verification workload
 * through the simulated cluster during the fault and liveness phases (kv-workloads.ts), and once
 * the run has healed and settled, the workload's final reads complete and its history is judged
 * by `checkWorkloadHistory`. A violation fails the run (checker `workload`) like any broken
 * invariant, with the seed that replays it.
 */
import { checkWorkloadHistory } from '../../src/check/workloads/index.js';
import type { WorkloadHistory, WorkloadName, WorkloadVerdict } from '../../src/check/workload-histories.js';
import type { Prng } from '../../src/lib/prng.js';
import { unreachable } from '../../src/lib/assert.js';
import { SimFailure } from './checkers.js';
import { KvClients, SIM_MS_PER_STEP } from './kv-clients.js';
import { leaseTiming, LeaseWorkload, type LeaseTiming } from './kv-lease-workload.js';
import { LESSOR_REVOKE_RETRY_MS, SimLessors } from './kv-lessors.js';
import { LockWorkload } from './kv-lock-workload.js';
import { KvSimStateMachine, type StackFault } from './kv-state-machine.js';
import { RegisterWorkload, SequencerWorkload, SetWorkload, WatchWorkload, type StackWorkload } from './kv-workloads.js';
import type { SimNode } from './sim-node.js';
import type { World } from './world.js';

/** STACK_WORKLOADS are the workloads the whole-stack mode runs. */
export const STACK_WORKLOADS: readonly WorkloadName[] = ['register', 'set', 'sequencer', 'watch', 'lease', 'lock'];

/** FINAL_TICKS_MAX bounds the final phase (final reads, watchers catching up, answers arriving). */
const FINAL_TICKS_MAX = 600;

/** CHECK_STEP_BUDGET bounds the register checker's search (deterministic: no wall clock in a run). */
const CHECK_STEP_BUDGET = 5_000_000;

/** StackOutcome is what a whole-stack run reports. */
export interface StackOutcome {
  readonly workload: WorkloadName;
  readonly verdict: WorkloadVerdict;
  readonly history: WorkloadHistory;
  readonly finalTicks: number;
  readonly duplicatesSkipped: number;
}

/** KvStack drives one workload through the simulated cluster (see the file comment). */
export class KvStack {
  readonly clients: KvClients;
  /** lessors: the server's lessor on every node, turning lease expiry into replicated revokes. */
  readonly lessors: SimLessors;
  private readonly workload: StackWorkload;

  constructor(private readonly world: World, prng: Prng, readonly workloadName: WorkloadName, readonly fault: StackFault, electionTicks: number) {
    // Clients give up after a few election timeouts (at least 3 s).
    const timeoutTicks = Math.max(30, 3 * electionTicks);
    this.clients = new KvClients(world, prng, timeoutTicks, fault);
    this.lessors = new SimLessors(world, electionTicks, fault);
    const tickMs = 10 * SIM_MS_PER_STEP;
    const timing = leaseTiming(electionTicks * tickMs, this.lessors.promoteGraceMs, LESSOR_REVOKE_RETRY_MS, timeoutTicks * tickMs);
    this.workload = makeWorkload(workloadName, this.clients, prng, world, timing, fault, this.lessors);
  }

  /** newStateMachine is every node's state machine in this mode, with its lessor. */
  newStateMachine(): KvSimStateMachine {
    const sm = new KvSimStateMachine(this.fault);
    this.lessors.attach(sm);
    return sm;
  }

  onValueApplied(node: SimNode, value: string): void {
    this.workload.onApplied?.(node, value);
    this.clients.onValueApplied(node, value);
  }

  onReadServed(node: SimNode, context: string): void {
    this.clients.onReadServed(node, context);
  }

  /** onTick expires lost requests, runs the lessors and, before the settle phase, issues the workload's requests. */
  onTick(): void {
    this.clients.onTick();
    this.lessors.onTick();
    if (this.world.phase !== 'settle') this.workload.onTick();
    else this.workload.onSettleTick?.();
  }

  /**
   * finish runs ticks (the cluster healed) until the workload's final reads are done and every
   * request was answered or given up, then judges the history; throws SimFailure on a violation.
   */
  finish(runTick: () => void): StackOutcome {
    let ticks = 0;
    let done = false;
    while (ticks < FINAL_TICKS_MAX) {
      done = this.workload.finishTick();
      if (done && this.clients.inFlight === 0) break;
      runTick();
      ticks++;
    }
    const history = this.workload.history();
    const incomplete = !done;
    const verdict: WorkloadVerdict = incomplete && this.workloadName === 'lock'
      // The lock history needs the resource's log from the final read; without it nothing can be judged.
      ? { workload: 'lock', verdict: 'unknown', summary: 'the final read of the resource failed', problems: ['the final read of the resource failed'] }
      : checkWorkloadHistory(history, { stepBudget: CHECK_STEP_BUDGET });
    this.world.trace.add(`workload ${this.workloadName}: ${verdict.verdict}: ${verdict.summary}`);
    const stats = this.workload.stats?.();
    if (stats !== undefined) this.world.trace.add(`workload ${this.workloadName} clients: ${stats}`);
    if (verdict.verdict === 'violation') {
      throw new SimFailure('workload', `${this.workloadName}: ${verdict.summary}\n    ${verdict.problems.slice(0, 20).join('\n    ')}`);
    }
    const seen = this.workload.problems?.() ?? [];
    if (seen.length > 0) {
      throw new SimFailure('workload', `${this.workloadName}: ${seen.length} lease(s) expired early\n    ${seen.slice(0, 20).join('\n    ')}`);
    }
    let duplicatesSkipped = 0;
    for (const n of this.world.nodes) if (n.sm instanceof KvSimStateMachine) duplicatesSkipped = Math.max(duplicatesSkipped, n.sm.duplicatesSkipped);
    return { workload: this.workloadName, verdict, history, finalTicks: ticks, duplicatesSkipped };
  }
}

function makeWorkload(name: WorkloadName, clients: KvClients, prng: Prng, world: World, timing: LeaseTiming, fault: StackFault, lessors: SimLessors): StackWorkload {
  switch (name) {
    case 'register':
      return new RegisterWorkload(clients, prng);
    case 'set':
      return new SetWorkload(clients, prng);
    case 'sequencer':
      return new SequencerWorkload(clients, prng);
    case 'watch':
      return new WatchWorkload(clients, prng, world);
    case 'lease':
      return new LeaseWorkload(clients, prng, timing, (id) => lessors.renewalsAppliedAtMs.get(id));
    case 'lock':
      return new LockWorkload(clients, prng, timing, fault === 'lock-skips-wait');
    default:
      return unreachable(name);
  }
}
