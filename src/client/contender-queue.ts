/**
 * The contender queue behind locks and elections (etcd's concurrency recipe, the same keys the
 * server's Lock and Election services use): each contender creates `<name>/<lease id hex>`
 * under its lease; the key with the lowest create revision holds the lock (leads). A contender
 * waits by watching the deletion of the key created just before its own, through the client's
 * own watch, which resumes across member failures, so a failover never strands a waiter.
 *
 * A wait ends in exactly one of four ways: the contender reaches the head (resolves), its key is
 * gone (LeaseLost), its signal aborts (Aborted), or a request fails for good. Every watch it
 * opens is closed before it returns. The caller owns the key and deletes it (by revoking the
 * lease) when the wait did not end at the head.
 */
import { METHODS } from '../api/codec/index.js';
import { concatBytes, prefixEnd, toBytes } from './bytes.js';
import { ClientErrorCode, ConcordClientError, WatchCompactedError } from './errors.js';
import type { EndpointPool } from './endpoint-pool.js';
import type { Lease } from './lease.js';
import { compare, op, txnRequest } from './txn.js';
import { anySignal } from './signals.js';
import { kvOf, revisionOf } from './types.js';
import { watchEvents } from './watch.js';

const TXN = METHODS['/etcdserverpb.KV/Txn'];
const RANGE = METHODS['/etcdserverpb.KV/Range'];

/** Contender is a queued contender: its key and create revision (the future fencing token). */
export interface Contender {
  readonly key: Uint8Array;
  readonly createRevision: number;
}

/** contenderPrefix is `<name>/`. */
export function contenderPrefix(name: Uint8Array): Uint8Array {
  return concatBytes(name, toBytes('/'));
}

/**
 * enqueue creates the contender's key (or finds it: enqueueing twice with one lease is one
 * contender, so the call is retried safely after an unknown outcome).
 */
export async function enqueue(pool: EndpointPool, name: Uint8Array, lease: Lease, value: Uint8Array): Promise<Contender> {
  const key = concatBytes(contenderPrefix(name), toBytes(lease.id.toString(16)));
  const r = await pool.unary(TXN, txnRequest([compare.absent(key)], [op.put(key, value, { lease: lease.id }), op.get(key)], [op.get(key)]), 'idempotent');
  const range = r.responses[r.succeeded ? 1 : 0]?.response;
  const kv = range?.$case === 'responseRange' ? range.value.kvs[0] : undefined;
  if (!kv || kv.lease !== lease.id) throw new ConcordClientError(ClientErrorCode.LeaseLost, 'the lease expired while queueing');
  return { key, createRevision: kvOf(kv).createRevision };
}

/**
 * WAIT_RECHECK_MS is how long a contender watches its predecessor's key before it reads the
 * queue again anyway. The watch is what ends a wait; the re-read is only a safety net against a
 * deletion the watch never reports (a member that loses a watch notification, a proxy that
 * stalls the stream), and keeps the contender's place in the queue.
 */
export const WAIT_RECHECK_MS = 30_000;

/** WaitOptions: `recheckMs` overrides WAIT_RECHECK_MS (at least 100 ms). */
export interface WaitOptions {
  readonly recheckMs?: number;
}

/**
 * waitForTurn resolves once no key under `<name>/` has a lower create revision than ours. It
 * rejects when our key disappears (lease lost) or `signal` aborts.
 */
export async function waitForTurn(pool: EndpointPool, name: Uint8Array, me: Contender, signal: AbortSignal, options: WaitOptions = {}): Promise<void> {
  const prefix = contenderPrefix(name);
  const recheckMs = Math.max(100, options.recheckMs ?? WAIT_RECHECK_MS);
  for (;;) {
    if (signal.aborted) throw new ConcordClientError(ClientErrorCode.Aborted, 'stopped waiting', { cause: signal.reason });
    const mine = await pool.unary(RANGE, rangeOf1(me.key), 'read', { signal });
    if (revisionOf(mine.kvs[0]?.createRevision ?? 0n) !== me.createRevision) {
      throw new ConcordClientError(ClientErrorCode.LeaseLost, 'the contender key is gone (its lease expired) before its turn');
    }
    const before = await pool.unary(RANGE, {
      ...rangeOf1(prefix), rangeEnd: prefixEnd(prefix), limit: 1n, sortOrder: 2, sortTarget: 2,
      maxCreateRevision: BigInt(me.createRevision - 1),
    }, 'read', { signal });
    const blocker = before.kvs[0];
    if (!blocker) return;
    // Wait for the blocker's deletion (from the revision of this read, so none is missed), for
    // at most recheckMs; then read again.
    const from = revisionOf(before.header?.revision ?? 0n) + 1;
    const recheck = new AbortController();
    const timer = setTimeout(() => recheck.abort(), recheckMs);
    const watchSignal = anySignal([signal, recheck.signal]);
    try {
      for await (const ev of watchEvents(pool, { start: blocker.key, end: new Uint8Array(0) }, { fromRevision: from, signal: watchSignal.signal })) {
        if (ev.type === 'delete') break;
      }
    } catch (error) {
      // History from `from` was compacted away: the deletion may be in it, so read again.
      if (!(error instanceof WatchCompactedError)) throw error;
    } finally {
      clearTimeout(timer);
      watchSignal.dispose();
    }
  }
}

function rangeOf1(key: Uint8Array): ReturnType<typeof METHODS['/etcdserverpb.KV/Range']['request']['create']> {
  return { ...RANGE.request.create(), key };
}
