/**
 * GrpcStatus is the table of gRPC status codes with gRPC's numbers (google.rpc.Code). A const
 * object, not an enum; `GrpcStatusCode` is the union of its values.
 */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

/** grpcStatusCount is the number of status codes; per-code counters are arrays of this length. */
export const grpcStatusCount = 17;

/** grpcStatusNames maps a code to the name used by Prometheus labels and grpc-go (`"OK"`, ...). */
export const grpcStatusNames: readonly string[] = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists',
  'PermissionDenied', 'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange',
  'Unimplemented', 'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated',
];

/** isGrpcStatusCode tells whether `n` is one of the 17 defined codes. */
export function isGrpcStatusCode(n: number): n is GrpcStatusCode {
  return Number.isInteger(n) && n >= 0 && n < grpcStatusCount;
}

/**
 * GrpcError is the error a handler throws to end its call with a status: `code` becomes
 * `grpc-status`, `message` becomes `grpc-message` (percent-encoded on the wire), and on the JSON
 * gateway they become the error body. `cause` is logged, never sent.
 */
export class GrpcError extends Error {
  override name = 'GrpcError';
  constructor(readonly code: GrpcStatusCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * encodeGrpcMessage percent-encodes a status message as the gRPC HTTP/2 spec requires: bytes of
 * the UTF-8 form outside printable ASCII (0x20–0x7E), and '%' itself, become `%XX`. ASCII-only
 * messages without '%' (the common case) are returned unchanged, without allocating.
 */
export function encodeGrpcMessage(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  const bytes = Buffer.from(message, 'utf8');
  let out = '';
  for (const b of bytes) {
    if (b < 0x20 || b > 0x7e || b === 0x25) out += '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
    else out += String.fromCharCode(b);
  }
  return out;
}

/**
 * decodeGrpcMessage reverses `encodeGrpcMessage`; malformed `%` sequences are kept literally, as
 * the spec asks of receivers.
 */
export function decodeGrpcMessage(encoded: string): string {
  if (!encoded.includes('%')) return encoded;
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const c = encoded.charCodeAt(i);
    if (c === 0x25 && i + 2 < encoded.length && /^[0-9a-fA-F]{2}$/.test(encoded.slice(i + 1, i + 3))) {
      bytes.push(parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(c & 0xff);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
