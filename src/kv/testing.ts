import { assert } from '../lib/assert.js';
import type { ReadResult, WriteResult } from './results.js';
import type { KeyValue } from './types.js';

/**
 * Small helpers for the kv tests (pure; shared by several test files): byte/string conversion
 * and unwrapping results.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** b encodes a string as UTF-8 bytes. */
export function b(text: string): Uint8Array {
  return encoder.encode(text);
}

/** str decodes UTF-8 bytes. */
export function str(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** unwrap returns the response of a successful result and asserts otherwise. */
export function unwrap<T>(result: ReadResult<T> | WriteResult<T>): T {
  assert(result.ok, () => `expected success, got ${result.ok ? '' : result.error.message}`);
  return result.response;
}

/** errorOf returns the error message of a failed result and asserts otherwise. */
export function errorOf(result: { readonly ok: boolean; readonly error?: { readonly message: string } }): string {
  assert(!result.ok && result.error !== undefined, 'expected an error');
  return result.error.message;
}

/** brief renders a kv as "key=value@create/mod/version" for readable assertions. */
export function brief(kv: KeyValue): string {
  return `${str(kv.key)}=${str(kv.value)}@${kv.createRevision}/${kv.modRevision}/${kv.version}` +
    (kv.lease !== 0n ? `~${kv.lease}` : '');
}

/**
 * plainKvs copies `value` with every KeyValue in it reduced to a plain object of its six fields
 * (the store hands out its own write records, which carry their sub-revision too), so that
 * results from a store and results decoded from bytes compare with strict deep equality.
 */
export function plainKvs<T>(value: T): T {
  if (value instanceof Uint8Array || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(plainKvs) as T;
  const o = value as Record<string, unknown>;
  if (o.key instanceof Uint8Array && typeof o.modRevision === 'number' && o.value instanceof Uint8Array) {
    const kv = value as unknown as KeyValue;
    return { key: kv.key, createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, value: kv.value, lease: kv.lease } as T;
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, plainKvs(v)])) as T;
}
