/**
 * Public entry point of src/kv: the pure MVCC state machine with etcd's semantics (store,
 * leases, alarms), its replicated commands and their codec, snapshots, hashes and the watch hub.
 */
export * from './types.js';
export { KvError, KvErrorCode, type GrpcCode } from './kv-errors.js';
export { KV_LIMITS_DEFAULT, checkKvLimits, type KvLimits } from './kv-limits.js';
export { MvccStore, type MvccStoreOptions, type StoreState, type StoreDelta, type HistoryBatch } from './mvcc-store.js';
export { StoreDeltaEncoder, decodeStoreDelta, encodeStoreDelta, mergeStoreChain } from './store-delta.js';
export type { KeyWrite } from './key-history.js';
export type { ReadResult, WriteResult } from './results.js';
export { applyKvCommand, SESSIONED_COMMANDS, type KvCommand, type KvCommandType, type KvCommandResponse, type KvApplyResult } from './kv-command.js';
export { encodeKvCommand, decodeKvCommand, KV_COMMAND_VERSION, KV_COMMAND_SESSION_VERSION, KV_TXN_DEPTH_MAX } from './command-codec.js';
export {
  SequencerTable, checkSequencerNext, SEQUENCER_COUNT_MAX, SEQUENCER_COUNTERS_MAX, SEQUENCER_NAME_BYTES_MAX,
  type SequencerNextRequest, type SequencerNextResponse, type SequencerCounter,
} from './sequencer-table.js';
export {
  SessionTable, isValidSession, SESSION_CLIENT_ID_BYTES_MAX, SESSION_RESULTS_MAX, SESSIONS_MAX,
  type CommandSession, type SessionRecord, type SessionState,
} from './session-table.js';
export {
  encodeStoreSnapshot, encodeStoreState, decodeStoreState, restoreStoreSnapshot, StoreSnapshotEncoder, STORE_SNAPSHOT_VERSION,
} from './store-snapshot.js';
export { hashStore, hashKv, type HashKvResponse } from './store-hash.js';
export { WatchHub, type WatchCreateRequest, type WatchResponse, type WatchHubOptions, type WatcherId } from './watch-hub.js';
export {
  checkTxnRequest, checkPutRequest, checkRangeRequest, checkDeleteRequest,
} from './txn-validate.js';
export { prefixEnd, compareBytes, bytesEqual } from './bytes.js';
