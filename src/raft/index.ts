/**
 * The Raft core's public entry point. Pure: no I/O, timers, clock or randomness of its own.
 * See docs/raft-core-api.md for the host loop.
 */
export { RawNode } from './raw-node.js';
export { Raft } from './raft.js';
export { RAFT_DEFAULTS, ReadOnlyOption, type RaftConfig } from './config.js';
export { MemoryStorage, type LogStorage } from './storage.js';
export { bootstrapLog } from './bootstrap.js';
export { RaftError, RaftErrorCode, isRaftError } from './errors.js';
export { encodeConfChange, decodeConfChange } from './conf-change-codec.js';
export {
  defaultDataFormatter, describeConfChange, describeConfState, describeEntries, describeEntry,
  describeHardState, describeMessage, describeReadState, describeReady, describeSnapshot, describeSoftState,
  type DataFormatter,
} from './describe.js';
export type { ProgressStatus, RaftStatus } from './status.js';
export { ProgressState } from './tracker/progress.js';
export * from './types.js';
