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
