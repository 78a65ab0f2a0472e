/**
 * Concord is the client: KV with per-request read consistency, transactions, watches, leases,
 * locks with fencing tokens, elections, uniqueness claims and STM, over gRPC to a list of
 * endpoints with leader tracking, failover and safe retries (see EndpointPool).
 */
import { METHODS } from '../api/codec/index.js';
import { concatBytes, toBytes, type Bytes, type KeySelector } from './bytes.js';
import { ClientErrorCode, ConcordClientError } from './errors.js';
import { Election } from './election.js';
import { EndpointPool, type CallKind } from './endpoint-pool.js';
import { Lease, type LeaseOptions } from './lease.js';
import { snapshotStream, type SnapshotChunk, type SnapshotOptions } from './maintenance.js';
import { acquireLock, Guarded, type Fence, type LockHandle, type LockOptions } from './lock.js';
import { Session, type SessionOptions } from './session.js';
import { runStm, type StmOptions, type StmResult, type StmTx } from './stm.js';
import { compare, deleteRequest, op, putRequest, rangeRequest, TxnBuilder, txnResultOf, type PutOptions, type TxnResult } from './txn.js';
import { headerOf, kvOf, revisionOf, type KeyValue, type ReadConsistency, type ResponseHeader } from './types.js';
import { watchEvents, type WatchEvent, type WatchOptions } from './watch.js';
import { allocateWork, type AllocateOptions, type Allocator } from './allocation.js';
import {
  discoverInstances, registerInstance, watchMemberEvents,
  type MemberEvent, type MemberMetadata, type RegisterOptions, type Registration, type ServiceInstance, type WatchMembersOptions,
} from './membership.js';

const KV = {
  range: METHODS['/etcdserverpb.KV/Range'],
  put: METHODS['/etcdserverpb.KV/Put'],
  deleteRange: METHODS['/etcdserverpb.KV/DeleteRange'],
  txn: METHODS['/etcdserverpb.KV/Txn'],
  compact: METHODS['/etcdserverpb.KV/Compact'],
} as const;
const STATUS = METHODS['/etcdserverpb.Maintenance/Status'];

/** READ_CONSISTENCY_HEADER is the gRPC metadata that selects a read's consistency. */
export const READ_CONSISTENCY_HEADER = 'x-concord-read-consistency';

/** ConcordOptions configure a client. */
export interface ConcordOptions {
  /** endpoints are the members' client URLs (`http://127.0.0.1:2379` or `127.0.0.1:2379`). */
  readonly endpoints: readonly string[];
  /** dialTimeoutMs bounds connecting to one endpoint (default 2000). */
  readonly dialTimeoutMs?: number;
  /** requestTimeoutMs bounds one request including its retries (default 10000). */
  readonly requestTimeoutMs?: number;
  /** attemptsMax bounds the attempts of one request (default 12). */
  readonly attemptsMax?: number;
}

/** GetOptions: the read consistency (default linearizable) and an optional historical revision. */
export interface GetOptions {
  readonly consistency?: ReadConsistency;
  readonly revision?: number;
  /** limit caps the number of keys returned by getRange (0: no limit). */
  readonly limit?: number;
  readonly signal?: AbortSignal;
}

/** RangeResult is the keys of a range read with the header (its `revision` is the read's revision). */
export interface RangeResult {
  readonly kvs: readonly KeyValue[];
  readonly count: number;
  readonly more: boolean;
  readonly header: ResponseHeader;
}

/** PutResult is the write's revision and, if asked for, the previous key. */
export interface PutResult {
  readonly revision: number;
  readonly header: ResponseHeader;
  readonly prevKv: KeyValue | undefined;
}

/** DeleteResult counts deleted keys. */
export interface DeleteResult {
  readonly revision: number;
  readonly deleted: number;
  readonly prevKvs: readonly KeyValue[];
}

/** ClaimResult answers claimUnique: the caller won, or who holds the value. */
export type ClaimResult =
  | { readonly claimed: true; readonly revision: number }
  | { readonly claimed: false; readonly takenBy: string; readonly revision: number };

/** MemberStatus is one endpoint's Maintenance/Status answer. */
export interface MemberStatus {
  readonly endpoint: string;
  readonly memberId: bigint;
  readonly leaderId: bigint;
  readonly raftTerm: number;
  readonly revision: number;
  readonly version: string;
}

/** Concord is a client to a Concord (or etcd) cluster. Call `close()` when done. */
export class Concord {
  private readonly pool: EndpointPool;

