/**
 * checkRegister judges a register history: linearizability against the register-per-key model
 * (`kvModel`), with a drawn timeline of the offending key when it is not linearizable and
 * 'unknown' when the time budget ran out first.
 */
import { check, describeCheckResult } from '../check.js';
import { kvModel } from '../kv-model.js';
import { renderTimelineHtml } from '../timeline-html.js';
import type { RegisterHistory, WorkloadVerdict } from '../workload-histories.js';
import type { WorkloadCheckOptions } from './options.js';

/** checkRegister runs the linearizability checker on `history` (see the file comment). */
export function checkRegister(history: RegisterHistory, options: WorkloadCheckOptions = {}): WorkloadVerdict {
  const ops = history.operations;
  const unknown = ops.filter((op) => op.returnTime === null).length;
  const head = `${ops.length} ops (${unknown} unknown)`;
  const budget = {
    ...(options.timeBudgetMs === undefined || options.now === undefined ? {} : { timeBudgetMs: options.timeBudgetMs, now: options.now }),
    ...(options.stepBudget === undefined ? {} : { stepBudget: options.stepBudget }),
  };
  const result = check(ops, kvModel, budget);
  switch (result.verdict) {
    case 'ok':
      return { workload: 'register', verdict: 'ok', summary: `${head}: linearizable`, problems: [] };
    case 'unknown':
      return {
        workload: 'register',
        verdict: 'unknown',
        summary: `${head}: unknown (${result.unknownReason ?? 'budget'} ran out after ${result.steps} steps)`,
        problems: [describeCheckResult(result)],
      };
    case 'illegal': {
      const key = result.counterexample?.key ?? '?';
      return {
        workload: 'register',
        verdict: 'violation',
        summary: `${head}: not linearizable on key ${JSON.stringify(key)}`,
        problems: describeCheckResult(result).split('\n'),
        html: renderTimelineHtml(result),
      };
    }
  }
}
