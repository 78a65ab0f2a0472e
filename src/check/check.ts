/**
 * check is the checker's entry point: it validates a history, splits it into partitions by the
 * model's `partitionKey`, runs the Wing–Gong/Lowe search on each under one shared budget, and
 * returns a verdict with, when the history is not linearizable, a counterexample built from the
 * deepest point the search reached in the offending partition.
 */
import { Budget, type BudgetOptions, type UnknownReason } from './budget.js';
import { validateHistory, type History, type Operation } from './history.js';
import type { Model } from './model.js';
import { searchPartition, type Frontier, type SearchOperation } from './search.js';

/** Verdict: 'ok' linearizable; 'illegal' not linearizable; 'unknown' a budget ran out first. */
export type Verdict = 'ok' | 'illegal' | 'unknown';

/** CheckOptions bound the search (see BudgetOptions); without any, it runs to completion. */
export type CheckOptions = BudgetOptions;

/** PartitionResult is the verdict on one partition (one key). */
export interface PartitionResult {
  readonly key: string;
  readonly verdict: Verdict;
  /** operations is the number of operations of the partition the search considered. */
  readonly operations: number;
  /** droppedUnknownReads is the number of unknown-outcome read-only operations left out. */
  readonly droppedUnknownReads: number;
  readonly memoEntries: number;
  readonly unknownReason?: UnknownReason;
}

/** TimelineRole marks an operation of a counterexample. */
export type TimelineRole = 'linearized' | 'blocking' | 'pending' | 'other';

/**
 * TimelineOperation is one operation of the offending partition, ready to draw (Porcupine's
 * visualization data): `linearizationIndex` is its position in the longest linearizable prefix
 * (null when not in it) and `stateAfter` the model state after it there.
 */
export interface TimelineOperation {
  readonly historyIndex: number;
  readonly clientId: number;
  readonly callTime: number;
  /** returnTime null: unknown outcome (return at +∞). */
  readonly returnTime: number | null;
  readonly description: string;
  readonly role: TimelineRole;
  readonly linearizationIndex: number | null;
  readonly stateAfter: string | null;
}

/**
 * Counterexample is why a history is not linearizable: in partition `key`, the operations of
 * `linearizedPrefix` (history indices, in order) are linearizable, and after them none of the
 * `pending` operations can be linearized next; `blocking` (one of them) is the completed
 * operation whose return forces it to have happened by then.
 */
export interface Counterexample {
  readonly model: string;
  readonly key: string;
  readonly initialState: string;
  readonly linearizedPrefix: readonly number[];
  readonly pending: readonly number[];
  readonly blocking: number;
  readonly operations: readonly TimelineOperation[];
}

/** CheckResult is the answer of `check`. Partitions are listed in the order they were checked. */
export interface CheckResult {
  readonly verdict: Verdict;
  readonly model: string;
  readonly partitions: readonly PartitionResult[];
  /** steps is the number of search steps spent over all partitions. */
  readonly steps: number;
  /** elapsedMs is the wall-clock time taken, when a clock was given. */
  readonly elapsedMs?: number;
  readonly unknownReason?: UnknownReason;
  /** counterexample is present when the verdict is 'illegal'. */
  readonly counterexample?: Counterexample;
}

interface Partition<I, O> {
  readonly key: string;
  /** historyIndices of every operation of the partition, in history order. */
  readonly all: number[];
  /** searched are the history indices handed to the search (unknown reads dropped). */
  readonly searched: number[];
}

/**
 * check decides whether `history` is linearizable with respect to `model`. Partitions are
 * checked smallest first; the first illegal one ends the check. A budget that runs out makes the
 * current partition 'unknown' and gives each later one only a few steps, so small partitions may
 * still be decided. Throws CheckInputError for malformed histories or options.
 */
export function check<S, I, O>(history: History<I, O>, model: Model<S, I, O>, options: CheckOptions = {}): CheckResult {
  validateHistory(history);
  const budget = new Budget(options);
  const partitions = partitionHistory(history, model);
  partitions.sort((a, b) => a.searched.length - b.searched.length);

  const results: PartitionResult[] = [];
  let unknownReason: UnknownReason | undefined;
  for (const partition of partitions) {
    const ops = partition.searched.map((index) => toSearchOperation(history[index]!));
    const outcome = searchPartition(model, ops, budget);
    const base = {
      key: partition.key,
      operations: ops.length,
      droppedUnknownReads: partition.all.length - partition.searched.length,
      memoEntries: outcome.memoEntries,
    };
    if (outcome.verdict === 'unknown') {
      unknownReason ??= outcome.reason;
      results.push({ ...base, verdict: 'unknown', unknownReason: outcome.reason });
      continue;
    }
    results.push({ ...base, verdict: outcome.verdict });
    if (outcome.verdict === 'illegal') {
      return finish(budget, {
        verdict: 'illegal',
        model: model.name,
        partitions: results,
        steps: budget.steps,
        counterexample: buildCounterexample(history, model, partition, outcome.frontier),
      });
    }
  }
  if (unknownReason !== undefined) {
    return finish(budget, { verdict: 'unknown', model: model.name, partitions: results, steps: budget.steps, unknownReason });
  }
  return finish(budget, { verdict: 'ok', model: model.name, partitions: results, steps: budget.steps });
}

