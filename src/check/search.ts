/**
 * searchPartition is the Wing–Gong linearizability search with Lowe's memoization, as in
 * Porcupine's `checkSingle`, over one partition of a history.
 *
 * The history becomes a doubly linked list of call and return entries sorted by time (calls
 * before returns at equal times, so touching operations count as concurrent). The search walks
 * the list from the head: at a call entry it tries to linearize that operation next — if the
 * model accepts it and the (linearized set, state) pair is new, the operation's call and return
 * entries are lifted out of the list and the walk restarts from the head; at a return entry it
 * has found an operation that must have taken effect already but could not, so it backtracks:
 * pops the last linearized operation, unlifts it, and tries the entry after its call.
 *
 * Unknown-outcome operations have a call entry and no return entry (a return at +∞ that the walk
 * never reaches): they may be linearized whenever they are pending, and the search succeeds as
 * soon as every completed operation is linearized, leaving the rest linearized "never". The
 * memo (VisitedSet) tells the two kinds apart, so that configurations differing only by extra
 * unknown-outcome operations taken are pruned (see memo.ts).
 */
import { assert } from '../lib/assert.js';
import type { Budget, UnknownReason } from './budget.js';
import { Bitset } from './bitset.js';
import { VisitedSet } from './memo.js';
import type { Model } from './model.js';

/** SearchOperation is one operation of a partition; `returnTime: null` marks an unknown outcome. */
export interface SearchOperation<Input, Output> {
  readonly callTime: number;
  readonly returnTime: number | null;
  readonly input: Input;
  readonly output: Output | undefined;
}

/**
 * Frontier is the deepest point the search reached: `prefix` (operation indices in linearization
 * order) is the longest linearizable prefix found; `blocking` is the completed operation whose
 * return came next and that could not be linearized; `pending` are the operations that were
 * pending there (`blocking` included), none of which could be linearized next towards a full
 * linearization.
 */
export interface Frontier {
  readonly prefix: readonly number[];
  readonly pending: readonly number[];
  readonly blocking: number;
}

/** SearchOutcome is the verdict on one partition, with the deepest frontier when it is not 'ok'. */
export type SearchOutcome =
  | { readonly verdict: 'ok'; readonly memoEntries: number }
  | { readonly verdict: 'illegal'; readonly frontier: Frontier; readonly memoEntries: number }
  | { readonly verdict: 'unknown'; readonly reason: UnknownReason; readonly frontier: Frontier | undefined; readonly memoEntries: number };

/** EntryNode is one call or return entry of the list; `match` links a call to its return. */
interface EntryNode {
  readonly op: number;
  readonly time: number;
  readonly isCall: boolean;
  match: EntryNode | null;
  prev: EntryNode | null;
  next: EntryNode | null;
}

/** buildEntryList returns the sentinel head of the time-sorted entry list of `ops`. */
function buildEntryList<I, O>(ops: ReadonlyArray<SearchOperation<I, O>>): EntryNode {
  const nodes: EntryNode[] = [];
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    const call: EntryNode = { op: i, time: op.callTime, isCall: true, match: null, prev: null, next: null };
    nodes.push(call);
    if (op.returnTime !== null) {
      const ret: EntryNode = { op: i, time: op.returnTime, isCall: false, match: null, prev: null, next: null };
      call.match = ret;
      nodes.push(ret);
    }
  }
  nodes.sort((a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall) || a.op - b.op);
  const head: EntryNode = { op: -1, time: -Infinity, isCall: false, match: null, prev: null, next: null };
  let last = head;
  for (const node of nodes) {
    last.next = node;
    node.prev = last;
    last = node;
  }
  return head;
}

/** lift unlinks a call entry and its return entry (if any) from the list. */
function lift(call: EntryNode): void {
  call.prev!.next = call.next;
  if (call.next !== null) call.next.prev = call.prev;
  const ret = call.match;
  if (ret !== null) {
    ret.prev!.next = ret.next;
    if (ret.next !== null) ret.next.prev = ret.prev;
  }
}

