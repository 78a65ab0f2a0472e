/** WorkloadCheckOptions bound the workload checkers (only the register checker searches). */
export interface WorkloadCheckOptions {
  /** now returns the current time in milliseconds (e.g. `performance.now`); the checkers never read a clock themselves. */
  readonly now?: () => number;
  /** timeBudgetMs is the wall-clock time the register checker may search; used only together with `now`. */
  readonly timeBudgetMs?: number;
  /** stepBudget bounds the register checker's search in steps (deterministic, for the simulator). */
  readonly stepBudget?: number;
}
