/**
 * Byte-string helpers. The key index orders keys as "binary strings": one UTF-16 code unit per
 * byte (0..255), so JavaScript's string order equals the byte order etcd uses (bytes.Compare).
 */

/** keyString maps bytes to the binary string that orders like them. */
export function keyString(bytes: Uint8Array): string {
  const chunk = 8192;
  // One call for a key of up to `chunk` bytes (every key on the write path): no subarray, no concatenation.
  if (bytes.length <= chunk) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  let out = '';
  for (let i = 0; i < bytes.length; i += chunk) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk) as unknown as number[]);
  }
  return out;
}

/** keyBytes is the inverse of keyString. */
export function keyBytes(key: string): Uint8Array {
  const out = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) out[i] = key.charCodeAt(i);
  return out;
}

/** compareBytes orders byte strings like Go's bytes.Compare (-1, 0, 1). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** bytesEqual is true when both byte strings are identical. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** prefixEnd is clientv3.GetPrefixRangeEnd: the range end covering every key with `prefix` ([0] for all keys). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Uint8Array.of(0);
}

/**
 * KeySpan is a request's key selection as binary strings: a single key (`end` undefined), a
 * range [start, end), or every key >= start (`end` null, from rangeEnd = "\0").
 */
export interface KeySpan {
  readonly start: string;
  readonly end: string | null | undefined;
}

/** keySpan decodes etcd's key/rangeEnd convention. */
export function keySpan(key: Uint8Array, rangeEnd: Uint8Array | undefined): KeySpan {
  const start = keyString(key);
  if (rangeEnd === undefined || rangeEnd.length === 0) return { start, end: undefined };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start, end: null };
  return { start, end: keyString(rangeEnd) };
}

/** spanContains is true when the binary-string key `k` falls in `span`. */
export function spanContains(span: KeySpan, k: string): boolean {
  if (span.end === undefined) return k === span.start;
  if (k < span.start) return false;
  return span.end === null || k < span.end;
}
