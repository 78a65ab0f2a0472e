import { assert } from '../lib/assert.js';
import { keySpan, keyString, type KeySpan } from './bytes.js';
import { ByteSlab } from './byte-slab.js';
import { KeyHistory, StoredWrite, type KeyWrite } from './key-history.js';
import { KvError, KvErrorCode, kvError } from './kv-errors.js';
import { checkKvLimits, KV_ENTRY_OVERHEAD_BYTES, KV_LEASE_OVERHEAD_BYTES, KV_LIMITS_DEFAULT, type KvLimits } from './kv-limits.js';
import { INT64_MAX, INT64_MIN, LeaseTable } from './lease-table.js';
import { OrderedMap } from './ordered-map.js';
import { RevisionLog } from './revision-log.js';
import { finishRange } from './range-query.js';
import { failed, type ReadResult, type WriteResult } from './results.js';
import { SequencerTable, type SequencerCounter, type SequencerNextRequest, type SequencerNextResponse } from './sequencer-table.js';
import { SessionTable, type SessionState } from './session-table.js';
import { checkPlannedOps, isTxnReadOnly, planTxn, plannedPutCostBytes, putCostBytes, txnHasPut, type TxnPlan } from './txn-plan.js';
import { checkDeleteRequest, checkPutRequest, checkRangeRequest, checkTxnRequest } from './txn-validate.js';
import {
  AlarmAction, AlarmType, EventType, NO_LEASE,
  type AlarmMember, type AlarmRequest, type AlarmResponse, type CompactionRequest, type CompactionResponse,
  type DeleteRangeRequest, type DeleteRangeResponse, type KeyValue, type LeaseCheckpointRequest,
  type LeaseCheckpointResponse, type LeaseGrantRequest, type LeaseGrantResponse, type LeaseId, type LeaseInfo,
  type LeaseRevokeRequest, type LeaseRevokeResponse, type PutRequest, type PutResponse, type RangeRequest,
  type RangeResponse, type ResponseOp, type TxnRequest, type TxnResponse, type WatchEvent,
} from './types.js';

/** KEY_HIGH sorts after every binary-string key (all code units are <= 0xff). */
const KEY_HIGH = '\u0100';
const EMPTY = new Uint8Array(0);

/** WriteBatch collects the writes of one request; all share main revision `main`. */
class WriteBatch {
  /** sub is the next sub-revision; > 0 once anything changed. */
  sub = 0;
  readonly events: WatchEvent[] = [];
  constructor(readonly main: number) {}
}

/** StoreState is the whole replicated state in canonical order (snapshots and hashes use it). */
export interface StoreState {
  readonly currentRevision: number;
  readonly compactRevision: number;
  /** keys in byte order, each with its retained writes in revision order. */
  readonly keys: readonly { readonly key: Uint8Array; readonly writes: readonly KeyWrite[] }[];
  /** leases in id order; attached keys are derived from the keys' latest versions. */
  readonly leases: readonly { readonly id: LeaseId; readonly grantedTtl: number; readonly remainingTtl: number }[];
  readonly leaseGeneratorState: bigint;
  readonly alarms: readonly AlarmMember[];
  /** sequencer counters in name order (snapshot version 2; empty from version 1). */
  readonly sequencers: readonly SequencerCounter[];
  /** client sessions in client id order (snapshot version 2; empty from version 1). */
  readonly sessions: readonly SessionState[];
}

/**
 * StoreDelta is what a store changed after the state it had at `baseRevision`, with no
 * compaction in between: the writes of later revisions in (main, sub) order with their keys,
 * and the rest of the state whole (it is small). A base StoreState plus its deltas in order
 * make the later StoreState (store-delta.ts mergeStoreChain).
 */
export interface StoreDelta extends Pick<StoreState, 'leases' | 'leaseGeneratorState' | 'alarms' | 'sequencers' | 'sessions'> {
  readonly baseRevision: number;
  readonly currentRevision: number;
  readonly compactRevision: number;
  readonly writes: readonly { readonly key: Uint8Array; readonly write: KeyWrite }[];
}

