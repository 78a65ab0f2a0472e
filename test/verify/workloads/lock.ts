/**
 * The lock workload: clients repeatedly take one lock (`client.lock`, a short lease so pauses and
 * partitions make holders lose it) and, while holding it, write a few times to a fenced resource
 * inside Concord, then release it.
 *
 * The resource is a log: write number `seq` of client `c` is the key `<prefix>log/<c>-<seq>`,
 * created by a guarded write (`client.guarded(lock).put`: one Txn that applies only while the
 * lock key still has the holder's token as its create revision). Each key is written once, so
 * its create revision is the revision at which the resource accepted the write; the final read
 * of the log sorted by create revision is `resourceLog`, in the resource's order, including
 * writes whose outcome the client never learned.
 *
 * The fence is the lock key itself, not also "the highest token seen so far": a second,
 * highest-token fence would turn two simultaneous holders into mere rejections, while with the
 * lock-key fence alone they show up in `resourceLog` as a token going down (the older holder
 * writing after the newer one), which the checker reports. With a correct lock the log's tokens
 * never go down: a newer holder's key exists only after the older holder's key was deleted, and
 * from then on the older holder's writes are refused.
 *
 * An acquisition is recorded only if the holder still held the lock when `lock()` returned (its
 * lease not lost, its local expiry not passed); `releasedAt` is set only for a release that
 * returned while the lease was still held.
 */
import { FencedError, type Concord, type LockHandle } from '../../../src/client/index.js';
import type { LockHistory } from '../../../src/check/workload-histories.js';
import type { Workload, WorkloadContext } from '../workload.js';
import {
  DeadlineExceeded, describeError, finalRead, keyPrefix, newClient, OP_DEADLINE_MS, Random, running, sleep, waitHealed, within, workerSeed,
  writeFailure,
} from './support.js';

/** LOCK_CLIENTS is the number of clients competing for the lock. */
export const LOCK_CLIENTS = 3;
/** LOCK_TTL_SECONDS is the lock's lease TTL: short, so a paused or cut-off holder loses the lock. */
export const LOCK_TTL_SECONDS = 2;
/** LOCK_WAIT_MS bounds one wait for the lock. */
export const LOCK_WAIT_MS = 3_000;
/** LOCK_WRITES_MAX is the most writes made during one holding. */
export const LOCK_WRITES_MAX = 3;

type Acquisition = { clientId: number; token: string; acquiredAt: number; releasedAt: number | null };
type Write = LockHistory['resourceLog'][number];

/** LockRecord collects what the clients saw. */
interface LockRecord {
  readonly acquisitions: Acquisition[];
  readonly rejected: Write[];
  readonly acknowledged: Array<LockHistory['acknowledged'][number]>;
  /** callTimes maps `<clientId>-<seq>` to the time its write was sent. */
  readonly callTimes: Map<string, number>;
}

/** lockWorkload runs the lock workload (see the file comment). */
export const lockWorkload: Workload = {
  name: 'lock',
  async run(ctx: WorkloadContext): Promise<LockHistory> {
    const prefix = keyPrefix('lock', ctx.seed);
    const lockName = `${prefix}lock`;
    const logPrefix = `${prefix}log/`;
    const record: LockRecord = { acquisitions: [], rejected: [], acknowledged: [], callTimes: new Map() };
    let nextClientId = 0;
    await Promise.all(Array.from({ length: LOCK_CLIENTS }, (_, w) => lockWorker(ctx, w, lockName, logPrefix, record, () => nextClientId++)));
    ctx.log(`lock: ${record.acquisitions.length} acquisitions, ${record.acknowledged.length} acknowledged writes, ${record.rejected.length} rejected; waiting for the faults to heal`);
    const history = (resourceLog: Write[]): LockHistory => ({
      workload: 'lock',
      acquisitions: record.acquisitions.map((a) => ({ ...a })),
      resourceLog,
      rejected: record.rejected,
      acknowledged: record.acknowledged,
    });
    if (!(await waitHealed(ctx))) return history([]);
    const read = await finalRead(ctx, 'lock resource read', (client) => client.getRange(logPrefix));
    if (!read) {
      ctx.log('lock: the resource read failed; the resource log is empty');
      return history([]);
    }
    const accepted = [...read.result.kvs].sort((a, b) => a.createRevision - b.createRevision);
    const resourceLog = accepted.map((kv): Write => {
      const entry = JSON.parse(kv.valueText) as { clientId: number; token: string; seq: number };
      const time = record.callTimes.get(`${entry.clientId}-${entry.seq}`);
      if (time === undefined) throw new Error(`lock: the resource holds ${kv.keyText}, a write this run never sent`);
      return { clientId: entry.clientId, token: entry.token, seq: entry.seq, time };
    });
    ctx.log(`lock: the resource accepted ${resourceLog.length} writes`);
    return history(resourceLog);
  },
};