function finish(budget: Budget, result: CheckResult): CheckResult {
  const elapsedMs = budget.elapsedMs();
  return elapsedMs === undefined ? result : { ...result, elapsedMs };
}

function toSearchOperation<I, O>(op: Operation<I, O>): SearchOperation<I, O> {
  return op.returnTime === null
    ? { callTime: op.callTime, returnTime: null, input: op.input, output: undefined }
    : { callTime: op.callTime, returnTime: op.returnTime, input: op.input, output: op.output };
}

/** partitionHistory groups operation indices by partition key ('' without partitionKey). */
function partitionHistory<S, I, O>(history: History<I, O>, model: Model<S, I, O>): Array<Partition<I, O>> {
  const byKey = new Map<string, Partition<I, O>>();
  for (let i = 0; i < history.length; i++) {
    const op = history[i]!;
    const key = model.partitionKey?.(op.input) ?? '';
    let partition = byKey.get(key);
    if (partition === undefined) {
      partition = { key, all: [], searched: [] };
      byKey.set(key, partition);
    }
    partition.all.push(i);
    const droppable = op.returnTime === null && model.readOnly?.(op.input) === true;
    if (!droppable) partition.searched.push(i);
  }
  return [...byKey.values()];
}

/** buildCounterexample maps the search's frontier (partition-local indices) back onto the history. */
function buildCounterexample<S, I, O>(
  history: History<I, O>,
  model: Model<S, I, O>,
  partition: Partition<I, O>,
  frontier: Frontier,
): Counterexample {
  const toHistory = (local: number): number => partition.searched[local]!;
  const linearizedPrefix = frontier.prefix.map(toHistory);
  const pending = frontier.pending.map(toHistory);
  const blocking = toHistory(frontier.blocking);

  const stateAfter = new Map<number, { index: number; state: string }>();
  let state = model.init();
  linearizedPrefix.forEach((historyIndex, index) => {
    const op = history[historyIndex]!;
    const result = model.step(state, op.input, op.returnTime === null ? undefined : op.output);
    if (result.ok) state = result.next; // always: the search accepted this prefix
    stateAfter.set(historyIndex, { index, state: model.describeState(state) });
  });
  const pendingSet = new Set(pending);
  const operations = partition.all.map((historyIndex): TimelineOperation => {
    const op = history[historyIndex]!;
    const linearized = stateAfter.get(historyIndex);
    const role: TimelineRole =
      historyIndex === blocking ? 'blocking' : pendingSet.has(historyIndex) ? 'pending' : linearized !== undefined ? 'linearized' : 'other';
    return {
      historyIndex,
      clientId: op.clientId,
      callTime: op.callTime,
      returnTime: op.returnTime,
      description: model.describeOperation(op.input, op.returnTime === null ? undefined : op.output),
      role,
      linearizationIndex: linearized?.index ?? null,
      stateAfter: linearized?.state ?? null,
    };
  });
  return {
    model: model.name,
    key: partition.key,
    initialState: model.describeState(model.init()),
    linearizedPrefix,
    pending,
    blocking,
    operations,
  };
}

/** DESCRIBE_PREFIX_MAX is how many of the last prefix operations describeCheckResult lists. */
const DESCRIBE_PREFIX_MAX = 10;

/** describeCheckResult renders a one-paragraph summary of `result` for logs and test failures. */
export function describeCheckResult(result: CheckResult): string {
  const head = `${result.model}: ${result.verdict}` +
    (result.unknownReason === undefined ? '' : ` (${result.unknownReason})`) +
    ` — ${result.partitions.length} partition(s), ${result.steps} steps` +
    (result.elapsedMs === undefined ? '' : `, ${result.elapsedMs.toFixed(1)} ms`);
  const cx = result.counterexample;
  if (cx === undefined) return head;
  const byIndex = new Map(cx.operations.map((op) => [op.historyIndex, op]));
  const show = (i: number): string => {
    const op = byIndex.get(i)!;
    return `#${i} c${op.clientId} [${op.callTime}, ${op.returnTime ?? '∞'}] ${op.description}`;
  };
  const shownPrefix = cx.linearizedPrefix.slice(-DESCRIBE_PREFIX_MAX);
  const omitted = cx.linearizedPrefix.length - shownPrefix.length;
  return [
    head,
    `key ${JSON.stringify(cx.key)}: after the linearizable prefix (from ${cx.initialState})`,
    ...(omitted > 0 ? [`  … ${omitted} earlier operation(s)`] : []),
    ...shownPrefix.map((i) => `  ${show(i)}  ⇒ ${byIndex.get(i)!.stateAfter ?? ''}`),
    `no pending operation can be linearized next:`,
    ...cx.pending.map((i) => `  ${show(i)}${i === cx.blocking ? '  (returned: must be linearized by now)' : ''}`),
  ].join('\n');
}
