/** Public result types of the client, converted from the wire messages. */
import type { etcdserverpb, mvccpb } from '../api/codec/index.js';
import { toText } from './bytes.js';

/**
 * Revision is a KV revision. Revisions are numbers here: they count writes from 1 and stay far
 * below 2^53 (a million writes a second for 285 years), which `revisionOf` asserts.
 */
export type Revision = number;

/** KeyValue is one key with its MVCC metadata. `key`/`value` are raw bytes; `keyText`/`valueText` decode UTF-8. */
export interface KeyValue {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly keyText: string;
  readonly valueText: string;
  /** createRevision is the revision of the key's creation; a lock key's is its fencing token. */
  readonly createRevision: Revision;
  readonly modRevision: Revision;
  /** version counts the writes since creation (1 after creation). */
  readonly version: number;
  /** lease is the attached lease id, 0n for none. */
  readonly lease: bigint;
}

/** ResponseHeader says which member answered and at which revision. */
export interface ResponseHeader {
  readonly revision: Revision;
  readonly memberId: bigint;
  readonly raftTerm: number;
}

/** revisionOf converts a wire int64 revision, asserting it is a safe integer. */
export function revisionOf(value: bigint): Revision {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < 0n) throw new RangeError(`revision ${value} outside the safe integer range`);
  return Number(value);
}

export function kvOf(kv: mvccpb.KeyValue): KeyValue {
  const key = kv.key.slice();
  const value = kv.value.slice();
  return {
    key,
    value,
    keyText: toText(key),
    valueText: toText(value),
    createRevision: revisionOf(kv.createRevision),
    modRevision: revisionOf(kv.modRevision),
    version: revisionOf(kv.version),
    lease: kv.lease,
  };
}

export function headerOf(h: etcdserverpb.ResponseHeader | undefined): ResponseHeader {
  return { revision: revisionOf(h?.revision ?? 0n), memberId: h?.memberId ?? 0n, raftTerm: revisionOf(h?.raftTerm ?? 0n) };
}

/** ReadConsistency picks how a read is made consistent (docs/client.md). */
export type ReadConsistency = 'linearizable' | 'serializable' | 'log' | 'lease';