/** HistoryBatch is a run of watch events from history (whole revisions), and where to continue. */
export interface HistoryBatch {
  readonly events: readonly WatchEvent[];
  /** nextRevision is the first revision not included. */
  readonly nextRevision: number;
}

export interface MvccStoreOptions {
  readonly limits?: Partial<KvLimits>;
}

/**
 * MvccStore is etcd's MVCC key-value store, leases and alarms as one pure, deterministic state
 * machine: the same calls in the same order give the same state and results on every member.
 *
 * Revisions: the store starts at revision 1 (as etcd; the first write is 2). Each write request
 * that changes something gets one main revision: `current + 1`, or the larger `revision` its
 * caller assigned (gaps allowed); a txn's ops get sub-revisions. Requests that change nothing
 * (read-only txns, deletes of missing keys) consume none.
 * Errors are returned as KvError values (etcd's exact messages); programmer errors assert.
 */
export class MvccStore {
  readonly limits: KvLimits;
  private keys: OrderedMap<string, KeyHistory> = new OrderedMap();
  /** revisionLog lists the writes of main revisions >= compactRevision, in revision order. */
  private readonly revisionLog = new RevisionLog();
  /** bytes holds the keys and values of the retained writes, packed (see byte-slab.ts). */
  private bytes = new ByteSlab();
  private current = 1;
  private compacted = 0;
  private readonly leases = new LeaseTable();
  private alarmList: AlarmMember[] = [];
  /** size approximates the bytes the store holds (the quota compares it). */
  private size = 0;
  /** sequencers are the named counters (DESIGN §9); see sequencer-table.ts. */
  readonly sequencers = new SequencerTable();
  /** sessions remember applied sessioned commands (exactly-once retries); see session-table.ts. */
  readonly sessions = new SessionTable();

  constructor(options: MvccStoreOptions = {}) {
    this.limits = checkKvLimits({ ...KV_LIMITS_DEFAULT, ...options.limits });
  }

  /** currentRevision is the revision of the last change (1 for an empty store). */
  get currentRevision(): number {
    return this.current;
  }

  /** compactRevision is the last compaction's revision (0 = never); reads below it fail. */
  get compactRevision(): number {
    return this.compacted;
  }

  /** sizeBytes approximates the store's size (keys, values, per-version and per-lease overheads). */
  get sizeBytes(): number {
    return this.size;
  }

  /** keyCount is the number of keys with retained history (live or not yet compacted). */
  get keyCount(): number {
    return this.keys.size;
  }

  // ---- reads ---------------------------------------------------------------------------------

  /** range serves etcd's Range at `revision` (0 = current). Consumes no revision. */
  range(r: RangeRequest): ReadResult<RangeResponse> {
    return this.rangeAt(r, this.current);
  }

  private rangeAt(r: RangeRequest, current: number): ReadResult<RangeResponse> {
    const invalid = checkRangeRequest(r);
    if (invalid !== undefined) return failed(invalid);
    let revision = r.revision ?? 0;
    if (revision > current) return failed(kvError(KvErrorCode.FutureRevision));
    if (revision <= 0) revision = current;
    if (revision < this.compacted) return failed(kvError(KvErrorCode.Compacted));
    const span = keySpan(r.key, r.rangeEnd);
    if (r.countOnly === true) {
      let count = 0;
      this.scan(span, revision, () => count++);
      return { ok: true, response: { header: { revision: current }, kvs: [], more: false, count } };
    }
    const kvs: KeyValue[] = [];
    this.scan(span, revision, (kv) => kvs.push(kv));
    const finished = finishRange(r, kvs);
    return { ok: true, response: { header: { revision: current }, kvs: finished.kvs, more: finished.more, count: kvs.length } };
  }

