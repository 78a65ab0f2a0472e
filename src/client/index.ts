/**
 * The Concord TypeScript client: the one public entry point of src/client. See docs/client.md.
 *
 * ```ts
 * import { Concord, compare, op } from 'concord/client';
 * const client = new Concord({ endpoints: ['127.0.0.1:2379', '127.0.0.1:22379', '127.0.0.1:32379'] });
 * await client.put('greeting', 'hello');
 * const kv = await client.get('greeting', { consistency: 'serializable' });
 * const lock = await client.lock('jobs');
 * await client.guarded(lock).put('jobs/owner', 'me');   // refused with FencedError once the lock is lost
 * await lock.release();
 * const session = await client.session({ ttl: 60 });  // exactly-once writes, retried until answered
 * await session.put('orders/17', 'paid');
 * await session.close();
 * client.close();
 * ```
 */
export {
  Concord,
  READ_CONSISTENCY_HEADER,
  type ClaimResult,
  type ConcordOptions,
  type DeleteResult,
  type GetOptions,
  type MemberStatus,
  type PutResult,
  type RangeResult,
} from './client.js';
export { prefixEnd, toBytes, toText, type Bytes, type KeySelector } from './bytes.js';
export { ClientErrorCode, ConcordClientError, FencedError, WatchCompactedError, type ConcordClientErrorOptions } from './errors.js';
export { Election, type CampaignOptions, type LeaderInfo, type Leadership } from './election.js';
export { Lease, type LeaseOptions } from './lease.js';
export { Registration, SERVICES_PREFIX, type MemberEvent, type MemberMetadata, type RegisterOptions, type ServiceInstance, type WatchMembersOptions } from './membership.js';
export { ALLOCATION_PARTITIONS_MAX, Allocator, rendezvousOwner, type AllocateOptions, type AllocatorEvents } from './allocation.js';
export { type SnapshotChunk, type SnapshotOptions } from './maintenance.js';
export { FencingGate, Guarded, type Fence, type LockHandle, type LockOptions } from './lock.js';
export { Session, SESSION_METADATA, SESSION_TTL_SECONDS_DEFAULT, type SequencerBlock, type SessionOptions, type SessionStats } from './session.js';
export { SESSION_WINDOW_MAX } from './session-window.js';
export { type StmOptions, type StmResult, type StmTx } from './stm.js';
export { compare, op, TxnBuilder, type Compare, type CompareOp, type Op, type OpResult, type PutOptions, type TxnResult } from './txn.js';
export { type KeyValue, type ReadConsistency, type ResponseHeader, type Revision } from './types.js';
export { type WatchEvent, type WatchOptions } from './watch.js';
