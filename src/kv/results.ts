import type { KvError } from './kv-errors.js';
import type { WatchEvent } from './types.js';

/** ReadResult is a read's response or the KvError etcd would return. */
export type ReadResult<T> =
  | { readonly ok: true; readonly response: T }
  | { readonly ok: false; readonly error: KvError };

/**
 * WriteResult is a write's response plus the watch events it produced, in revision order
 * (empty when nothing changed), or the KvError etcd would return (nothing changed then).
 */
export type WriteResult<T> =
  | { readonly ok: true; readonly response: T; readonly events: readonly WatchEvent[] }
  | { readonly ok: false; readonly error: KvError };

/** failed wraps an error as a result. */
export function failed(error: KvError): { readonly ok: false; readonly error: KvError } {
  return { ok: false, error };
}
