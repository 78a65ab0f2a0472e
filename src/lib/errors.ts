/**
 * ConcordError is an operating error with a stable `code` (never parse the message). Created at
 * the boundary where the condition is detected; `cause` carries the underlying error, if any.
 * `etcdMessage` is the message etcd uses for the same condition, for the etcd API layer.
 */
export const ErrorCode = {
  /** No leader is known; the request was not proposed. Safe to retry. */
  NoLeader: 'CONCORD_NO_LEADER',
  /** The request was refused before entering the log (limits, transfer in progress). Safe to retry. */
  ProposalDropped: 'CONCORD_PROPOSAL_DROPPED',
  /** The leader changed and the request is known NOT to have been applied. Safe to retry. */
  LeaderChanged: 'CONCORD_LEADER_CHANGED',
  /** The outcome is unknown: the request may or may not have been applied. */
  Timeout: 'CONCORD_TIMEOUT',
  /** The member is stopping. */
  Stopped: 'CONCORD_STOPPED',
  /** Too many requests are pending on this member. Safe to retry later. */
  TooManyRequests: 'CONCORD_TOO_MANY_REQUESTS',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const etcdMessages: Record<ErrorCode, string> = {
  CONCORD_NO_LEADER: 'etcdserver: no leader',
  CONCORD_PROPOSAL_DROPPED: 'etcdserver: request dropped',
  CONCORD_LEADER_CHANGED: 'etcdserver: leader changed',
  CONCORD_TIMEOUT: 'etcdserver: request timed out',
  CONCORD_STOPPED: 'etcdserver: server stopped',
  CONCORD_TOO_MANY_REQUESTS: 'etcdserver: too many requests',
};

export class ConcordError extends Error {
  override name = 'ConcordError';
  constructor(readonly code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }

  /** etcdMessage is etcd's text for this condition. */
  get etcdMessage(): string {
    return etcdMessages[this.code];
  }
}