  constructor(options: ConcordOptions) {
    this.pool = new EndpointPool({
      endpoints: options.endpoints,
      dialTimeoutMs: options.dialTimeoutMs ?? 2_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      attemptsMax: options.attemptsMax ?? 12,
    });
  }

  /** close ends every call, stream and connection; leases are no longer kept alive. */
  close(): void {
    this.pool.close();
  }

  /** leaderEndpoint is the endpoint of the Raft leader as last seen, if known. */
  get leaderEndpoint(): string | undefined {
    return this.pool.leaderEndpoint;
  }

  // ---- KV ----

  private readOptions(options: GetOptions): { metadata?: Record<string, string>; signal?: AbortSignal } {
    return {
      ...(options.consistency && options.consistency !== 'linearizable' ? { metadata: { [READ_CONSISTENCY_HEADER]: options.consistency } } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    };
  }

  /** get reads one key; undefined when absent. */
  async get(key: Bytes, options: GetOptions = {}): Promise<KeyValue | undefined> {
    const r = await this.getRange({ start: key, end: new Uint8Array(0) }, options);
    return r.kvs[0];
  }

  /** getRange reads every key with a prefix (a bare key is a prefix), or `{ start, end }`. */
  async getRange(selector: KeySelector, options: GetOptions = {}): Promise<RangeResult> {
    const req = rangeRequest(selector, true, options.revision ?? 0, options.limit ?? 0);
    if (options.consistency === 'serializable') req.serializable = true;
    const r = await this.pool.unary(KV.range, req, 'read', this.readOptions(options));
    return { kvs: r.kvs.map(kvOf), count: revisionOf(r.count), more: r.more, header: headerOf(r.header) };
  }

  /** put writes a key (a write: an unknown outcome is reported, never retried). */
  async put(key: Bytes, value: Bytes, options: PutOptions = {}): Promise<PutResult> {
    const r = await this.pool.unary(KV.put, putRequest(key, value, options), 'write');
    const header = headerOf(r.header);
    return { revision: header.revision, header, prevKv: r.prevKv ? kvOf(r.prevKv) : undefined };
  }

  /** delete deletes one key, or `{ prefix }`, or `{ start, end }`. */
  async delete(selector: KeySelector, options: { prevKv?: boolean } = {}): Promise<DeleteResult> {
    const r = await this.pool.unary(KV.deleteRange, deleteRequest(selector, options.prevKv ?? false), 'write');
    return { revision: headerOf(r.header).revision, deleted: revisionOf(r.deleted), prevKvs: r.prevKvs.map(kvOf) };
  }

  /** txn starts a transaction builder: `.if(...compares).then(...ops).else(...ops).commit()`. */
  txn(): TxnBuilder {
    return new TxnBuilder(async (request) => {
      const readOnly = request.success.every((o) => o.request?.$case === 'requestRange')
        && request.failure.every((o) => o.request?.$case === 'requestRange');
      const kind: CallKind = readOnly ? 'read' : 'write';
      return txnResultOf(await this.pool.unary(KV.txn, request, kind));
    });
  }

  /** compact discards history before `revision` (watches and reads below it then fail). */
  async compact(revision: number, options: { physical?: boolean } = {}): Promise<void> {
    await this.pool.unary(KV.compact, { revision: BigInt(revision), physical: options.physical ?? false }, 'idempotent');
  }

  // ---- exactly-once writes ----

  /**
   * session opens a client session (a lease kept alive by this client, a fresh id): its writes
   * are numbered and retried after a lost connection or leader change until answered, applied
   * exactly once (docs/client.md, "Exactly-once writes with a session").
   */
  session(options: SessionOptions = {}): Promise<Session> {
    return Session.open(this.pool, options);
  }

  // ---- watch ----

  /**
   * watch yields every change under a prefix (a bare key is a prefix; `{ start, end }` a range),
   * from `fromRevision` or from now, resuming across member failures. Break out of the loop (or
   * abort `signal`) to stop. Throws WatchCompactedError when the next revision was compacted.
   */
  watch(selector: KeySelector, options: WatchOptions = {}): AsyncGenerator<WatchEvent, void, undefined> {
    return watchEvents(this.pool, selector, options);
  }

  // ---- leases, locks, elections ----

  /** lease grants a lease of `ttlSeconds` and keeps it alive until revoked, released or lost. */
  lease(ttlSeconds: number, options: LeaseOptions = {}): Promise<Lease> {
    return Lease.grant(this.pool, ttlSeconds, options);
  }

  /** lock waits for the lock `name`; the handle's `token` is its fencing token. */
  lock(name: Bytes, options: LockOptions = {}): Promise<LockHandle> {
    return acquireLock(this.pool, name, options);
  }

  /** guarded returns writes that succeed only while `fence` (a lock or leadership) still holds. */
  guarded(fence: Fence): Guarded {
    return new Guarded(this.pool, fence);
  }

  /** election returns the election `name` (campaign, observe, leader). */
  election(name: Bytes): Election {
    return new Election(this.pool, name);
  }

  // ---- membership and work allocation ----

  /**
   * register writes `services/<service>/<instance>` = JSON(metadata) under a lease kept alive
   * by this client; the key disappears when the lease is lost (within `ttl` seconds of a crash).
   */
  register(service: string, instance: string, metadata: MemberMetadata = {}, options: RegisterOptions = {}): Promise<Registration> {
    return registerInstance(this, service, instance, metadata, options);
  }

  /** discover lists the current instances of `service` (a linearizable read), sorted by name. */
  discover(service: string): Promise<ServiceInstance[]> {
    return discoverInstances(this, service);
  }

  /**
   * watchMembers yields the current members as joins, then every join, update and leave in
   * revision order, resuming across member failures and re-reading after a compaction.
   */
  watchMembers(service: string, options: WatchMembersOptions = {}): AsyncGenerator<MemberEvent, void, undefined> {
    return watchMemberEvents(this, service, options);
  }

  /**
   * allocate registers `instance` in `service` and takes its rendezvous-hashing share of
   * `partitions`, holding the lock `alloc/<service>/<partition>` (its fencing token) for each.
   */
  allocate(service: string, instance: string, partitions: readonly string[], options: AllocateOptions = {}): Promise<Allocator> {
    return allocateWork(this, service, instance, partitions, options);
  }

  // ---- recipes ----

  /**
   * claimUnique claims `value` in `namespace` for `owner` (first claim wins, linearizably): one
   * Txn that creates `<namespace>/<value>` = owner if absent, else reads the holder. Claiming
   * again with the same owner answers `claimed: true`, so a claim whose outcome was unknown is
   * simply repeated.
   */
  async claimUnique(namespace: Bytes, value: Bytes, owner: string): Promise<ClaimResult> {
    const key = concatBytes(toBytes(namespace), toBytes('/'), toBytes(value));
    const attempt = () => this.txn().if(compare.absent(key)).then(op.put(key, owner)).else(op.get(key)).commit();
    let r: TxnResult;
    try {
      r = await attempt();
    } catch (error) {
      if (!(error instanceof ConcordClientError && error.code === ClientErrorCode.OutcomeUnknown)) throw error;
      r = await attempt(); // idempotent per owner: see above
    }
    if (r.succeeded) return { claimed: true, revision: r.revision };
    const holder = r.results[0];
    const kv = holder?.type === 'get' ? holder.kvs[0] : undefined;
    if (!kv) return this.claimUnique(namespace, value, owner); // released between compare and read: try again
    if (kv.valueText === owner) return { claimed: true, revision: kv.createRevision };
    return { claimed: false, takenBy: kv.valueText, revision: r.revision };
  }

  /** stm runs `fn` as a serializable read-modify-write transaction, retried on conflict. */
  stm<T>(fn: (tx: StmTx) => Promise<T> | T, options: StmOptions = {}): Promise<StmResult<T>> {
    return runStm(this.pool, fn, options);
  }

  // ---- cluster ----

  /** status asks every endpoint for its Maintenance/Status (unreachable endpoints are left out). */
  async status(): Promise<MemberStatus[]> {
    const all = await Promise.all(this.pool.channels.map(async (channel, index) => {
      try {
        const s = await this.pool.unary(STATUS, {}, 'read', { endpointIndex: index, timeoutMs: 2_000 });
        const h = headerOf(s.header);
        return { endpoint: channel.endpoint, memberId: h.memberId, leaderId: s.leader, raftTerm: h.raftTerm, revision: h.revision, version: s.version };
      } catch {
        return undefined;
      }
    }));
    return all.filter((s): s is MemberStatus => s !== undefined);
  }

  /** snapshot streams one member's snapshot file (Maintenance/Snapshot), chunk by chunk; see maintenance.ts. */
  snapshot(options: SnapshotOptions = {}): AsyncGenerator<SnapshotChunk, void, undefined> { return snapshotStream(this.pool, options); }

  /** refreshLeader finds the leader's endpoint now (writes do it on their own when needed). */
  refreshLeader(): Promise<void> {
    return this.pool.refreshLeader();
  }
}


