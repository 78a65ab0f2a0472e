/**
 * STM: serializable optimistic read-modify-write transactions over many keys. The function
 * reads through `tx.get` (every read at one snapshot revision, the first read's) and buffers
 * writes with `tx.put`/`tx.delete`; commit is one Txn that compares the mod revision of every
 * key read (0 for a key that was absent) and applies the writes only if none changed. On a
 * conflict the function runs again (bounded, with backoff). The function must have no side
 * effects besides `tx` (it may run several times).
 */
import { METHODS } from '../api/codec/index.js';
import { backoffDelayMs, sleep } from './backoff.js';
import { toBytes, toText, type Bytes } from './bytes.js';
import { ClientErrorCode, ConcordClientError } from './errors.js';
import type { EndpointPool } from './endpoint-pool.js';
import { compare, op, rangeRequest, txnRequest, type Op } from './txn.js';
import { kvOf, revisionOf, type KeyValue } from './types.js';

const RANGE = METHODS['/etcdserverpb.KV/Range'];
const TXN = METHODS['/etcdserverpb.KV/Txn'];

/** StmOptions: `retries` bounds the re-runs after conflicts (default 10). */
export interface StmOptions {
  readonly retries?: number;
}

/** StmTx is the handle the STM function reads and writes through. */
export interface StmTx {
  /** get returns the key's value at the transaction's snapshot (or its own buffered write), undefined if absent. */
  get(key: Bytes): Promise<string | undefined>;
  /** getKv returns the key at the snapshot with its metadata (ignoring this transaction's buffered writes). */
  getKv(key: Bytes): Promise<KeyValue | undefined>;
  put(key: Bytes, value: Bytes): void;
  delete(key: Bytes): void;
}

/** StmResult is the function's result and the commit revision. */
export interface StmResult<T> {
  readonly value: T;
  readonly revision: number;
  /** attempts counts the runs (1 without conflict). */
  readonly attempts: number;
}

type Write = { readonly kind: 'put'; readonly value: Uint8Array } | { readonly kind: 'delete' };

/** runStm runs `fn` as a serializable transaction. */
export async function runStm<T>(pool: EndpointPool, fn: (tx: StmTx) => Promise<T> | T, options: StmOptions = {}): Promise<StmResult<T>> {
  const retries = options.retries ?? 10;
  for (let attempt = 0; ; attempt++) {
    const reads = new Map<string, { key: Uint8Array; kv: KeyValue | undefined }>();
    const writes = new Map<string, { key: Uint8Array; write: Write }>();
    let snapshotRevision = 0;
    const read = async (key: Bytes): Promise<KeyValue | undefined> => {
      const bytes = toBytes(key);
      const id = Buffer.from(bytes).toString('latin1');
      const recorded = reads.get(id);
      if (recorded) return recorded.kv;
      const r = await pool.unary(RANGE, rangeRequest(bytes, false, snapshotRevision), 'read');
      if (snapshotRevision === 0) snapshotRevision = revisionOf(r.header?.revision ?? 0n);
      const kv = r.kvs[0] ? kvOf(r.kvs[0]) : undefined;
      reads.set(id, { key: bytes, kv });
      return kv;
    };
    const tx: StmTx = {
      getKv: (key) => read(key),
      get: async (key) => {
        const own = writes.get(Buffer.from(toBytes(key)).toString('latin1'));
        if (own) return own.write.kind === 'put' ? toText(own.write.value) : undefined;
        const kv = await read(key);
        return kv ? kv.valueText : undefined;
      },
      put: (key, value) => {
        const bytes = toBytes(key);
        writes.set(Buffer.from(bytes).toString('latin1'), { key: bytes, write: { kind: 'put', value: toBytes(value) } });
      },
      delete: (key) => {
        const bytes = toBytes(key);
        writes.set(Buffer.from(bytes).toString('latin1'), { key: bytes, write: { kind: 'delete' } });
      },
    };
    const value = await fn(tx);
    const compares = [...reads.values()].map((r) => compare.modRevision(r.key, '==', r.kv?.modRevision ?? 0));
    const ops: Op[] = [...writes.values()].map((w) => w.write.kind === 'put' ? op.put(w.key, w.write.value) : op.delete(w.key));
    if (ops.length === 0) return { value, revision: snapshotRevision, attempts: attempt + 1 };
    const r = await pool.unary(TXN, txnRequest(compares, ops, []), 'write');
    if (r.succeeded) return { value, revision: revisionOf(r.header?.revision ?? 0n), attempts: attempt + 1 };
    if (attempt >= retries) {
      throw new ConcordClientError(ClientErrorCode.Conflict, `STM transaction conflicted ${attempt + 1} times; giving up`);
    }
    await sleep(backoffDelayMs(attempt, 10, 500));
  }
}