  /** scan visits the live versions in `span` at `revision`, in key order. */
  private scan(span: KeySpan, revision: number, visit: (kv: KeyValue) => void): void {
    if (span.end === undefined) {
      const kv = this.keys.get(span.start)?.at(revision);
      if (kv !== undefined) visit(kv);
      return;
    }
    const high = span.end ?? KEY_HIGH;
    if (high <= span.start) return;
    this.keys.forRange(span.start, high, false, (_id, history) => {
      const kv = history.at(revision);
      if (kv !== undefined) visit(kv);
    });
  }

  private latestKv(id: string): KeyValue | undefined {
    return this.keys.get(id)?.latest()?.kv ?? undefined;
  }

  // ---- writes --------------------------------------------------------------------------------

  /** put is etcd's Put. `revision` optionally assigns the main revision (must exceed the current one). */
  put(r: PutRequest, revision?: number): WriteResult<PutResponse> {
    const invalid = checkPutRequest(r) ?? this.checkAssigned(revision) ?? this.checkNoSpaceAlarm() ??
      this.checkPutState(r) ?? this.checkQuota(putCostBytes(r));
    if (invalid !== undefined) return failed(invalid);
    const batch = new WriteBatch(revision ?? this.current + 1);
    const response = this.applyPut(batch, r);
    this.endWrite(batch);
    return { ok: true, response, events: batch.events };
  }

  /** deleteRange is etcd's DeleteRange; deleting nothing consumes no revision. */
  deleteRange(r: DeleteRangeRequest, revision?: number): WriteResult<DeleteRangeResponse> {
    const invalid = checkDeleteRequest(r) ?? this.checkAssigned(revision);
    if (invalid !== undefined) return failed(invalid);
    const batch = new WriteBatch(revision ?? this.current + 1);
    const response = this.applyDelete(batch, r);
    this.endWrite(batch);
    return { ok: true, response, events: batch.events };
  }

  /**
   * txn is etcd's Txn: validation (op counts, duplicate keys), compares evaluated up front on the
   * pre-txn state (nested ones too), checks of the chosen path, then its ops in order, each seeing
   * the writes before it. One main revision for all its changes; none if nothing changed.
   */
  txn(r: TxnRequest, revision?: number): WriteResult<TxnResponse> {
    const invalid = checkTxnRequest(r, this.limits.txnOpsMax) ?? this.checkAssigned(revision);
    if (invalid !== undefined) return failed(invalid);
    const write = !isTxnReadOnly(r);
    if (write && txnHasPut(r)) {
      const capped = this.checkNoSpaceAlarm();
      if (capped !== undefined) return failed(capped);
    }
    const plan = planTxn(r, (c) => {
      const kvs: KeyValue[] = [];
      this.scan(keySpan(c.key, c.rangeEnd), this.current, (kv) => kvs.push(kv));
      return kvs;
    });
    const pathError =
      (write ? checkPlannedOps(plan, (op) => (op.type === 'put' ? this.checkPutState(op.request) : undefined)) : undefined) ??
      checkPlannedOps(plan, (op) => (op.type === 'range' ? this.checkRangeRevision(op.request.revision ?? 0) : undefined)) ??
      (write ? this.checkQuota(plannedPutCostBytes(plan)) : undefined);
    if (pathError !== undefined) return failed(pathError);
    const batch = write ? new WriteBatch(revision ?? this.current + 1) : undefined;
    const response = this.executeTxn(plan, batch);
    if (batch !== undefined) this.endWrite(batch);
    return { ok: true, response: { ...response, header: { revision: this.current } }, events: batch?.events ?? [] };
  }

  private executeTxn(plan: TxnPlan, batch: WriteBatch | undefined): TxnResponse {
    const responses: ResponseOp[] = plan.ops.map((op, i): ResponseOp => {
      switch (op.type) {
        case 'range': {
          const result = this.rangeAt(op.request, this.readRevision(batch));
          assert(result.ok, 'txn range was checked before the txn ran');
          return { type: 'range', response: result.response };
        }
        case 'put':
          assert(batch !== undefined, 'a txn with a put is a write txn');
          return { type: 'put', response: this.applyPut(batch, op.request) };
        case 'deleteRange':
          assert(batch !== undefined, 'a txn with a delete is a write txn');
          return { type: 'deleteRange', response: this.applyDelete(batch, op.request) };
        case 'txn':
          return { type: 'txn', response: this.executeTxn(plan.nested[i]!, batch) };
      }
    });
    return { header: { revision: this.readRevision(batch) }, succeeded: plan.succeeded, responses };
  }

