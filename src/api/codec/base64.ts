/**
 * Base64 for the JSON mapping. Encoding is standard base64 with padding (what Go's encoding/json
 * prints for []byte). Decoding is strict about the alphabet — Node's Buffer silently skips
 * characters it does not know, which would turn a typo into a different key — and accepts the
 * standard and URL-safe alphabets, with or without padding (the proto3 JSON rule).
 */

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;
const STRICT_BASE64URL = /^(?:[A-Za-z0-9\-_]{4})*(?:[A-Za-z0-9\-_]{2}(?:==)?|[A-Za-z0-9\-_]{3}=?)?$/;

/** encodeBase64 prints `bytes` as standard, padded base64. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** decodeBase64 parses standard or URL-safe base64 (padding optional); undefined when malformed. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (STRICT_BASE64.test(text)) return toUint8Array(Buffer.from(text, 'base64'));
  if (STRICT_BASE64URL.test(text)) return toUint8Array(Buffer.from(text, 'base64url'));
  return undefined;
}

function toUint8Array(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
