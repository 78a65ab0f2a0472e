/**
 * The lease workload: clients grant short leases (`client.lease`, kept alive by the client),
 * attach a key or two under the prefix to each, and then give each lease one fate: revoke it,
 * abandon it (stop the keep-alives; it must expire), or keep it alive to the end. Once the
 * faults have healed the workload waits the longest TTL plus `expiryGrace` (and at least that
 * long after the last lease ended), then reads the prefix: a kept lease's keys must be there, a
 * revoked or abandoned lease's keys gone.
 *
 * - `ttl` is the granted TTL in seconds; times and `expiryGrace` are milliseconds.
 * - A kept lease the client reports lost (`lease.lost`) before the final read returned is not
 *   'kept': it is recorded as abandoned when the loss was noticed.
 * - `endedAt` of an abandoned lease is the time this client stopped sending keep-alives (release,
 *   or the loss being noticed). The last acknowledged keep-alive is earlier, but a keep-alive
 *   sent before the stop and never answered may still have been applied: the lease's expiry is
 *   bounded only from the stop.
 * - A put of unknown outcome is repeated (the same key, value and lease: applying it twice is
 *   applying it once). A key that cannot be written for sure gets its lease revoked or
 *   abandoned, never kept, so no key of unknown outcome can outlive the run.
 * - A revoke of unknown outcome makes the lease abandoned (its keep-alives were stopped first).
 */
import { type Concord, type Lease } from '../../../src/client/index.js';
import type { LeaseHistory } from '../../../src/check/workload-histories.js';
import type { Workload, WorkloadContext } from '../workload.js';
import {
  DeadlineExceeded, describeError, finalRead, keyPrefix, newClient, OP_DEADLINE_MS, Random, running, sleep, waitHealed, within, workerSeed,
  writeFailure,
} from './support.js';

/** LEASE_CLIENTS is the number of concurrent clients. */
export const LEASE_CLIENTS = 4;
/** LEASE_TTL_SECONDS is the TTL asked for (the server may raise it to its minimum; the granted TTL is recorded). */
export const LEASE_TTL_SECONDS = 2;
/** LEASE_KEPT_PER_CLIENT is how many leases one client keeps alive to the end. */
export const LEASE_KEPT_PER_CLIENT = 2;
/**
 * LEASE_EXPIRY_GRACE_MS is how long past its TTL a lease may take to disappear: a new leader
 * extends every lease by an election timeout, the leader checks expiry on its lessor tick, the
 * revoke is replicated and applied, and a keep-alive in flight at the stop may renew it once more.
 */
export const LEASE_EXPIRY_GRACE_MS = 5_000;
/** LEASE_PUT_ATTEMPTS bounds the attempts of one key's put with its lease. */
export const LEASE_PUT_ATTEMPTS = 3;

type Fate = LeaseHistory['leases'][number]['fate'];

/** Tracked is one granted lease while the workload runs. */
interface Tracked {
  readonly lease: Lease;
  /** ttlSeconds is the granted TTL (the history's `ttl` is in seconds). */
  readonly ttlSeconds: number;
  readonly keys: string[];
  fate: Fate;
  endedAt: number | null;
  /** lostAt is when the client reported the lease lost, if it did. */
  lostAt: number | null;
}

/** leaseWorkload runs the lease workload (see the file comment). */
export const leaseWorkload: Workload = {
  name: 'lease',
  async run(ctx: WorkloadContext): Promise<LeaseHistory> {
    const prefix = keyPrefix('lease', ctx.seed);
    const tracked: Tracked[] = [];
    const clients: Concord[] = [];
    try {
      await Promise.all(Array.from({ length: LEASE_CLIENTS }, (_, w) => leaseWorker(ctx, w, prefix, tracked, clients)));
      const count = (fate: Fate): number => tracked.filter((t) => t.fate === fate).length;
      ctx.log(`lease: ${tracked.length} leases (${count('revoked')} revoked, ${count('abandoned')} abandoned, ${count('kept')} kept); waiting for the faults to heal`);
      const result = (finalReadResult: LeaseHistory['finalRead']): LeaseHistory => ({
        workload: 'lease',
        prefix,
        leases: tracked.map((t) => ({ id: t.lease.id.toString(), ttl: t.ttlSeconds, keys: [...t.keys], fate: t.fate, endedAt: t.endedAt })),
        expiryGrace: LEASE_EXPIRY_GRACE_MS,
        finalRead: finalReadResult,
      });
      if (!(await waitHealed(ctx))) return result(null);
      const ttlMsMax = Math.max(0, ...tracked.map((t) => t.ttlSeconds * 1000));
      const lastEnd = Math.max(0, ...tracked.map((t) => (t.endedAt === null ? 0 : t.endedAt + t.ttlSeconds * 1000)));
      const readAfter = Math.max(ctx.now() + ttlMsMax, lastEnd) + LEASE_EXPIRY_GRACE_MS + 1;
      await sleep(Math.max(0, readAfter - ctx.now()), ctx.signal);
      if (ctx.signal.aborted) return result(null);
      const read = await finalRead(ctx, 'lease final read', (client) => client.getRange(prefix));
      const readDoneAt = ctx.now();
      // A kept lease reported lost before the read returned is no longer 'kept'.
      for (const t of tracked) {
        if (t.fate === 'kept' && t.lostAt !== null && t.lostAt <= readDoneAt) {
          t.fate = 'abandoned';
          t.endedAt = t.lostAt;
        }
      }
      ctx.log(read ? `lease: final read has ${read.result.kvs.length} keys; ${tracked.filter((t) => t.fate === 'kept').length} leases kept to the end` : 'lease: final read failed');
      return result(read ? { time: read.time, keys: read.result.kvs.map((kv) => kv.keyText) } : null);
    } finally {
      await Promise.allSettled(tracked.filter((t) => t.fate === 'kept' && !t.lease.lost.aborted)
        .map((t) => within(t.lease.revoke(), OP_DEADLINE_MS)));
      for (const c of clients) c.close();
    }
  },
};

