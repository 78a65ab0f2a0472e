/**
 * History model for the linearizability checker. A history is what clients observed: for each
 * operation, who issued it, when it was called, when (if ever) it returned, what it asked for and
 * what it got back. Times are plain numbers in any one unit the recorder chooses (ms, ns, ticks);
 * only their order matters.
 */

/**
 * CompletedOperation is an operation whose response the client received: it took effect exactly
 * once, at some instant inside [callTime, returnTime].
 */
export interface CompletedOperation<Input, Output> {
  readonly clientId: number;
  readonly callTime: number;
  readonly returnTime: number;
  readonly input: Input;
  readonly output: Output;
}

/**
 * UnknownOperation is an operation whose outcome the client never learned (timeout, lost
 * connection): it may have taken effect at any instant after callTime, or never. Its return time
 * is treated as +∞ and any output it would have produced is accepted.
 */
export interface UnknownOperation<Input> {
  readonly clientId: number;
  readonly callTime: number;
  readonly returnTime: null;
  readonly input: Input;
}

/** Operation is one entry of a history: completed, or of unknown outcome (`returnTime: null`). */
export type Operation<Input, Output> = CompletedOperation<Input, Output> | UnknownOperation<Input>;

/** History is a list of operations in any order; the checker sorts them by time. */
export type History<Input, Output> = ReadonlyArray<Operation<Input, Output>>;

/** CheckErrorCode lists the stable codes of CheckInputError. */
export const CheckErrorCode = {
  /** An operation has a non-finite call time, or returns before it is called. */
  BadTime: 'CHECK_BAD_TIME',
  /** Options are inconsistent (a time budget without a clock, a non-positive budget). */
  BadOptions: 'CHECK_BAD_OPTIONS',
} as const;
export type CheckErrorCode = (typeof CheckErrorCode)[keyof typeof CheckErrorCode];

/** CheckInputError reports a malformed history or options handed to `check`. */
export class CheckInputError extends Error {
  override name = 'CheckInputError';
  constructor(readonly code: CheckErrorCode, message: string) {
    super(message);
  }
}

/** isUnknown tells whether `op` has an unknown outcome. */
export function isUnknown<I, O>(op: Operation<I, O>): op is UnknownOperation<I> {
  return op.returnTime === null;
}

/** validateHistory throws CheckInputError(BadTime) for the first operation with impossible times. */
export function validateHistory<I, O>(history: History<I, O>): void {
  for (let i = 0; i < history.length; i++) {
    const op = history[i]!;
    if (typeof op.callTime !== 'number' || !Number.isFinite(op.callTime)) {
      throw new CheckInputError(CheckErrorCode.BadTime, `operation ${i}: call time ${String(op.callTime)} is not finite`);
    }
    if (op.returnTime !== null) {
      if (typeof op.returnTime !== 'number' || !Number.isFinite(op.returnTime)) {
        throw new CheckInputError(CheckErrorCode.BadTime, `operation ${i}: return time ${String(op.returnTime)} is not finite`);
      }
      if (op.returnTime < op.callTime) {
        throw new CheckInputError(
          CheckErrorCode.BadTime,
          `operation ${i}: returns at ${op.returnTime} before it is called at ${op.callTime}`,
        );
      }
    }
  }
}
