import type { LogIndex } from '../raft/types.js';

/**
 * StateMachine is what a Raft group replicates: committed commands are applied in log order, on
 * every member, with the same result. Implementations are pure (no I/O, no clock): the result of
 * a command depends only on the state and the command.
 */
export interface StateMachine<Result> {
  /** apply executes the committed command at `index` and returns its result for the proposer. */
  apply(index: LogIndex, command: Uint8Array): Result;
  /** snapshot serializes the whole state (as of the last applied index). */
  snapshot(): Uint8Array;
  /**
   * snapshotInSteps, when offered, captures the state at once (as of the last applied index) and
   * serializes it over several event-loop turns; applies may run before it resolves.
   */
  snapshotInSteps?(): Promise<Uint8Array>;
  /** restore replaces the whole state with a snapshot taken at `index`. */
  restore(data: Uint8Array, index: LogIndex): void;
}
