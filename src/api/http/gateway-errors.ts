import { GrpcStatus, type GrpcStatusCode } from '../grpc/status.js';

/**
 * httpStatusFromGrpc is grpc-gateway v1's HTTPStatusFromCode (the gateway etcd 3.4/3.5 ships):
 * the HTTP status of a gateway error with gRPC status `code`.
 */
export function httpStatusFromGrpc(code: GrpcStatusCode): number {
  switch (code) {
    case GrpcStatus.OK: return 200;
    case GrpcStatus.CANCELLED: return 408;
    case GrpcStatus.UNKNOWN: return 500;
    case GrpcStatus.INVALID_ARGUMENT: return 400;
    case GrpcStatus.DEADLINE_EXCEEDED: return 504;
    case GrpcStatus.NOT_FOUND: return 404;
    case GrpcStatus.ALREADY_EXISTS: return 409;
    case GrpcStatus.PERMISSION_DENIED: return 403;
    case GrpcStatus.RESOURCE_EXHAUSTED: return 429;
    case GrpcStatus.FAILED_PRECONDITION: return 400;
    case GrpcStatus.ABORTED: return 409;
    case GrpcStatus.OUT_OF_RANGE: return 400;
    case GrpcStatus.UNIMPLEMENTED: return 501;
    case GrpcStatus.INTERNAL: return 500;
    case GrpcStatus.UNAVAILABLE: return 503;
    case GrpcStatus.DATA_LOSS: return 500;
    case GrpcStatus.UNAUTHENTICATED: return 401;
  }
}

/** httpStatusTexts are Go's http.StatusText for the statuses httpStatusFromGrpc yields. */
const httpStatusTexts: Readonly<Record<number, string>> = {
  200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  408: 'Request Timeout', 409: 'Conflict', 429: 'Too Many Requests', 500: 'Internal Server Error',
  501: 'Not Implemented', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

/**
 * unaryErrorBody is grpc-gateway v1's error body for a unary call, as etcd 3.4/3.5 send it:
 * `{"error":"<message>","code":<grpc code>,"message":"<message>"}` (field order as Go marshals it).
 */
export function unaryErrorBody(code: GrpcStatusCode, message: string): string {
  const m = JSON.stringify(message);
  return `{"error":${m},"code":${code},"message":${m}}`;
}

/**
 * streamErrorChunk is grpc-gateway v1's error line inside a streaming response:
 * `{"error":{"grpc_code":n,"http_code":n,"message":"...","http_status":"..."}}` plus newline.
 */
export function streamErrorChunk(code: GrpcStatusCode, message: string): string {
  const httpCode = httpStatusFromGrpc(code);
  return `{"error":{"grpc_code":${code},"http_code":${httpCode},"message":${JSON.stringify(message)},"http_status":${JSON.stringify(httpStatusTexts[httpCode] ?? '')}}}\n`;
}
