/**
 * Leader election: etcd's election recipe (contender-queue.ts; the same keys as the server's
 * v3electionpb.Election, whose Leader and Observe calls this uses), with a lease this client
 * keeps alive. A leader's token is the create revision of its leader key: it strictly
 * increases from leader to leader and fences the leader's writes exactly like a lock's token
 * (`client.guarded(leadership)`).
 */
import { anySignal } from './signals.js';
import { METHODS } from '../api/codec/index.js';
import { enqueue, waitForTurn, type Contender } from './contender-queue.js';
import { compare, op, txnRequest, type Op } from './txn.js';
import { backoffDelayMs, sleep } from './backoff.js';
import { toBytes, toText, type Bytes } from './bytes.js';
import { ClientErrorCode, ConcordClientError, FencedError } from './errors.js';
import type { EndpointPool } from './endpoint-pool.js';
import type { RawCall } from './grpc-channel.js';
import { Lease } from './lease.js';
import { kvOf, type KeyValue } from './types.js';

const TXN = METHODS['/etcdserverpb.KV/Txn'];
const LEADER = METHODS['/v3electionpb.Election/Leader'];
const OBSERVE = METHODS['/v3electionpb.Election/Observe'];

/** CampaignOptions: the lease TTL in seconds (default 10) and an AbortSignal to stop campaigning. */
export interface CampaignOptions {
  readonly ttl?: number;
  readonly signal?: AbortSignal;
}

/** LeaderInfo is an election's leader as observed: its key, proclaimed value and token. */
export interface LeaderInfo {
  readonly key: string;
  readonly value: string;
  readonly kv: KeyValue;
  /** token is the leader key's create revision (the leadership's fencing token). */
  readonly token: number;
  /** modRevision changes when the leader proclaims a new value. */
  readonly modRevision: number;
}

/** Leadership is a won election. Stop acting as leader when `lost` aborts. */
export interface Leadership {
  readonly key: Uint8Array;
  readonly token: number;
  readonly lease: Lease;
  /** lost aborts when the lease is lost or the leader resigns. */
  readonly lost: AbortSignal;
  /** onLostLeadership calls `listener` once when leadership is lost (not on resign). */
  onLostLeadership(listener: (reason: ConcordClientError) => void): void;
  /** proclaim publishes a new value without losing leadership; fails if no longer leader. */
  proclaim(value: Bytes): Promise<void>;
  /** resign gives leadership up (the next candidate wins) and revokes the lease. */
  resign(): Promise<void>;
}

/** Election is one named election: `client.election(name)`. */
export class Election {
  private readonly nameBytes: Uint8Array;

  constructor(private readonly pool: EndpointPool, readonly name: Bytes) {
    this.nameBytes = toBytes(name);
  }

  /** campaign waits until this candidate leads, then returns its leadership. */
  async campaign(value: Bytes, options: CampaignOptions = {}): Promise<Leadership> {
    const lease = await Lease.grant(this.pool, options.ttl ?? 10);
    try {
      const { signal, dispose } = anySignal([lease.lost, ...(options.signal ? [options.signal] : [])]);
      try {
        const me = await enqueue(this.pool, this.nameBytes, lease, toBytes(value));
        await waitForTurn(this.pool, this.nameBytes, me, signal);
        return this.leadership(me, lease);
      } finally {
        dispose();
      }
    } catch (error) {
      await lease.revoke().catch(() => {});
      throw error;
    }
  }

  private leadership(me: Contender, lease: Lease): Leadership {
    const pool = this.pool;
    const key = me.key;
    const token = me.createRevision;
    let resigned = false;
    const guardedOp = async (o: Op): Promise<boolean> => {
      const r = await pool.unary(TXN, txnRequest([compare.createRevision(key, '==', token)], [o], []), 'write');
      return r.succeeded;
    };
    return {
      key,
      token,
      lease,
      lost: lease.lost,
      onLostLeadership: (listener) => lease.onLost((reason) => { if (!resigned) listener(reason); }),
      proclaim: async (value) => {
        if (!(await guardedOp(op.put(key, value, { lease: lease.id })))) {
          throw new FencedError(`election ${toText(this.nameBytes)}: not leader any more (token ${token})`, token);
        }
      },
      resign: async () => {
        resigned = true;
        try {
          await guardedOp(op.delete(key));
        } finally {
          await lease.revoke();
        }
      },
    };
  }

  /** leader returns the current leader, or undefined when there is none. */
  async leader(): Promise<LeaderInfo | undefined> {
    try {
      const r = await this.pool.unary(LEADER, { name: this.nameBytes }, 'read');
      return r.kv ? leaderInfoOf(kvOf(r.kv)) : undefined;
    } catch (error) {
      if (error instanceof ConcordClientError && error.code === ClientErrorCode.NoElectionLeader) return undefined;
      throw error;
    }
  }

  /**
   * observe yields the leader each time it changes (or proclaims), in revision order, across
   * member failures (it reconnects and never yields an older leader or value again).
   */
  async *observe(options: { signal?: AbortSignal } = {}): AsyncGenerator<LeaderInfo, void, undefined> {
    let last: LeaderInfo | undefined;
    let failures = 0;
    while (!options.signal?.aborted) {
      let call: RawCall | undefined;
      try {
        call = await this.pool.openStream(OBSERVE.path, options.signal ? { signal: options.signal } : {}, OBSERVE.request.encodeFrame({ name: this.nameBytes }), true);
        for (;;) {
          const bytes = await call.next();
          if (bytes === undefined) throw new ConcordClientError(ClientErrorCode.Unavailable, 'observe stream ended', { endpoint: call.endpoint });
          failures = 0;
          const r = OBSERVE.response.decode(bytes);
          if (!r.kv) continue;
          const info = leaderInfoOf(kvOf(r.kv));
          if (last && (info.token < last.token || (info.token === last.token && info.modRevision <= last.modRevision))) continue;
          last = info;
          yield info;
        }
      } catch (error) {
        if (options.signal?.aborted) return;
        if (error instanceof ConcordClientError && error.code === ClientErrorCode.Closed) throw error;
        failures++;
        if (failures > 20) throw error;
        if (call) this.pool.markFailed(this.pool.channels.findIndex((c) => c.endpoint === call!.endpoint));
        await sleep(backoffDelayMs(failures, 50, 1_000), options.signal);
      } finally {
        call?.cancel();
      }
    }
  }
}

function leaderInfoOf(kv: KeyValue): LeaderInfo {
  return { key: toText(kv.key), value: kv.valueText, kv, token: kv.createRevision, modRevision: kv.modRevision };
}