  /** compact is etcd's Compact: drops history no read or watch at >= `revision` can observe. */
  compact(r: CompactionRequest): WriteResult<CompactionResponse> {
    if (r.revision <= this.compacted) return failed(kvError(KvErrorCode.Compacted));
    if (r.revision > this.current) return failed(kvError(KvErrorCode.FutureRevision));
    this.compacted = r.revision;
    const emptied: string[] = [];
    this.keys.forEachPair((id, history) => {
      for (const dropped of history.compact(r.revision)) {
        this.size -= this.writeBytes(history, dropped);
        // A value a later write shares (ignoreValue) is released early: its chunk only looks sparser.
        this.bytes.releaseBytes(dropped.valueBytes, dropped.valueLength);
      }
      if (history.writes.length === 0) {
        this.bytes.release(history.key);
        emptied.push(id);
      }
    });
    for (const id of emptied) this.keys.delete(id);
    this.revisionLog.dropBelow(r.revision);
    this.repack();
    return { ok: true, response: { header: { revision: this.current } }, events: [] };
  }

  /**
   * repack copies the keys and values that sit in mostly released slab chunks into fresh ones,
   * so that a few long-lived writes do not hold whole chunks of compacted ones in memory.
   */
  private repack(): void {
    const bytes = this.bytes;
    this.keys.forEachPair((_id, history) => {
      if (bytes.isSparse(history.key)) {
        bytes.release(history.key);
        history.key = bytes.copy(history.key);
        for (const write of history.writes) write.key = history.key;
      }
      for (const write of history.writes) {
        if (write.valueLength > 0 && bytes.isSparse(write.valueBytes)) {
          bytes.releaseBytes(write.valueBytes, write.valueLength);
          const at = bytes.place(write.value);
          write.moveValue(bytes.placedIn, at);
        }
      }
    });
  }

  private applyPut(batch: WriteBatch, r: PutRequest): PutResponse {
    const id = keyString(r.key);
    let history = this.keys.get(id);
    const latest = history?.latest();
    const prev = latest !== undefined && latest.version > 0 ? latest : undefined;
    // Checked before the request ran; an etcd-accepted overlap (a from-key delete earlier in the
    // same txn) can still remove the key, so fall back to empty value and no lease then.
    // The store keeps its own copy of the key and value, packed in its slab (a request's bytes
    // may be views of a buffer its caller reuses, or of a whole log entry); an ignoreValue put
    // shares its predecessor's place.
    let container: Uint8Array = EMPTY;
    let start = 0;
    let length = 0;
    if (r.ignoreValue === true) {
      if (prev !== undefined) {
        container = prev.valueBytes;
        start = prev.valueStart;
        length = prev.valueLength;
      }
    } else if (r.value !== undefined && r.value.length > 0) {
      start = this.bytes.place(r.value);
      container = this.bytes.placedIn;
      length = r.value.length;
    }
    const lease = r.ignoreLease === true ? prev?.lease ?? NO_LEASE : r.lease ?? NO_LEASE;
    if (history === undefined) {
      history = new KeyHistory(this.bytes.copy(r.key), id);
      this.keys.set(id, history);
    }
    this.writePut(batch, history, prev, container, start, length, lease);
    const header = { revision: batch.main };
    return r.prevKv === true && prev !== undefined ? { header, prevKv: prev } : { header };
  }

  private applyDelete(batch: WriteBatch, r: DeleteRangeRequest): DeleteRangeResponse {
    const deleted = this.writeDeletes(batch, keySpan(r.key, r.rangeEnd));
    return {
      header: { revision: this.readRevision(batch) },
      deleted: deleted.length,
      prevKvs: r.prevKv === true ? deleted : [],
    };
  }

