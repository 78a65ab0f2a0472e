/**
 * Builders for hand-written histories in tests: `done(client, call, return, input, output)` and
 * `lost(client, call, input)` (unknown outcome).
 */
import type { CompletedOperation, UnknownOperation } from './history.js';

/** done builds a completed operation. */
export function done<I, O>(clientId: number, callTime: number, returnTime: number, input: I, output: O): CompletedOperation<I, O> {
  return { clientId, callTime, returnTime, input, output };
}

/** lost builds an unknown-outcome operation. */
export function lost<I>(clientId: number, callTime: number, input: I): UnknownOperation<I> {
  return { clientId, callTime, returnTime: null, input };
}
