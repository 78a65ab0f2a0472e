/**
 * WireErrorCode is the stable code of a wire-format error (never parse the message).
 * - `CONCORD_WIRE_MALFORMED`: protobuf bytes that do not decode as the expected message, or a
 *   message that cannot be encoded (an int64 field outside the 64-bit range).
 * - `CONCORD_WIRE_BAD_JSON`: a JSON body that does not map onto the expected message (wrong value
 *   type, bad base64, unknown enum name, integer out of range or not exact).
 * The gRPC layer answers a malformed request as grpc-go does (status INTERNAL, "grpc: error
 * unmarshalling request: ..."); the JSON gateway answers a bad body with HTTP 400 (InvalidArgument).
 */
export const WireErrorCode = {
  Malformed: 'CONCORD_WIRE_MALFORMED',
  BadJson: 'CONCORD_WIRE_BAD_JSON',
} as const;
export type WireErrorCode = (typeof WireErrorCode)[keyof typeof WireErrorCode];

/** WireError is raised by the codecs at the wire boundary; `cause` carries the underlying error. */
export class WireError extends Error {
  override name = 'WireError';
  constructor(
    readonly code: WireErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