  /** writePut records a put to `history`, whose live version is `prev`. */
  private writePut(batch: WriteBatch, history: KeyHistory, prev: StoredWrite | undefined,
    container: Uint8Array, start: number, length: number, lease: LeaseId): void {
    const id = history.id;
    const kv = StoredWrite.putAt(history.key, batch.main, batch.sub++, prev?.createRevision ?? batch.main, (prev?.version ?? 0) + 1,
      container, start, length, lease);
    if (prev !== undefined && prev.lease !== NO_LEASE) this.leases.detach(prev.lease, id);
    if (lease !== NO_LEASE) this.leases.attach(lease, id);
    this.record(history, kv);
    batch.events.push(prev === undefined ? { type: EventType.Put, kv } : { type: EventType.Put, kv, prevKv: prev });
  }

  /** writeDeletes tombstones every live key in `span` (in key order) and returns their last versions. */
  private writeDeletes(batch: WriteBatch, span: KeySpan): KeyValue[] {
    const live: KeyHistory[] = [];
    const collect = (history: KeyHistory): void => {
      if ((history.latest()?.kv ?? null) !== null) live.push(history);
    };
    if (span.end === undefined) {
      const history = this.keys.get(span.start);
      if (history !== undefined) collect(history);
    } else {
      const high = span.end ?? KEY_HIGH;
      if (high > span.start) this.keys.forRange(span.start, high, false, (_id, history) => collect(history));
    }
    return live.map((history) => {
      const prev = history.latest()!.kv!;
      if (prev.lease !== NO_LEASE) this.leases.detach(prev.lease, history.id);
      const write = StoredWrite.tombstone(history.key, batch.main, batch.sub++);
      this.record(history, write);
      // The tombstone is the kv etcd reports for a DELETE: the key, the deleting revision, version 0.
      batch.events.push({ type: EventType.Delete, kv: write, prevKv: prev });
      return prev;
    });
  }

  private record(history: KeyHistory, write: StoredWrite): void {
    history.append(write);
    this.revisionLog.append(history, write);
    this.size += this.writeBytes(history, write);
  }

  private writeBytes(history: KeyHistory, write: StoredWrite): number {
    return history.key.length + (write.version > 0 ? write.valueLength : 0) + KV_ENTRY_OVERHEAD_BYTES;
  }

  private endWrite(batch: WriteBatch): void {
    if (batch.sub === 0) return;
    assert(batch.main > this.current, 'main revisions increase');
    this.current = batch.main;
  }

  /** readRevision is what reads inside a request see: its own revision once it changed something. */
  private readRevision(batch: WriteBatch | undefined): number {
    return batch !== undefined && batch.sub > 0 ? batch.main : this.current;
  }

  private checkAssigned(revision: number | undefined): KvError | undefined {
    if (revision === undefined) return undefined;
    return Number.isSafeInteger(revision) && revision > this.current ? undefined : kvError(KvErrorCode.RevisionNotIncreasing);
  }

  /** checkPutState is etcd's checkRequestPut: ignore* needs the key; a lease must exist. */
  private checkPutState(r: PutRequest): KvError | undefined {
    if ((r.ignoreValue === true || r.ignoreLease === true) && this.latestKv(keyString(r.key)) === undefined) {
      return kvError(KvErrorCode.KeyNotFound);
    }
    const lease = r.lease ?? NO_LEASE;
    if (lease !== NO_LEASE && !this.leases.has(lease)) return kvError(KvErrorCode.LeaseNotFound);
    return undefined;
  }

  /** checkRangeRevision is etcd's checkRequestRange for ranges inside a txn. */
  private checkRangeRevision(revision: number): KvError | undefined {
    if (revision === 0) return undefined;
    if (revision > this.current) return kvError(KvErrorCode.FutureRevision);
    if (revision < this.compacted) return kvError(KvErrorCode.Compacted);
    return undefined;
  }

