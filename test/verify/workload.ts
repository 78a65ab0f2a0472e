import type { WorkloadHistory, WorkloadName } from '../../src/check/workload-histories.js';

/**
 * The contract between the fault-injection harness (`npm run verify`, test/verify/main.ts) and
 * the workloads it runs (test/verify/workloads/). The harness starts a real cluster, hands the
 * workload its client endpoints and runs a nemesis (faults on a schedule) for `durationMs`; then
 * it heals every fault (restarts killed members, resumes paused ones, removes partitions) and
 * resolves `healed`. A workload issues operations until `durationMs` has passed (or `signal`
 * aborts), waits for `healed`, makes its final reads, and returns its history for the checker
 * (src/check/workloads).
 */
export interface WorkloadContext {
  /** Client URLs of every member, e.g. `http://10.77.0.2:2379`. */
  readonly endpoints: readonly string[];
  /** How long to issue operations under faults, in ms. */
  readonly durationMs: number;
  /** Resolves once every fault has been healed and the cluster has a leader again. */
  readonly healed: Promise<void>;
  /** Aborts the run (Ctrl-C, harness failure): stop promptly and return what was recorded. */
  readonly signal: AbortSignal;
  /** Seed for the workload's own choices (keys, values, operation mix), printed by the harness. */
  readonly seed: number;
  /** Milliseconds since the run started: the time base of the history. */
  now(): number;
  /** A progress line for the harness's log. */
  log(line: string): void;
}

/** Workload records one history under whatever faults the harness injects. */
export interface Workload {
  readonly name: WorkloadName;
  run(ctx: WorkloadContext): Promise<WorkloadHistory>;
}
