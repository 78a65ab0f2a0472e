/**
 * The client's one error class, ConcordClientError, with a stable `code` (never parse the
 * message), the gRPC status code when the server answered one, and etcd's message as sent.
 * Subclasses add fields for conditions a caller handles specially (compaction, fencing).
 */

/** ClientErrorCode is the stable code of a client error. */
export const ClientErrorCode = {
  /** No endpoint could be reached; the request was never sent. Safe to retry later. */
  Unavailable: 'CONCORD_CLIENT_UNAVAILABLE',
  /**
   * A write was sent but its outcome is unknown (timeout, connection lost after sending, the
   * member stopped): it may or may not have been applied. Never retried by the client; read the
   * state back (or use an idempotent operation) before trying again.
   */
  OutcomeUnknown: 'CONCORD_CLIENT_OUTCOME_UNKNOWN',
  /** A read did not complete within the request timeout (reads are retried until then). */
  Timeout: 'CONCORD_CLIENT_TIMEOUT',
  /** The cluster has no leader (or it kept changing) for the whole request timeout. */
  NoLeader: 'CONCORD_CLIENT_NO_LEADER',
  /** The requested revision was compacted (`etcdserver: mvcc: required revision has been compacted`). */
  Compacted: 'CONCORD_CLIENT_COMPACTED',
  /** A watch start revision was compacted: see WatchCompactedError.compactRevision. */
  WatchCompacted: 'CONCORD_CLIENT_WATCH_COMPACTED',
  /** The lease does not exist (expired or revoked): `etcdserver: requested lease not found`. */
  LeaseNotFound: 'CONCORD_CLIENT_LEASE_NOT_FOUND',
  /** The lease was lost: the server said TTL 0, or it could not be renewed before it may have expired. */
  LeaseLost: 'CONCORD_CLIENT_LEASE_LOST',
  /**
   * A session write could not be answered because the session ended: its lease expired or was
   * revoked, so the server forgot the session (`concord: session lease not found`). A write that
   * was sent may have been applied once; it is never applied twice. Start a new session.
   */
  SessionExpired: 'CONCORD_CLIENT_SESSION_EXPIRED',
  /**
   * The server no longer holds the result of a session write it is asked again
   * (`concord: session seq is at or below ...`): the outcome is unknown, never applied twice.
   */
  SessionSeqTooOld: 'CONCORD_CLIENT_SESSION_SEQ_TOO_OLD',
  /** A guarded write was refused: the lock (or leadership) behind its fencing token is gone. */
  Fenced: 'CONCORD_CLIENT_FENCED',
  /** An STM transaction kept conflicting with concurrent writes until its retries ran out. */
  Conflict: 'CONCORD_CLIENT_CONFLICT',
  /** The election has no leader right now. */
  NoElectionLeader: 'CONCORD_CLIENT_NO_ELECTION_LEADER',
  /** The request is invalid (bad argument, too large, too many operations). */
  InvalidArgument: 'CONCORD_CLIENT_INVALID_ARGUMENT',
  /** The caller aborted the operation (its AbortSignal fired). */
  Aborted: 'CONCORD_CLIENT_ABORTED',
  /** The client was closed. */
  Closed: 'CONCORD_CLIENT_CLOSED',
  /** The server answered an error with no more specific code; see grpcCode and message. */
  Server: 'CONCORD_CLIENT_SERVER_ERROR',
  /** The server's answer could not be understood (bad frame, wrong content type). */
  Protocol: 'CONCORD_CLIENT_PROTOCOL',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** GRPC_STATUS holds the gRPC status codes the client looks at. */
export const GRPC_STATUS = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  FAILED_PRECONDITION: 9,
  OUT_OF_RANGE: 11,
  UNAVAILABLE: 14,
} as const;

/** ConcordClientErrorOptions are the optional details of an error. */
export interface ConcordClientErrorOptions {
  /** grpcCode is the gRPC status the server answered, if it answered one. */
  readonly grpcCode?: number;
  /** endpoint is the endpoint that failed, when one did. */
  readonly endpoint?: string;
  readonly cause?: unknown;
}

/** ConcordClientError is every error the client raises. */
export class ConcordClientError extends Error {
  override name = 'ConcordClientError';
  readonly code: ClientErrorCode;
  readonly grpcCode: number | undefined;
  readonly endpoint: string | undefined;

  constructor(code: ClientErrorCode, message: string, options: ConcordClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.grpcCode = options.grpcCode;
    this.endpoint = options.endpoint;
  }
}

/** WatchCompactedError ends a watch whose next revision was compacted away: nothing is skipped silently. */
export class WatchCompactedError extends ConcordClientError {
  override name = 'WatchCompactedError';
  /** compactRevision is the oldest revision still available; restart from it (after re-reading state). */
  readonly compactRevision: number;
  /** requestedRevision is the revision the watch needed next. */
  readonly requestedRevision: number;

  constructor(compactRevision: number, requestedRevision: number) {
    super(ClientErrorCode.WatchCompacted,
      `watch needs revision ${requestedRevision} but the history was compacted up to ${compactRevision}`);
    this.compactRevision = compactRevision;
    this.requestedRevision = requestedRevision;
  }
}

/** FencedError refuses a guarded operation: the lock key no longer has the holder's create revision. */
export class FencedError extends ConcordClientError {
  override name = 'FencedError';
  readonly token: number;

  constructor(message: string, token: number) {
    super(ClientErrorCode.Fenced, message);
    this.token = token;
  }
}

/**
 * errorFromStatus maps a gRPC status answered by the server to a client error, keeping etcd's
 * message and the status code.
 */
export function errorFromStatus(grpcCode: number, message: string, endpoint: string): ConcordClientError {
  const opts = { grpcCode, endpoint };
  if (message.includes('required revision has been compacted')) return new ConcordClientError(ClientErrorCode.Compacted, message, opts);
  if (message.includes('requested lease not found')) return new ConcordClientError(ClientErrorCode.LeaseNotFound, message, opts);
  if (message.startsWith('concord: session lease not found')) return new ConcordClientError(ClientErrorCode.SessionExpired, message, opts);
  if (message.startsWith('concord: session seq is at or below')) return new ConcordClientError(ClientErrorCode.SessionSeqTooOld, message, opts);
  if (message === 'election: no leader') return new ConcordClientError(ClientErrorCode.NoElectionLeader, message, opts);
  if (grpcCode === GRPC_STATUS.UNAVAILABLE && isNotAppliedUnavailable(message)) return new ConcordClientError(ClientErrorCode.NoLeader, message, opts);
  if (grpcCode === GRPC_STATUS.INVALID_ARGUMENT || grpcCode === GRPC_STATUS.OUT_OF_RANGE) {
    return new ConcordClientError(ClientErrorCode.InvalidArgument, message, opts);
  }
  return new ConcordClientError(ClientErrorCode.Server, message || `gRPC status ${grpcCode}`, opts);
}

/**
 * isNotAppliedUnavailable tells whether an Unavailable message says the request was refused
 * before it entered the log (so retrying a write cannot apply it twice).
 */
export function isNotAppliedUnavailable(message: string): boolean {
  return message === 'etcdserver: no leader' || message === 'etcdserver: leader changed'
    || message === 'etcdserver: request dropped' || message === 'etcdserver: too many requests'
    || message === 'etcdserver: not leader';
}
