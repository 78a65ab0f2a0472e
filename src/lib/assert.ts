/**
 * Assertions that stay on in production (TigerBeetle style). A failed assertion is a programmer
 * error: it throws an `AssertionError` that is never caught by the core; the simulator prints the
 * seed that produced it so the run can be replayed.
 */

/** AssertionError is thrown by `assert` and `unreachable`; it marks a bug, never bad input. */
export class AssertionError extends Error {
  override name = 'AssertionError';
}

/** assert throws an AssertionError with `message` when `condition` is false. */
export function assert(condition: unknown, message?: string | (() => string)): asserts condition {
  if (!condition) {
    const text = typeof message === 'function' ? message() : message;
    throw new AssertionError(text ?? 'assertion failed');
  }
}

/** unreachable marks the default branch of an exhaustive switch over a discriminated union. */
export function unreachable(value: never, message = 'unreachable'): never {
  throw new AssertionError(`${message}: ${JSON.stringify(value)}`);
}
