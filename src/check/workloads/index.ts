/**
 * src/check/workloads judges the histories of the verification workloads
 * (src/check/workload-histories.ts) on real clusters and in the simulator. Pure: no clock (the
 * caller passes `now()` for the register checker's time budget), no I/O. See docs/verification.md.
 */
import { unreachable } from '../../lib/assert.js';
import type { WorkloadHistory, WorkloadVerdict } from '../workload-histories.js';
import { checkLease } from './lease.js';
import { checkLock } from './lock.js';
import type { WorkloadCheckOptions } from './options.js';
import { checkRegister } from './register.js';
import { checkSequencer } from './sequencer.js';
import { checkSet } from './set.js';
import { checkWatch } from './watch.js';

export { checkLease, LEASE_TTL_UNIT_MS } from './lease.js';
export { checkLock } from './lock.js';
export type { WorkloadCheckOptions } from './options.js';
export { checkRegister } from './register.js';
export { checkSequencer } from './sequencer.js';
export { checkSet } from './set.js';
export { checkWatch } from './watch.js';
export { PROBLEMS_MAX } from './problems.js';

/** checkWorkloadHistory dispatches `history` to its workload's checker and returns the verdict. */
export function checkWorkloadHistory(history: WorkloadHistory, options: WorkloadCheckOptions = {}): WorkloadVerdict {
  switch (history.workload) {
    case 'register':
      return checkRegister(history, options);
    case 'set':
      return checkSet(history);
    case 'watch':
      return checkWatch(history);
    case 'lock':
      return checkLock(history);
    case 'sequencer':
      return checkSequencer(history);
    case 'lease':
      return checkLease(history);
    default:
      return unreachable(history, 'unknown workload');
  }
}
