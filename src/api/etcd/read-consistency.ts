import { GrpcError, GrpcStatus } from '../grpc/status.js';
import type { CallContext } from '../grpc/method.js';
import type { EtcdBackend } from './backend.js';

/**
 * READ_CONSISTENCY_HEADER selects how a read is made consistent (DESIGN §6), as gRPC metadata or
 * an HTTP header: `linearizable` (default: ReadIndex, a follower asks the leader), `serializable`
 * (local state, like etcd's `serializable: true`), `log` (the read goes through the log: a marker
 * entry is committed and applied before the local state is read) or `lease` (the leader's lease
 * when valid, else ReadIndex). etcd's own `serializable` field wins over the header.
 */
export const READ_CONSISTENCY_HEADER = 'x-concord-read-consistency';

export type ReadConsistency = 'linearizable' | 'serializable' | 'log' | 'lease';
const MODES: readonly ReadConsistency[] = ['linearizable', 'serializable', 'log', 'lease'];

const LOG_MARKER_KEY = new Uint8Array([0]);

/** readConsistency waits until the member's state satisfies the call's read consistency. */
export async function readConsistency(backend: EtcdBackend, call: CallContext, serializable: boolean): Promise<void> {
  const mode = serializable ? 'serializable' : modeOf(call);
  switch (mode) {
    case 'serializable':
      // Local state only moves forward, so reads on one connection never go back in revision.
      return;
    case 'linearizable':
    case 'lease':
      await backend.readBarrier(mode === 'lease' ? 'lease' : 'read-index');
      return;
    case 'log':
      await backend.propose({ type: 'range', request: { key: LOG_MARKER_KEY, countOnly: true } });
      return;
  }
}

function modeOf(call: CallContext): ReadConsistency {
  const raw = call.metadata[READ_CONSISTENCY_HEADER];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || value === '') return 'linearizable';
  if (!(MODES as readonly string[]).includes(value)) {
    throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, `concord: unknown ${READ_CONSISTENCY_HEADER} "${value}": expected ${MODES.join(', ')}`);
  }
  return value as ReadConsistency;
}
