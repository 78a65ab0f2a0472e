/**
 * The verification workloads by name (docs/verification.md): each drives a real cluster through
 * the public client under the harness's faults and records a history for src/check/workloads.
 */
import type { WorkloadName } from '../../../src/check/workload-histories.js';
import type { Workload } from '../workload.js';
import { registerWorkload } from './register.js';
import { setWorkload } from './set.js';

/** WORKLOADS lists every workload, in the order of WORKLOAD_NAMES. */
export const WORKLOADS: readonly Workload[] = [registerWorkload, setWorkload];

/** workloadByName returns the workload `name`; an unknown name is a clear error. */
export function workloadByName(name: WorkloadName): Workload {
  const workload = WORKLOADS.find((w) => w.name === name);
  if (!workload) throw new RangeError(`no workload named ${JSON.stringify(name)}; known: ${WORKLOADS.map((w) => w.name).join(', ')}`);
  return workload;
}