  private checkNoSpaceAlarm(): KvError | undefined {
    return this.hasAlarm(AlarmType.NoSpace) ? kvError(KvErrorCode.NoSpace) : undefined;
  }

  /**
   * checkQuota refuses a write that would take the size over the quota and arms the NOSPACE
   * alarm (replicated state: every member arms it at the same command).
   */
  private checkQuota(costBytes: number): KvError | undefined {
    if (costBytes <= 0) return undefined;
    if (this.hasAlarm(AlarmType.NoSpace)) return kvError(KvErrorCode.NoSpace);
    if (this.size + costBytes <= this.limits.quotaBytes) return undefined;
    this.activateAlarm(0n, AlarmType.NoSpace);
    return kvError(KvErrorCode.NoSpace);
  }

  // ---- leases --------------------------------------------------------------------------------

  /**
   * leaseGrant is etcd's LeaseGrant. `id` 0n generates an id from replicated state (so every
   * member picks the same). TTLs above the maximum fail; below the minimum are raised.
   */
  leaseGrant(r: LeaseGrantRequest): WriteResult<LeaseGrantResponse> {
    const capped = this.checkNoSpaceAlarm();
    if (capped !== undefined) return failed(capped);
    const requested = r.id ?? NO_LEASE;
    if (requested < INT64_MIN || requested > INT64_MAX) return failed(kvError(KvErrorCode.LeaseNotFound));
    if (r.ttl > this.limits.leaseTtlSecondsMax) return failed(kvError(KvErrorCode.LeaseTtlTooLarge));
    if (requested !== NO_LEASE && this.leases.has(requested)) return failed(kvError(KvErrorCode.LeaseExists));
    if (this.leases.size >= this.limits.leasesMax) return failed(kvError(KvErrorCode.NoSpace));
    const quota = this.checkQuota(KV_LEASE_OVERHEAD_BYTES);
    if (quota !== undefined) return failed(quota);
    const id = requested !== NO_LEASE ? requested : this.leases.generateId();
    const ttl = Math.max(r.ttl, this.limits.leaseTtlSecondsMin);
    this.leases.add(id, ttl);
    this.size += KV_LEASE_OVERHEAD_BYTES;
    return { ok: true, response: { header: { revision: this.current }, id, ttl }, events: [] };
  }

  /** leaseRevoke is etcd's LeaseRevoke: deletes the attached keys (byte order) in one revision. */
  leaseRevoke(r: LeaseRevokeRequest, revision?: number): WriteResult<LeaseRevokeResponse> {
    const lease = this.leases.get(r.id);
    if (lease === undefined) return failed(kvError(KvErrorCode.LeaseNotFound));
    const invalid = this.checkAssigned(revision);
    if (invalid !== undefined) return failed(invalid);
    const batch = new WriteBatch(revision ?? this.current + 1);
    for (const id of [...lease.keys].sort()) this.writeDeletes(batch, { start: id, end: undefined });
    assert(lease.keys.size === 0, 'revoke detaches every key');
    this.leases.remove(r.id);
    this.sessions.dropLease(r.id);
    this.size -= KV_LEASE_OVERHEAD_BYTES;
    this.endWrite(batch);
    return { ok: true, response: { header: { revision: this.current } }, events: batch.events };
  }

  /** leaseCheckpoint records remaining TTLs the leader observed (unknown leases are ignored, as etcd). */
  leaseCheckpoint(r: LeaseCheckpointRequest): WriteResult<LeaseCheckpointResponse> {
    for (const checkpoint of r.checkpoints) {
      const lease = this.leases.get(checkpoint.id);
      if (lease !== undefined) lease.remainingTtl = checkpoint.remainingTtl;
    }
    return { ok: true, response: { header: { revision: this.current } }, events: [] };
  }

  /** leaseInfo describes a lease for LeaseTimeToLive (the leader adds its clock's view). */
  leaseInfo(id: LeaseId): LeaseInfo | undefined {
    return this.leases.info(id);
  }

