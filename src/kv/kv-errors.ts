/**
 * KvError is an operating error of the MVCC store with a stable `code`; `message` is etcd's exact
 * text (what etcd's gRPC layer sends), and `grpcCode` the gRPC status code etcd uses, so the API
 * layer passes both through unchanged. The store returns these as values in results (a replicated
 * command that fails must fail identically on every member); it never throws them.
 */
export const KvErrorCode = {
  EmptyKey: 'CONCORD_KV_EMPTY_KEY',
  KeyNotFound: 'CONCORD_KV_KEY_NOT_FOUND',
  ValueProvided: 'CONCORD_KV_VALUE_PROVIDED',
  LeaseProvided: 'CONCORD_KV_LEASE_PROVIDED',
  TooManyOps: 'CONCORD_KV_TOO_MANY_OPS',
  DuplicateKey: 'CONCORD_KV_DUPLICATE_KEY',
  Compacted: 'CONCORD_KV_COMPACTED',
  FutureRevision: 'CONCORD_KV_FUTURE_REVISION',
  NoSpace: 'CONCORD_KV_NO_SPACE',
  LeaseNotFound: 'CONCORD_KV_LEASE_NOT_FOUND',
  LeaseExists: 'CONCORD_KV_LEASE_EXISTS',
  LeaseTtlTooLarge: 'CONCORD_KV_LEASE_TTL_TOO_LARGE',
  /** An assigned revision was not above the current one (a sequencer bug upstream). */
  RevisionNotIncreasing: 'CONCORD_KV_REVISION_NOT_INCREASING',
  /** A session's lease does not exist (never granted, revoked or expired: the session ended). */
  SessionLeaseNotFound: 'CONCORD_SESSION_LEASE_NOT_FOUND',
  /** A session id is already bound to another lease. */
  SessionLeaseMismatch: 'CONCORD_SESSION_LEASE_MISMATCH',
  /** A request's seq is at or below what the session already forgot (acknowledged or evicted). */
  SessionSeqTooOld: 'CONCORD_SESSION_SEQ_TOO_OLD',
  /** The session table is full. */
  SessionsExhausted: 'CONCORD_SESSIONS_EXHAUSTED',
  /** A sequencer name is empty or too long, or a count out of range. */
  SequencerBadRequest: 'CONCORD_SEQUENCER_BAD_REQUEST',
  /** A counter would pass 2^53 - 1, or the counter table is full. */
  SequencerExhausted: 'CONCORD_SEQUENCER_EXHAUSTED',
} as const;
export type KvErrorCode = (typeof KvErrorCode)[keyof typeof KvErrorCode];

/** GrpcCode names the gRPC status codes etcd uses for these errors. */
export type GrpcCode = 'INVALID_ARGUMENT' | 'OUT_OF_RANGE' | 'RESOURCE_EXHAUSTED' | 'NOT_FOUND' |
  'FAILED_PRECONDITION' | 'INTERNAL';

const details: Record<KvErrorCode, { readonly message: string; readonly grpcCode: GrpcCode }> = {
  CONCORD_KV_EMPTY_KEY: { message: 'etcdserver: key is not provided', grpcCode: 'INVALID_ARGUMENT' },
  CONCORD_KV_KEY_NOT_FOUND: { message: 'etcdserver: key not found', grpcCode: 'INVALID_ARGUMENT' },
  CONCORD_KV_VALUE_PROVIDED: { message: 'etcdserver: value is provided', grpcCode: 'INVALID_ARGUMENT' },
  CONCORD_KV_LEASE_PROVIDED: { message: 'etcdserver: lease is provided', grpcCode: 'INVALID_ARGUMENT' },
  CONCORD_KV_TOO_MANY_OPS: { message: 'etcdserver: too many operations in txn request', grpcCode: 'INVALID_ARGUMENT' },
  CONCORD_KV_DUPLICATE_KEY: { message: 'etcdserver: duplicate key given in txn request', grpcCode: 'INVALID_ARGUMENT' },
  CONCORD_KV_COMPACTED: { message: 'etcdserver: mvcc: required revision has been compacted', grpcCode: 'OUT_OF_RANGE' },
  CONCORD_KV_FUTURE_REVISION: { message: 'etcdserver: mvcc: required revision is a future revision', grpcCode: 'OUT_OF_RANGE' },
  CONCORD_KV_NO_SPACE: { message: 'etcdserver: mvcc: database space exceeded', grpcCode: 'RESOURCE_EXHAUSTED' },
  CONCORD_KV_LEASE_NOT_FOUND: { message: 'etcdserver: requested lease not found', grpcCode: 'NOT_FOUND' },
  CONCORD_KV_LEASE_EXISTS: { message: 'etcdserver: lease already exists', grpcCode: 'FAILED_PRECONDITION' },
  CONCORD_KV_LEASE_TTL_TOO_LARGE: { message: 'etcdserver: too large lease TTL', grpcCode: 'OUT_OF_RANGE' },
  CONCORD_KV_REVISION_NOT_INCREASING: { message: 'etcdserver: assigned revision is not above the current revision', grpcCode: 'INTERNAL' },
  CONCORD_SESSION_LEASE_NOT_FOUND: { message: 'concord: session lease not found (the session expired or was never bound)', grpcCode: 'NOT_FOUND' },
  CONCORD_SESSION_LEASE_MISMATCH: { message: 'concord: session is bound to another lease', grpcCode: 'FAILED_PRECONDITION' },
  CONCORD_SESSION_SEQ_TOO_OLD: { message: 'concord: session seq is at or below the acknowledged or evicted window; its result is gone', grpcCode: 'FAILED_PRECONDITION' },
  CONCORD_SESSIONS_EXHAUSTED: { message: 'concord: too many sessions', grpcCode: 'RESOURCE_EXHAUSTED' },
  CONCORD_SEQUENCER_BAD_REQUEST: { message: 'concord: sequencer name must be 1..256 bytes and count 0..10000', grpcCode: 'INVALID_ARGUMENT' },
  CONCORD_SEQUENCER_EXHAUSTED: { message: 'concord: sequencer counter exhausted (2^53 - 1) or too many counters', grpcCode: 'RESOURCE_EXHAUSTED' },
};

export class KvError extends Error {
  override name = 'KvError';
  readonly grpcCode: GrpcCode;
  constructor(readonly code: KvErrorCode, options?: { cause?: unknown }) {
    super(details[code].message, options);
    this.grpcCode = details[code].grpcCode;
  }
}

/** kvError builds the KvError for `code` (the store's only way to make one). */
export function kvError(code: KvErrorCode): KvError {
  return new KvError(code);
}
