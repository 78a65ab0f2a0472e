/**
 * Locks with fencing tokens: etcd's lock recipe (contender-queue.ts, the same keys as the
 * server's v3lockpb.Lock and `etcdctl lock`) with a lease this client keeps alive. The token is the lock key's create revision: it strictly increases from
 * holder to holder, so a resource can refuse a holder that lost the lock (guarded writes inside
 * Concord, FencingGate outside it).
 */
import { METHODS } from '../api/codec/index.js';
import { toBytes, toText, type Bytes } from './bytes.js';
import { ClientErrorCode, ConcordClientError, FencedError } from './errors.js';
import type { EndpointPool } from './endpoint-pool.js';
import { Lease } from './lease.js';
import { compare, op, putRequest, TxnBuilder, txnRequest, txnResultOf, type Op, type PutOptions, type TxnResult } from './txn.js';
import { enqueue, waitForTurn, type Contender } from './contender-queue.js';
import { anySignal } from './signals.js';

const TXN = METHODS['/etcdserverpb.KV/Txn'];

/** LockOptions: the lease TTL (seconds, default 10) and an AbortSignal to stop waiting. */
export interface LockOptions {
  readonly ttl?: number;
  readonly signal?: AbortSignal;
  /** waitTimeoutMs bounds the wait for the lock (default: wait until `signal` aborts). */
  readonly waitTimeoutMs?: number;
  /** recheckMs: while waiting, read the queue again after this long without news (default WAIT_RECHECK_MS, a safety net). */
  readonly recheckMs?: number;
}

/** Fence is what a guarded operation checks: the lock (or leader) key and its create revision. */
export interface Fence {
  readonly key: Uint8Array;
  readonly token: number;
}

/** LockHandle is a held lock. Act on the resource only with `token`, and stop when `lost` aborts. */
export interface LockHandle extends Fence {
  /** keyText is the lock key as text (`<name>/<lease id hex>`). */
  readonly keyText: string;
  /** token is the fencing token: the lock key's create revision, strictly increasing across holders. */
  readonly token: number;
  readonly lease: Lease;
  /** lost aborts when the lease is lost (or the lock released). */
  readonly lost: AbortSignal;
  /** release deletes the lock key and revokes the lease. */
  release(): Promise<void>;
}

/**
 * acquireLock waits for the lock `name` and returns the held lock with its fencing token. A wait
 * that ends without the lock (aborted, timed out, lease lost, failed) revokes its lease, which
 * deletes its contender key, before it rejects: it never leaves a key queued in front of others.
 */
export async function acquireLock(pool: EndpointPool, name: Bytes, options: LockOptions = {}): Promise<LockHandle> {
  if (options.signal?.aborted) throw new ConcordClientError(ClientErrorCode.Aborted, 'stopped waiting', { cause: options.signal.reason });
  const lease = await Lease.grant(pool, options.ttl ?? 10);
  try {
    const timeout = options.waitTimeoutMs === undefined ? undefined : new AbortController();
    const timer = timeout ? setTimeout(() => timeout.abort(new Error('lock wait timed out')), options.waitTimeoutMs) : undefined;
    const { signal, dispose } = anySignal([lease.lost, ...(options.signal ? [options.signal] : []), ...(timeout ? [timeout.signal] : [])]);
    const nameBytes = toBytes(name);
    try {
      const me = await enqueue(pool, nameBytes, lease, new Uint8Array(0));
      await waitForTurn(pool, nameBytes, me, signal, options.recheckMs === undefined ? {} : { recheckMs: options.recheckMs });
      return held(pool, me, lease);
    } finally {
      dispose();
      if (timer) clearTimeout(timer);
    }
  } catch (error) {
    await lease.revoke().catch(() => {});
    throw error;
  }
}

/** held is the handle of a lock whose contender `me` reached the head of the queue. */
function held(pool: EndpointPool, me: Contender, lease: Lease): LockHandle {
  const key = me.key;
  return {
    key,
    keyText: toText(key),
    token: me.createRevision,
    lease,
    lost: lease.lost,
    release: async () => {
      try {
        await pool.unary(TXN, txnRequest([compare.createRevision(key, '==', me.createRevision)], [op.delete(key)], []), 'idempotent');
      } finally {
        await lease.revoke();
      }
    },
  };
}

/**
 * Guarded performs writes only while a fence holds: each is a Txn comparing the lock key's
 * create revision with the token, and fails with FencedError when the lock was lost (the key was
 * deleted or belongs to a later holder). Create one with `client.guarded(lock)`.
 */
export class Guarded {
  constructor(private readonly pool: EndpointPool, private readonly fence: Fence) {}

  private describe(): string {
    return `lock key ${toText(this.fence.key)} no longer has create revision ${this.fence.token}: the lock was lost, the operation was refused`;
  }

  private async guardedTxn(ops: readonly Op[]): Promise<TxnResult> {
    const r = txnResultOf(await this.pool.unary(TXN, {
      compare: [compare.createRevision(this.fence.key, '==', this.fence.token).wire],
      success: ops.map((o) => o.wire),
      failure: [],
    }, 'write'));
    if (!r.succeeded) throw new FencedError(this.describe(), this.fence.token);
    return r;
  }

  /** put writes `key` if the fence holds. */
  async put(key: Bytes, value: Bytes, options: PutOptions = {}): Promise<TxnResult> {
    return this.guardedTxn([{ wire: { request: { $case: 'requestPut', value: putRequest(key, value, options) } } }]);
  }

  /** delete deletes a key (or `{ prefix }`) if the fence holds. */
  async delete(selector: Parameters<typeof op.delete>[0]): Promise<TxnResult> {
    return this.guardedTxn([op.delete(selector)]);
  }

  /**
   * txn builds a transaction that runs only if the fence holds: commit() throws FencedError when
   * it does not, and otherwise returns the inner transaction's result (its own if/then/else).
   */
  txn(): TxnBuilder {
    const builder: TxnBuilder = new TxnBuilder(async (inner) => {
      const outer = await this.guardedTxn([{ wire: { request: { $case: 'requestTxn', value: inner } } }]);
      const first = outer.results[0];
      if (first?.type !== 'txn') throw new ConcordClientError(ClientErrorCode.Protocol, 'guarded txn: missing the inner transaction result');
      return first.result;
    });
    return builder;
  }
}

/**
 * FencingGate guards a resource outside Concord (a file, a storage service): the resource keeps
 * one gate per lock name and asks it to admit the token of every request.
 *
 * - a token lower than the highest admitted so far is rejected (its holder lost the lock);
 * - an equal token is admitted: create revisions are unique, so an equal token is the current
 *   holder making another request (a token is never shared by two holders);
 * - a higher token is admitted and becomes the new highest.
 *
 * Tokens from different lock names are not comparable; use one gate per name.
 */
export class FencingGate {
  private highest = 0;

  /** highestToken is the highest token admitted so far (0 before any). */
  get highestToken(): number {
    return this.highest;
  }

  /** check tells whether `token` would be admitted, without recording it. */
  check(token: number): boolean {
    return token >= this.highest;
  }

  /** admit records `token` or throws FencedError if a later holder was already admitted. */
  admit(token: number): void {
    if (!Number.isSafeInteger(token) || token <= 0) throw new ConcordClientError(ClientErrorCode.InvalidArgument, `fencing token must be a positive integer, got ${token}`);
    if (token < this.highest) throw new FencedError(`fencing token ${token} is older than ${this.highest}: a later lock holder was already admitted`, token);
    this.highest = token;
  }
}
