import type { LogIndex } from '../raft/types.js';
import type { SnapshotRef, SnapshotStream } from '../storage/snapshot-store.js';

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
   * snapshotStream, when offered, captures the state at once (as of the last applied index) and
   * returns its serialized size and bytes in chunks produced over several event-loop turns
   * (applies may run meanwhile); the same bytes as `snapshot()`. Given the storage's current
   * snapshot `base` (only when the storage keeps linked snapshots), it may return a delta over
   * it instead, with the stream's `base` set; `restore` then gets the chain.
   */
  snapshotStream?(base?: SnapshotRef): SnapshotStream;
  /** restore replaces the whole state with a snapshot taken at `index` (whole, or a chain: storage/snapshot-chain.ts). */
  restore(data: Uint8Array, index: LogIndex): void;
}
