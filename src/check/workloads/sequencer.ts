/**
 * checkSequencer judges a sequencer history, per counter name: completed calls' ranges
 * [first, first + count) are disjoint and start at 1 or above; a call that returned before
 * another was called got a lower first number; and the numbers from 1 up to the highest number
 * handed out are gapless except for numbers unknown-outcome calls could have taken. An unknown
 * call can take only numbers above every range returned before it was called, and it takes
 * `count` of them, so the check is: at every number n, the uncovered numbers up to n are no more
 * than the counts of the unknown calls allowed to reach down to n (necessary, hence sound; it
 * ignores that each unknown call's numbers are contiguous).
 */
import type { Operation } from '../history.js';
import type { SequencerHistory, WorkloadVerdict } from '../workload-histories.js';
import { parseDecimal, Problems, showTime } from './problems.js';

type Call = Operation<{ readonly name: string; readonly count: number }, { readonly first: string }>;

interface Range {
  readonly index: number;
  readonly call: Call;
  readonly first: bigint;
  /** end is one past the last number of the range. */
  readonly end: bigint;
}

/** checkSequencer checks `history` (see the file comment). */
export function checkSequencer(history: SequencerHistory): WorkloadVerdict {
  const problems = new Problems();
  const byName = new Map<string, Array<{ index: number; call: Call }>>();
  history.calls.forEach((call, index) => {
    const list = byName.get(call.input.name) ?? [];
    list.push({ index, call });
    byName.set(call.input.name, list);
  });
  let numbers = 0n;
  for (const [name, calls] of [...byName].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    numbers += checkCounter(name, calls, problems);
  }
  const unknown = history.calls.filter((c) => c.returnTime === null).length;
  const head = `${history.calls.length} calls (${unknown} unknown) on ${byName.size} counter(s)`;
  return problems.verdict('sequencer', head, `${numbers} numbers unique, ordered and gapless`);
}

function describeCall(name: string, index: number, call: Call): string {
  const out = call.returnTime === null ? '?' : (call as { output: { first: string } }).output.first;
  return `call #${index} ${JSON.stringify(name)} ×${call.input.count} (client ${call.clientId}, [${call.callTime}, ${showTime(call.returnTime)}]) → ${out}`;
}

/** checkCounter checks one counter's calls and returns how many numbers its completed calls hold. */
function checkCounter(name: string, calls: ReadonlyArray<{ index: number; call: Call }>, problems: Problems): bigint {
  const ranges: Range[] = [];
  const unknowns: Array<{ index: number; call: Call }> = [];
  for (const { index, call } of calls) {
    if (!Number.isSafeInteger(call.input.count) || call.input.count < 1) {
      problems.violation(`${describeCall(name, index, call)}: count is not a positive integer`);
      continue;
    }
    if (call.returnTime === null) {
      unknowns.push({ index, call });
      continue;
    }
    const first = parseDecimal((call as { output: { first: string } }).output.first);
    if (first === null || first < 1n) {
      problems.violation(`${describeCall(name, index, call)}: first number is not a positive decimal`);
      continue;
    }
    ranges.push({ index, call, first, end: first + BigInt(call.input.count) });
  }
  // Uniqueness: sorted by first, each range must end before the next begins.
  const sorted = [...ranges].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : a.index - b.index));
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.first < prev.end) {
      problems.violation(
        `number ${cur.first} handed out twice: ${describeCall(name, prev.index, prev.call)} and ${describeCall(name, cur.index, cur.call)}`,
      );
    }
  }
  // Real-time order: sweep calls by call time, folding in ranges returned strictly before.
  const byReturn = [...ranges].sort((a, b) => a.call.returnTime! - b.call.returnTime!);
  const byCall = [...ranges].sort((a, b) => a.call.callTime - b.call.callTime);
  let r = 0;
  let highest: Range | null = null;
  for (const b of byCall) {
    while (r < byReturn.length && byReturn[r]!.call.returnTime! < b.call.callTime) {
      const a = byReturn[r++]!;
      if (highest === null || a.first > highest.first) highest = a;
    }
    if (highest !== null && !(highest.first < b.first)) {
      problems.violation(
        `real-time order broken: ${describeCall(name, highest.index, highest.call)} returned before ` +
          `${describeCall(name, b.index, b.call)} was called but did not get a lower number`,
      );
    }
  }
  checkGapless(name, sorted, byReturn, unknowns, problems);
  return ranges.reduce((sum, range) => sum + (range.end - range.first), 0n);
}

/** checkGapless applies the gap rule of the file comment to one counter. */
function checkGapless(
  name: string,
  sorted: readonly Range[],
  byReturn: readonly Range[],
  unknowns: ReadonlyArray<{ index: number; call: Call }>,
  problems: Problems,
): void {
  // Uncovered intervals [from, to] below the highest handed-out number.
  const gaps: Array<{ from: bigint; to: bigint }> = [];
  let next = 1n;
  for (const range of sorted) {
    if (range.first > next) gaps.push({ from: next, to: range.first - 1n });
    if (range.end > next) next = range.end;
  }
  if (gaps.length === 0) return;
  // The lowest number each unknown call could have taken: above every range returned before it was called.
  const floors: Array<{ floor: bigint; count: bigint }> = unknowns.map(({ call }) => {
    let floor = 1n;
    for (const a of byReturn) {
      if (a.call.returnTime! >= call.callTime) break;
      if (a.end > floor) floor = a.end;
    }
    return { floor, count: BigInt(call.input.count) };
  });
  floors.sort((a, b) => (a.floor < b.floor ? -1 : a.floor > b.floor ? 1 : 0));
  // Check points: each gap's end, and each number just below an unknown call's floor.
  const points = [...gaps.map((g) => g.to), ...floors.map((f) => f.floor - 1n)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const uncoveredUpTo = (n: bigint): bigint => {
    let total = 0n;
    for (const g of gaps) {
      if (g.from > n) break;
      total += (g.to < n ? g.to : n) - g.from + 1n;
    }
    return total;
  };
  let f = 0;
  let capacity = 0n;
  for (const n of points) {
    if (n < 1n) continue;
    while (f < floors.length && floors[f]!.floor <= n) capacity += floors[f++]!.count;
    const uncovered = uncoveredUpTo(n);
    if (uncovered > capacity) {
      const gap = gaps.find((g) => g.from <= n)!;
      problems.violation(
        `counter ${JSON.stringify(name)}: ${uncovered} number(s) up to ${n} were never handed out ` +
          `(first gap ${gap.from}..${gap.to}) but unknown-outcome calls could take at most ${capacity} of them`,
      );
      return;
    }
  }
}