  /** leaseIds lists live leases in ascending id order (LeaseLeases). */
  leaseIds(): LeaseId[] {
    return this.leases.ids();
  }

  // ---- sequencers ----------------------------------------------------------------------------

  /** sequencerNext takes numbers from a named counter; consumes no revision, no watch events. */
  sequencerNext(r: SequencerNextRequest): WriteResult<SequencerNextResponse> {
    const taken = this.sequencers.next(r);
    if (!taken.ok) return failed(taken.error);
    return { ok: true, response: { header: { revision: this.current }, first: taken.first, count: taken.count }, events: [] };
  }

  // ---- alarms --------------------------------------------------------------------------------

  /** alarm is etcd's Alarm: GET lists (type NONE = all), ACTIVATE/DEACTIVATE arm and disarm. */
  alarm(r: AlarmRequest): WriteResult<AlarmResponse> {
    const header = { revision: this.current };
    switch (r.action) {
      case AlarmAction.Get:
        return { ok: true, response: { header, alarms: this.alarms(r.alarm) }, events: [] };
      case AlarmAction.Activate: {
        if (r.alarm === AlarmType.None) return { ok: true, response: { header, alarms: [] }, events: [] };
        return { ok: true, response: { header, alarms: [this.activateAlarm(r.memberId, r.alarm)] }, events: [] };
      }
      case AlarmAction.Deactivate: {
        const i = this.alarmList.findIndex((a) => a.memberId === r.memberId && a.alarm === r.alarm);
        const removed = i < 0 ? [] : this.alarmList.splice(i, 1);
        return { ok: true, response: { header, alarms: removed }, events: [] };
      }
    }
  }

  /** alarms lists armed alarms of `type` (NONE = all), ordered by member then type. */
  alarms(type: AlarmType = AlarmType.None): AlarmMember[] {
    return this.alarmList.filter((a) => type === AlarmType.None || a.alarm === type);
  }

  private hasAlarm(type: AlarmType): boolean {
    return this.alarmList.some((a) => a.alarm === type);
  }