/** leaseWorker grants leases and gives each a fate until the run phase ends. */
async function leaseWorker(ctx: WorkloadContext, w: number, prefix: string, out: Tracked[], clients: Concord[]): Promise<void> {
  const random = new Random(workerSeed(ctx.seed, w));
  let client = newClient(ctx, w);
  clients.push(client);
  let kept = 0;
  let ended = 0;
  // A stuck call leaves this client's state unknown: its leases stay as they are (kept ones
  // report the loss when the client closes) and a new client takes over.
  const replace = (why: string): void => {
    ctx.log(`lease: worker ${w} ${why}; continuing with a new client`);
    client.close();
    client = newClient(ctx, w + clients.length);
    clients.push(client);
  };
  while (running(ctx)) {
    let lease: Lease;
    try {
      lease = await within(client.lease(LEASE_TTL_SECONDS), OP_DEADLINE_MS, ctx.signal);
    } catch (error) {
      if (error instanceof DeadlineExceeded) replace(`grant stuck (${describeError(error)})`);
      await sleep(random.between(20, 100), ctx.signal);
      continue;
    }
    const t: Tracked = { lease, ttlSeconds: lease.ttlSeconds, keys: [], fate: 'kept', endedAt: null, lostAt: null };
    out.push(t);
    lease.onLost(() => { t.lostAt ??= ctx.now(); });
    const keyCount = random.between(1, 2);
    let allWritten = true;
    for (let k = 0; k < keyCount && allWritten; k++) {
      const key = `${prefix}${lease.id.toString(16)}/k${k}`;
      allWritten = await putWithLease(ctx, client, lease, key);
      if (allWritten) t.keys.push(key);
    }
    // Each client keeps its first fully written lease, and later ones now and then.
    const keep = allWritten && kept < LEASE_KEPT_PER_CLIENT && (kept === 0 || random.chance(0.3));
    if (keep) {
      kept++;
      continue;
    }
    // Hold it a little with keep-alives running, then end it.
    await sleep(random.between(50, 600), ctx.signal);
    // Revoke and abandon alternate per client (each client starting with a different one).
    if ((ended++ + w) % 2 === 0) {
      t.fate = 'abandoned';
      lease.release();
      t.endedAt = t.lostAt ?? ctx.now();
      continue;
    }
    const stoppedAt = ctx.now();
    try {
      await within(lease.revoke(), OP_DEADLINE_MS, ctx.signal);
      t.fate = 'revoked';
      t.endedAt = ctx.now();
    } catch (error) {
      // revoke() stopped the keep-alives before sending: the lease is abandoned from then on.
      t.fate = 'abandoned';
      t.endedAt = stoppedAt;
      ctx.log(`lease: revoke of ${lease.id.toString(16)} failed (${describeError(error)}); abandoned`);
      if (error instanceof DeadlineExceeded) replace('revoke stuck');
    }
  }
}

/**
 * putWithLease writes `key` with `lease`, repeating a put of unknown outcome; true once a put was
 * acknowledged, false when it failed for sure (e.g. the lease is gone) or every attempt was unknown.
 */
async function putWithLease(ctx: WorkloadContext, client: Concord, lease: Lease, key: string): Promise<boolean> {
  for (let attempt = 0; attempt < LEASE_PUT_ATTEMPTS && !ctx.signal.aborted; attempt++) {
    try {
      await within(client.put(key, lease.id.toString(16), { lease: lease.id }), OP_DEADLINE_MS, ctx.signal);
      return true;
    } catch (error) {
      if (writeFailure(error) === 'not-applied') return false;
      ctx.log(`lease: put ${key} unknown (${describeError(error)})${attempt + 1 < LEASE_PUT_ATTEMPTS ? '; repeating it' : ''}`);
    }
  }
  return false;
}
