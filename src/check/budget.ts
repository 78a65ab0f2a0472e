/**
 * Budget bounds one `check` call: a step budget (deterministic, for the simulator), a wall-clock
 * budget read from an injected `now()` (the checker never reads a clock itself), and a cap on
 * the memo's memory. Shared by every partition of the call.
 */
import { CheckErrorCode, CheckInputError } from './history.js';

/** UnknownReason says which limit made a verdict 'unknown'. */
export type UnknownReason = 'time-budget' | 'step-budget' | 'memo-budget';

/** BudgetOptions are the limits of one check; all optional. */
export interface BudgetOptions {
  /** timeBudgetMs is the wall-clock time allowed; requires `now`. */
  readonly timeBudgetMs?: number;
  /** now returns the current time in milliseconds (e.g. `performance.now`). */
  readonly now?: () => number;
  /** stepBudget is the number of search steps allowed (one step = one entry visited). */
  readonly stepBudget?: number;
  /** memoBytesMax caps the estimated memory of one partition's memo; default 512 MiB. */
  readonly memoBytesMax?: number;
  /** clockEverySteps is how often (in steps) the clock and step budget are looked at; default 1024. */
  readonly clockEverySteps?: number;
}

/** MEMO_BYTES_MAX_DEFAULT is the default memo cap per partition. */
export const MEMO_BYTES_MAX_DEFAULT = 512 * 1024 * 1024;
/** CLOCK_EVERY_STEPS_DEFAULT is the default interval between budget looks. */
export const CLOCK_EVERY_STEPS_DEFAULT = 1024;

/** Budget tracks the steps spent; `spend` answers whether the search may go on. */
export class Budget {
  steps = 0;
  readonly clockEverySteps: number;
  readonly memoBytesMax: number;
  private readonly deadlineMs: number | undefined;
  private readonly now: (() => number) | undefined;
  private readonly stepBudget: number | undefined;
  readonly startMs: number | undefined;

  constructor(options: BudgetOptions) {
    const { timeBudgetMs, now, stepBudget } = options;
    if (timeBudgetMs !== undefined && now === undefined) {
      throw new CheckInputError(CheckErrorCode.BadOptions, 'timeBudgetMs needs a clock: pass now()');
    }
    for (const [name, value] of [['timeBudgetMs', timeBudgetMs], ['stepBudget', stepBudget], ['memoBytesMax', options.memoBytesMax], ['clockEverySteps', options.clockEverySteps]] as const) {
      if (value !== undefined && !(value > 0)) {
        throw new CheckInputError(CheckErrorCode.BadOptions, `${name} must be positive, got ${value}`);
      }
    }
    this.now = now;
    this.stepBudget = stepBudget;
    this.clockEverySteps = Math.floor(options.clockEverySteps ?? CLOCK_EVERY_STEPS_DEFAULT);
    this.memoBytesMax = options.memoBytesMax ?? MEMO_BYTES_MAX_DEFAULT;
    this.startMs = now?.();
    this.deadlineMs = timeBudgetMs === undefined || this.startMs === undefined ? undefined : this.startMs + timeBudgetMs;
  }

  /** spend records `steps` more steps and returns why the search must stop, or undefined. */
  spend(steps: number): UnknownReason | undefined {
    this.steps += steps;
    if (this.stepBudget !== undefined && this.steps > this.stepBudget) return 'step-budget';
    if (this.deadlineMs !== undefined && this.now!() > this.deadlineMs) return 'time-budget';
    return undefined;
  }

  /** elapsedMs returns the time since the budget was created, when a clock was given. */
  elapsedMs(): number | undefined {
    return this.startMs === undefined ? undefined : this.now!() - this.startMs;
  }
}
