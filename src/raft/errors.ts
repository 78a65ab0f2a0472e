/**
 * Operating errors of the Raft core, each with a stable `code`. The core never throws on peer
 * input (bad or stale messages are dropped and logged); these errors answer local calls only.
 */

export const RaftErrorCode = {
  /** A proposal was refused: no leader, forwarding disabled, transfer in progress, or over a limit. */
  ProposalDropped: 'RAFT_PROPOSAL_DROPPED',
  /** A conf change was refused (another is pending, or it is invalid for the current config). */
  ConfChangeRefused: 'RAFT_CONF_CHANGE_REFUSED',
  /** The storage has compacted the requested index. */
  Compacted: 'RAFT_COMPACTED',
  /** The storage does not have the requested index yet. */
  Unavailable: 'RAFT_UNAVAILABLE',
  /** The storage cannot produce a snapshot right now; the leader retries later. */
  SnapshotTemporarilyUnavailable: 'RAFT_SNAPSHOT_TEMPORARILY_UNAVAILABLE',
  /** A snapshot older than the storage's current one was offered. */
  SnapshotOutOfDate: 'RAFT_SNAPSHOT_OUT_OF_DATE',
} as const;
export type RaftErrorCode = (typeof RaftErrorCode)[keyof typeof RaftErrorCode];

/** RaftError is an operating error of the core; `code` is stable, `message` is for people. */
export class RaftError extends Error {
  override name = 'RaftError';
  constructor(readonly code: RaftErrorCode, message: string) {
    super(message);
  }
}

/** isRaftError tests for a RaftError with the given code. */
export function isRaftError(error: unknown, code: RaftErrorCode): error is RaftError {
  return error instanceof RaftError && error.code === code;
}
