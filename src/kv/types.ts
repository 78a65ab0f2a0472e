/**
 * Request, response and record types of the MVCC store, mirroring etcd's `etcdserverpb` and
 * `mvccpb` messages field for field (proto names in camelCase), so the etcd API layer maps them
 * one to one.
 *
 * Numbers: revisions, versions, TTLs and counts are safe integers (|n| <= 2^53 - 1); the API layer
 * rejects larger int64 values at the boundary. Lease ids are int64 chosen by clients and may exceed
 * 2^53, so they are `bigint` (signed 64-bit range; 0n means "no lease").
 * Keys and values are `Uint8Array`; an empty `rangeEnd` means "the single key", `rangeEnd` = [0]
 * means "every key >= key".
 */

/** Revision is a main revision of the store: an increasing safe integer, possibly with gaps. */
export type Revision = number;

/** LeaseId is an etcd lease id (int64). `NO_LEASE` (0n) means no lease. */
export type LeaseId = bigint;

/** NO_LEASE is the lease id of a key that has no lease. */
export const NO_LEASE: LeaseId = 0n;

/** KeyValue is mvccpb.KeyValue: one version of a key. */
export interface KeyValue {
  readonly key: Uint8Array;
  /** createRevision is the revision of the put that created this generation of the key. */
  readonly createRevision: number;
  /** modRevision is the revision of the last write to the key. */
  readonly modRevision: number;
  /** version counts writes since the key was (re)created: 1 for the creating put; 0 on delete. */
  readonly version: number;
  readonly value: Uint8Array;
  readonly lease: LeaseId;
}

/** SortOrder is RangeRequest.SortOrder. */
export const SortOrder = { None: 0, Ascend: 1, Descend: 2 } as const;
export type SortOrder = (typeof SortOrder)[keyof typeof SortOrder];

/** SortTarget is RangeRequest.SortTarget. */
export const SortTarget = { Key: 0, Version: 1, Create: 2, Mod: 3, Value: 4 } as const;
export type SortTarget = (typeof SortTarget)[keyof typeof SortTarget];

/** RangeRequest is etcdserverpb.RangeRequest. Omitted fields take etcd's zero values. */
export interface RangeRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  /** limit caps the number of kvs returned; 0 = no limit. */
  readonly limit?: number;
  /** revision to read at; <= 0 = current. */
  readonly revision?: number;
  readonly sortOrder?: SortOrder;
  readonly sortTarget?: SortTarget;
  /** serializable is a read-consistency hint for the serving layer; the store ignores it. */
  readonly serializable?: boolean;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
  readonly minModRevision?: number;
  readonly maxModRevision?: number;
  readonly minCreateRevision?: number;
  readonly maxCreateRevision?: number;
}

/** ResponseHeader carries the store revision; cluster/member ids and term are added by the API layer. */
export interface ResponseHeader {
  readonly revision: number;
}

export interface RangeResponse {
  readonly header: ResponseHeader;
  readonly kvs: readonly KeyValue[];
  /** more is true when `limit` cut the result. */
  readonly more: boolean;
  /** count is the number of keys in the range at the read revision (before min/max filters, as etcd). */
  readonly count: number;
}

/** PutRequest is etcdserverpb.PutRequest. */
export interface PutRequest {
  readonly key: Uint8Array;
  readonly value?: Uint8Array;
  readonly lease?: LeaseId;
  readonly prevKv?: boolean;
  readonly ignoreValue?: boolean;
  readonly ignoreLease?: boolean;
}

export interface PutResponse {
  readonly header: ResponseHeader;
  readonly prevKv?: KeyValue;
}

/** DeleteRangeRequest is etcdserverpb.DeleteRangeRequest. */
export interface DeleteRangeRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  readonly prevKv?: boolean;
}

export interface DeleteRangeResponse {
  readonly header: ResponseHeader;
  readonly deleted: number;
  readonly prevKvs: readonly KeyValue[];
}

/** CompareResult is Compare.CompareResult. */
export const CompareResult = { Equal: 0, Greater: 1, Less: 2, NotEqual: 3 } as const;
export type CompareResult = (typeof CompareResult)[keyof typeof CompareResult];

/** Compare is etcdserverpb.Compare; the target union is a discriminated union on `target`. */
export type Compare = {
  readonly result: CompareResult;
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
} & (
  | { readonly target: 'version'; readonly version: number }
  | { readonly target: 'create'; readonly createRevision: number }
  | { readonly target: 'mod'; readonly modRevision: number }
  | { readonly target: 'value'; readonly value: Uint8Array }
  | { readonly target: 'lease'; readonly lease: LeaseId }
);

