/** Key and value conversions shared by the client modules. */

/** Bytes is what the client accepts for keys and values: a string (UTF-8) or raw bytes. */
export type Bytes = string | Uint8Array;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** toBytes encodes a string as UTF-8; a Uint8Array is passed through (not copied). */
export function toBytes(value: Bytes): Uint8Array {
  return typeof value === 'string' ? encoder.encode(value) : value;
}

/** toText decodes UTF-8 (invalid sequences become U+FFFD). */
export function toText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** concatBytes joins byte arrays. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

/** prefixEnd is the range end covering every key that starts with `prefix` (etcd's GetPrefixRangeEnd). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.slice(0, i + 1);
    }
  }
  return new Uint8Array([0]); // every key after the prefix: the whole keyspace from it
}

/** KeySelector names keys: one key, every key with a prefix, or the half-open range [start, end). */
export type KeySelector = Bytes | { readonly prefix: Bytes } | { readonly start: Bytes; readonly end: Bytes };

/**
 * rangeOf turns a selector into etcd's (key, range_end). A bare key means the key itself when
 * `bareIsPrefix` is false (get, put, delete) and a prefix when true (getRange, watch).
 */
export function rangeOf(selector: KeySelector, bareIsPrefix: boolean): { key: Uint8Array; rangeEnd: Uint8Array } {
  if (typeof selector === 'string' || selector instanceof Uint8Array) {
    const key = toBytes(selector);
    return bareIsPrefix ? { key, rangeEnd: prefixEnd(key) } : { key, rangeEnd: new Uint8Array(0) };
  }
  if ('prefix' in selector) {
    const key = toBytes(selector.prefix);
    return { key, rangeEnd: prefixEnd(key) };
  }
  return { key: toBytes(selector.start), rangeEnd: toBytes(selector.end) };
}