/** stillHeld tells whether `lock` is held by this client's own account (lease neither lost nor past its local expiry). */
function stillHeld(lock: LockHandle): boolean {
  return !lock.lost.aborted && Date.now() < lock.lease.expiresAtMs;
}

/** lockWorker takes the lock, writes, releases, until the run phase ends. */
async function lockWorker(ctx: WorkloadContext, w: number, lockName: string, logPrefix: string, out: LockRecord, newClientId: () => number): Promise<void> {
  const random = new Random(workerSeed(ctx.seed, w));
  let clientId = newClientId();
  let client: Concord = newClient(ctx, w);
  let seq = 0;
  const crashed = (why: string): void => {
    ctx.log(`lock: client ${clientId} ${why}; continuing as a new client`);
    client.close();
    clientId = newClientId();
    seq = 0;
    client = newClient(ctx, w + clientId);
  };
  try {
    while (running(ctx)) {
      let lock: LockHandle;
      try {
        lock = await within(client.lock(lockName, { ttl: LOCK_TTL_SECONDS, waitTimeoutMs: LOCK_WAIT_MS, signal: ctx.signal }),
          LOCK_WAIT_MS + 2 * OP_DEADLINE_MS, ctx.signal);
      } catch (error) {
        if (error instanceof DeadlineExceeded) crashed(`lock() stuck (${describeError(error)})`);
        await sleep(random.between(20, 100), ctx.signal);
        continue;
      }
      const acquiredAt = ctx.now();
      if (!stillHeld(lock)) {
        ctx.log(`lock: client ${clientId} got token ${lock.token} only after its lease could have expired; not counted`);
        await within(lock.release(), OP_DEADLINE_MS).catch(() => {});
        continue;
      }
      const acquisition: Acquisition = { clientId, token: String(lock.token), acquiredAt, releasedAt: null };
      out.acquisitions.push(acquisition);
      const guarded = client.guarded(lock);
      let stuck = false;
      const writes = random.between(1, LOCK_WRITES_MAX);
      for (let i = 0; i < writes && stillHeld(lock) && !ctx.signal.aborted; i++) {
        const mySeq = ++seq;
        const entry = { clientId, token: acquisition.token, seq: mySeq };
        const callTime = ctx.now();
        out.callTimes.set(`${clientId}-${mySeq}`, callTime);
        try {
          await within(guarded.put(`${logPrefix}${clientId}-${mySeq}`, JSON.stringify(entry)), OP_DEADLINE_MS, ctx.signal);
          out.acknowledged.push(entry);
        } catch (error) {
          if (error instanceof FencedError) {
            out.rejected.push({ ...entry, time: callTime });
            break;
          }
          if (writeFailure(error) === 'unknown') ctx.log(`lock: client ${clientId} write ${mySeq} unknown (${describeError(error)})`);
          if (error instanceof DeadlineExceeded) {
            stuck = true;
            break;
          }
        }
        await sleep(random.between(10, 60), ctx.signal);
      }
      if (stuck) {
        crashed('write stuck');
        continue;
      }
      const heldAtRelease = stillHeld(lock);
      try {
        await within(lock.release(), OP_DEADLINE_MS);
        if (heldAtRelease) acquisition.releasedAt = ctx.now();
      } catch (error) {
        ctx.log(`lock: client ${clientId} release of token ${lock.token} failed (${describeError(error)})`);
        if (error instanceof DeadlineExceeded) crashed('release stuck');
      }
      await sleep(random.between(0, 30), ctx.signal);
    }
  } finally {
    client.close();
  }
}