  private activateAlarm(memberId: bigint, alarm: AlarmType): AlarmMember {
    const existing = this.alarmList.find((a) => a.memberId === memberId && a.alarm === alarm);
    if (existing !== undefined) return existing;
    const member = { memberId, alarm };
    this.alarmList.push(member);
    this.alarmList.sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : a.alarm - b.alarm));
    return member;
  }

  // ---- history and state ---------------------------------------------------------------------

  /**
   * history returns the events of whole revisions from `startRevision` on (>= compactRevision),
   * stopping after the revision that reaches `eventsMax` events; `nextRevision` is where to go on.
   * prevKv is the version before each write, when history still holds it.
   */
  history(startRevision: number, eventsMax: number): HistoryBatch {
    assert(startRevision >= this.compacted, 'history below the compact revision');
    const events: WatchEvent[] = [];
    let nextRevision = this.current + 1;
    let main = -1;
    for (let i = this.revisionLog.firstAtOrAbove(startRevision); i < this.revisionLog.length; i++) {
      const write = this.revisionLog.writeAt(i);
      if (write.main !== main) {
        // Whole revisions only: stop before a revision once the batch is full.
        if (events.length >= eventsMax) {
          nextRevision = write.main;
          break;
        }
        main = write.main;
      }
      const history = this.revisionLog.historyAt(i);
      const index = history.indexOf(write.main, write.sub);
      assert(index >= 0, 'history lists retained writes');
      const prevKv = history.previousVersion(index);
      const kv: KeyValue = write.kv ?? (write as StoredWrite);
      const type = write.kv === null ? EventType.Delete : EventType.Put;
      events.push(prevKv === undefined ? { type, kv } : { type, kv, prevKv });
    }
    return { events, nextRevision: Math.max(nextRevision, startRevision) };
  }

  /**
   * exportDelta returns what changed after the state at `baseRevision` (a revision this store
   * was at, not compacted past since): its writes with a higher main revision in revision order,
   * and the whole rest of the state (store-delta.ts). Shares immutable records, as exportState.
   */
  exportDelta(baseRevision: number): StoreDelta {
    assert(baseRevision >= this.compacted && baseRevision <= this.current, 'delta base between the compact and the current revision');
    const writes: { key: Uint8Array; write: KeyWrite }[] = [];
    for (let i = this.revisionLog.firstAtOrAbove(baseRevision + 1); i < this.revisionLog.length; i++) {
      writes.push({ key: this.revisionLog.historyAt(i).key, write: this.revisionLog.writeAt(i) });
    }
    return {
      baseRevision,
      currentRevision: this.current,
      compactRevision: this.compacted,
      writes,
      leases: this.leases.all().map((l) => ({ id: l.id, grantedTtl: l.grantedTtl, remainingTtl: l.remainingTtl })),
      leaseGeneratorState: this.leases.generatorState,
      alarms: this.alarmList.slice(),
      sequencers: this.sequencers.export(),
      sessions: this.sessions.export(),
    };
  }

  /** exportState returns the replicated state in canonical order (shares immutable records). */
  exportState(): StoreState {
    const keys: { key: Uint8Array; writes: readonly KeyWrite[] }[] = [];
    this.keys.forEachPair((_id, history) => { keys.push({ key: history.key, writes: history.capture() }); });
    return {
      currentRevision: this.current,
      compactRevision: this.compacted,
      keys,
      leases: this.leases.all().map((l) => ({ id: l.id, grantedTtl: l.grantedTtl, remainingTtl: l.remainingTtl })),
      leaseGeneratorState: this.leases.generatorState,
      alarms: this.alarmList.slice(),
      sequencers: this.sequencers.export(),
      sessions: this.sessions.export(),
    };
  }

  /** importState replaces the whole state (snapshot restore); asserts the state is well formed. */
  importState(state: StoreState): void {
    this.keys = new OrderedMap();
    this.bytes = new ByteSlab();
    this.revisionLog.clear();
    this.leases.clear();
    this.size = 0;
    this.current = state.currentRevision;
    this.compacted = state.compactRevision;
    assert(this.compacted <= this.current, 'compact revision <= current revision');
    for (const l of state.leases) {
      this.leases.add(l.id, l.grantedTtl, l.remainingTtl);
      this.size += KV_LEASE_OVERHEAD_BYTES;
    }
    this.leases.generatorState = state.leaseGeneratorState;
    const changes: { history: KeyHistory; write: KeyWrite }[] = [];
    let previousId: string | undefined;
    for (const k of state.keys) {
      const id = keyString(k.key);
      assert(previousId === undefined || id > previousId, 'snapshot keys in order');
      assert(k.writes.length > 0, 'snapshot key with no writes');
      previousId = id;
      const history = new KeyHistory(this.bytes.copy(k.key), id);
      for (const w of k.writes) {
        assert(w.main <= this.current, 'write above the current revision');
        const kv = w.kv;
        let stored: StoredWrite;
        if (kv === null) {
          stored = StoredWrite.tombstone(history.key, w.main, w.sub);
        } else {
          const at = this.bytes.place(kv.value);
          stored = StoredWrite.putAt(history.key, w.main, w.sub, kv.createRevision, kv.version, this.bytes.placedIn, at, kv.value.length, kv.lease);
        }
        history.append(stored);
        this.size += this.writeBytes(history, stored);
        if (stored.main >= this.compacted) changes.push({ history, write: stored });
      }
      const latest = history.latest()!.kv;
      if (latest !== null && latest.lease !== NO_LEASE) this.leases.attach(latest.lease, id);
      this.keys.set(id, history);
    }
    changes.sort((a, b) => a.write.main - b.write.main || a.write.sub - b.write.sub);
    for (const change of changes) this.revisionLog.append(change.history, change.write);
    this.alarmList = state.alarms.slice();
    this.sequencers.import(state.sequencers);
    this.sessions.import(state.sessions);
  }
}