/** RequestOp is etcdserverpb.RequestOp (one of range, put, deleteRange, txn). */
export type RequestOp =
  | { readonly type: 'range'; readonly request: RangeRequest }
  | { readonly type: 'put'; readonly request: PutRequest }
  | { readonly type: 'deleteRange'; readonly request: DeleteRangeRequest }
  | { readonly type: 'txn'; readonly request: TxnRequest };

/** ResponseOp is etcdserverpb.ResponseOp. */
export type ResponseOp =
  | { readonly type: 'range'; readonly response: RangeResponse }
  | { readonly type: 'put'; readonly response: PutResponse }
  | { readonly type: 'deleteRange'; readonly response: DeleteRangeResponse }
  | { readonly type: 'txn'; readonly response: TxnResponse };

/** TxnRequest is etcdserverpb.TxnRequest. */
export interface TxnRequest {
  readonly compare: readonly Compare[];
  readonly success: readonly RequestOp[];
  readonly failure: readonly RequestOp[];
}

export interface TxnResponse {
  readonly header: ResponseHeader;
  readonly succeeded: boolean;
  readonly responses: readonly ResponseOp[];
}

/** CompactionRequest is etcdserverpb.CompactionRequest (`physical` only matters to etcd's backend). */
export interface CompactionRequest {
  readonly revision: number;
  readonly physical?: boolean;
}

export interface CompactionResponse {
  readonly header: ResponseHeader;
}

/**
 * LeaseGrantRequest is etcdserverpb.LeaseGrantRequest. `id` 0n asks the store to generate an id;
 * the generated id is a deterministic function of the replicated state, so every member agrees.
 */
export interface LeaseGrantRequest {
  /** ttl in seconds. */
  readonly ttl: number;
  readonly id?: LeaseId;
}

export interface LeaseGrantResponse {
  readonly header: ResponseHeader;
  readonly id: LeaseId;
  /** ttl in seconds actually granted (raised to the configured minimum). */
  readonly ttl: number;
}

export interface LeaseRevokeRequest {
  readonly id: LeaseId;
}

export interface LeaseRevokeResponse {
  readonly header: ResponseHeader;
}

/** LeaseCheckpoint is etcdserverpb.LeaseCheckpoint: the remaining TTL (seconds) the leader observed. */
export interface LeaseCheckpoint {
  readonly id: LeaseId;
  readonly remainingTtl: number;
}

export interface LeaseCheckpointRequest {
  readonly checkpoints: readonly LeaseCheckpoint[];
}

export interface LeaseCheckpointResponse {
  readonly header: ResponseHeader;
}

/** LeaseInfo is what the store knows of a lease (time-free: the leader adds its clock). */
export interface LeaseInfo {
  readonly id: LeaseId;
  /** grantedTtl in seconds. */
  readonly grantedTtl: number;
  /** remainingTtl in seconds from the last checkpoint; 0 = never checkpointed (full TTL). */
  readonly remainingTtl: number;
  /** keys attached to the lease, in byte order. */
  readonly keys: readonly Uint8Array[];
}

/** AlarmType is etcdserverpb.AlarmType. */
export const AlarmType = { None: 0, NoSpace: 1, Corrupt: 2 } as const;
export type AlarmType = (typeof AlarmType)[keyof typeof AlarmType];

/** AlarmAction is AlarmRequest.AlarmAction. */
export const AlarmAction = { Get: 0, Activate: 1, Deactivate: 2 } as const;
export type AlarmAction = (typeof AlarmAction)[keyof typeof AlarmAction];

/** AlarmMember is etcdserverpb.AlarmMember (memberId is a uint64). */
export interface AlarmMember {
  readonly memberId: bigint;
  readonly alarm: AlarmType;
}

export interface AlarmRequest {
  readonly action: AlarmAction;
  readonly memberId: bigint;
  readonly alarm: AlarmType;
}

export interface AlarmResponse {
  readonly header: ResponseHeader;
  readonly alarms: readonly AlarmMember[];
}

/** EventType is mvccpb.Event.EventType. */
export const EventType = { Put: 0, Delete: 1 } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/**
 * WatchEvent is mvccpb.Event. For a DELETE, `kv` holds only the key and the deleting revision as
 * modRevision (etcd's tombstone). `prevKv` is the version before this write, when there was one.
 */
export interface WatchEvent {
  readonly type: EventType;
  readonly kv: KeyValue;
  readonly prevKv?: KeyValue;
}