/** unlift relinks what `lift(call)` unlinked; calls must be unlifted in reverse order of lifting. */
function unlift(call: EntryNode): void {
  const ret = call.match;
  if (ret !== null) {
    ret.prev!.next = ret;
    if (ret.next !== null) ret.next.prev = ret;
  }
  call.prev!.next = call;
  if (call.next !== null) call.next.prev = call;
}

/** searchPartition decides whether `ops` is linearizable with respect to `model`, within `budget`. */
export function searchPartition<S, I, O>(
  model: Model<S, I, O>,
  ops: ReadonlyArray<SearchOperation<I, O>>,
  budget: Budget,
): SearchOutcome {
  const head = buildEntryList(ops);
  // Linearized operations, as two bitsets: completed ones and unknown-outcome ones, each indexed
  // by the operation's rank within its kind (slot), so the memo can compare them separately.
  const slot = new Int32Array(ops.length);
  let completedCount = 0;
  let unknownCount = 0;
  ops.forEach((op, i) => {
    slot[i] = op.returnTime === null ? unknownCount++ : completedCount++;
  });
  const linearizedCompleted = new Bitset(completedCount);
  const linearizedUnknown = new Bitset(unknownCount);
  const mark = (call: EntryNode): void => (call.match === null ? linearizedUnknown : linearizedCompleted).set(slot[call.op]!);
  const unmark = (call: EntryNode): void => (call.match === null ? linearizedUnknown : linearizedCompleted).clear(slot[call.op]!);
  const visited = new VisitedSet<S>(model.equal);
  const stackCalls: EntryNode[] = [];
  const stackStates: S[] = [];
  let remainingCompleted = completedCount;

  let frontier: Frontier | undefined;
  const recordFrontier = (blocking: EntryNode): void => {
    if (frontier !== undefined && frontier.prefix.length >= stackCalls.length) return;
    const pending: number[] = [];
    for (let n = head.next; n !== null && n !== blocking; n = n.next) if (n.isCall) pending.push(n.op);
    frontier = { prefix: stackCalls.map((c) => c.op), pending, blocking: blocking.op };
  };

  const clockEverySteps = budget.clockEverySteps;
  let stepsSinceLook = 0;
  let state = model.init();
  let node = head.next;
  while (remainingCompleted > 0) {
    if (++stepsSinceLook === clockEverySteps) {
      stepsSinceLook = 0;
      const reason = budget.spend(clockEverySteps) ?? (visited.bytes > budget.memoBytesMax ? 'memo-budget' : undefined);
      if (reason !== undefined) return { verdict: 'unknown', reason, frontier, memoEntries: visited.size };
    }
    // A completed operation's return entry is still in the list, so the walk meets it first.
    assert(node !== null, 'linearizability search ran off the entry list with completed operations left');
    if (node.isCall) {
      const op = ops[node.op]!;
      const result = model.step(state, op.input, op.output);
      if (result.ok) {
        mark(node);
        const fresh = visited.addIfAbsent(
          linearizedCompleted.words, linearizedCompleted.hash, linearizedUnknown.words, result.next, model.hash(result.next),
        );
        if (fresh) {
          stackCalls.push(node);
          stackStates.push(state);
          state = result.next;
          lift(node);
          if (node.match !== null) remainingCompleted--;
          node = head.next;
          continue;
        }
        unmark(node);
      }
      node = node.next;
    } else {
      recordFrontier(node);
      const call = stackCalls.pop();
      if (call === undefined) {
        budget.spend(stepsSinceLook);
        return { verdict: 'illegal', frontier: frontier!, memoEntries: visited.size };
      }
      state = stackStates.pop()!;
      unmark(call);
      unlift(call);
      if (call.match !== null) remainingCompleted++;
      node = call.next;
    }
  }
  budget.spend(stepsSinceLook);
  return { verdict: 'ok', memoEntries: visited.size };
}
