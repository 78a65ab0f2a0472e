/**
 * The verification workloads by name: each drives a real cluster through the public client
 * under the harness's faults and records a history (src/check/workload-histories.ts) for the
 * checkers in src/check/workloads.
 */
import { WORKLOAD_NAMES, type WorkloadName } from '../../../src/check/workload-histories.js';
import type { Workload } from '../workload.js';
import { leaseWorkload } from './lease.js';
import { lockWorkload } from './lock.js';
import { registerWorkload } from './register.js';
import { sequencerWorkload } from './sequencer.js';
import { setWorkload } from './set.js';
import { watchWorkload } from './watch.js';

/** WORKLOADS lists every workload, in the order of WORKLOAD_NAMES. */
export const WORKLOADS: readonly Workload[] = [registerWorkload, setWorkload, watchWorkload, lockWorkload, sequencerWorkload, leaseWorkload];

if (WORKLOADS.map((w) => w.name).join() !== WORKLOAD_NAMES.join()) {
  throw new Error(`WORKLOADS (${WORKLOADS.map((w) => w.name).join()}) must follow WORKLOAD_NAMES (${WORKLOAD_NAMES.join()})`);
}

/** workloadByName returns the workload `name`; an unknown name is a clear error. */
export function workloadByName(name: WorkloadName): Workload {
  const workload = WORKLOADS.find((w) => w.name === name);
  if (!workload) throw new RangeError(`no workload named ${JSON.stringify(name)}; known: ${WORKLOADS.map((w) => w.name).join(', ')}`);
  return workload;
}
