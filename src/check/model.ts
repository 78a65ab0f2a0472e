/**
 * Model is the sequential specification the checker holds a history against. The checker owns no
 * model state itself: it asks the model to start (`init`), to apply one operation (`step`), and to
 * compare and hash states for its memo. States must be immutable values — `step` returns a new
 * state and never changes the one it was given, because the search keeps old states to backtrack.
 */
export interface Model<State, Input, Output> {
  /** name identifies the model in reports ("kv-register", "unique-sequence"). */
  readonly name: string;
  /** init returns the state before any operation. */
  init(): State;
  /**
   * step applies `input` to `state`. `output` is what the client observed, or undefined when the
   * outcome is unknown, in which case any output the operation could produce is accepted. Returns
   * `{ ok: false }` when the operation could not have returned `output` from `state`.
   */
  step(state: State, input: Input, output: Output | undefined): StepResult<State>;
  /** equal tells whether two states are the same (used with `hash` by the memo). */
  equal(a: State, b: State): boolean;
  /** hash returns a 32-bit integer; equal states must hash equally. */
  hash(state: State): number;
  /**
   * partitionKey, when present, splits the history into independent sub-histories (one per key)
   * that are checked separately. Only valid when operations on different keys never constrain
   * each other (P-compositionality), as for a map of independent registers.
   */
  partitionKey?(input: Input): string;
  /**
   * readOnly, when present, tells that `input` never changes the state. Unknown-outcome read-only
   * operations are then dropped before the search: they may be linearized "never" and cannot
   * affect anything else.
   */
  readOnly?(input: Input): boolean;
  /** describeOperation renders one operation for reports; `output` undefined means unknown. */
  describeOperation(input: Input, output: Output | undefined): string;
  /** describeState renders a state for reports. */
  describeState(state: State): string;
}

/** StepResult is the answer of Model.step. */
export type StepResult<State> = { readonly ok: true; readonly next: State } | { readonly ok: false };

/** STEP_ILLEGAL is the shared `{ ok: false }` answer, to spare an allocation per failed step. */
export const STEP_ILLEGAL: StepResult<never> = Object.freeze({ ok: false });

/** stepTo returns `{ ok: true, next }`. */
export function stepTo<State>(next: State): StepResult<State> {
  return { ok: true, next };
}

/** hashString returns the 32-bit FNV-1a hash of `text`'s UTF-16 code units. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mix32 scrambles a 32-bit integer (murmur3 finalizer); mix32(0) is 0. */
export function mix32(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}
