import { KvError } from '../../kv/index.js';
import { ConcordError, ErrorCode } from '../../lib/errors.js';
import { GrpcError, GrpcStatus, type GrpcStatusCode } from '../grpc/status.js';

/**
 * toGrpcError maps the project's operating errors to the gRPC status and message etcd uses for
 * the same condition, so clients' error handling (retry on Unavailable, etc.) works unchanged.
 */
export function toGrpcError(error: unknown): GrpcError | undefined {
  if (error instanceof GrpcError) return error;
  if (error instanceof KvError) return new GrpcError(grpcCodeOf(error.grpcCode), error.message, { cause: error });
  if (error instanceof ConcordError) {
    switch (error.code) {
      case ErrorCode.NoLeader:
      case ErrorCode.LeaderChanged:
      case ErrorCode.ProposalDropped:
      case ErrorCode.Timeout:
      case ErrorCode.Stopped:
        return new GrpcError(GrpcStatus.UNAVAILABLE, error.etcdMessage, { cause: error });
      case ErrorCode.TooManyRequests:
        return new GrpcError(GrpcStatus.RESOURCE_EXHAUSTED, error.etcdMessage, { cause: error });
    }
  }
  return undefined;
}

function grpcCodeOf(name: string): GrpcStatusCode {
  const code = (GrpcStatus as Record<string, GrpcStatusCode>)[name];
  return code ?? GrpcStatus.INTERNAL;
}

/** ETCD_ERRORS are etcd's messages for conditions detected in the API layer. */
export const ETCD_ERRORS = {
  requestTooLarge: () => new GrpcError(GrpcStatus.INVALID_ARGUMENT, 'etcdserver: request is too large'),
  keyNotProvided: () => new GrpcError(GrpcStatus.INVALID_ARGUMENT, 'etcdserver: key is not provided'),
  leaseNotFound: () => new GrpcError(GrpcStatus.NOT_FOUND, 'etcdserver: requested lease not found'),
  notLeader: () => new GrpcError(GrpcStatus.FAILED_PRECONDITION, 'etcdserver: not leader'),
  memberNotFound: () => new GrpcError(GrpcStatus.NOT_FOUND, 'etcdserver: member not found'),
  unimplemented: (what: string) => new GrpcError(GrpcStatus.UNIMPLEMENTED, `concord: ${what} is not supported yet`),
} as const;

/** REQUEST_BYTES_MAX is etcd's default --max-request-bytes (1.5 MiB). */
export const REQUEST_BYTES_MAX = 1.5 * 1024 * 1024;
