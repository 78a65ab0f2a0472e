import type { Message, NodeId, SnapshotStatus } from '../../src/raft/types.js';
import type { GroupId, TransportHandler } from '../../src/transport/transport.js';

/** Received is one message a TransportRecorder saw. */
export interface Received {
  readonly from: NodeId;
  readonly groupId: GroupId;
  readonly message: Message;
}

/** SnapshotReport is one onSnapshotStatus call a TransportRecorder saw. */
export interface SnapshotReport {
  readonly peer: NodeId;
  readonly groupId: GroupId;
  readonly snapshotIndex: number;
  readonly status: SnapshotStatus;
}

/** TransportRecorder is a TransportHandler that records every callback, for tests. */
export class TransportRecorder implements TransportHandler {
  readonly received: Received[] = [];
  readonly unreachable: { peer: NodeId; groupId: GroupId | undefined }[] = [];
  readonly snapshots: SnapshotReport[] = [];

  onMessage(from: NodeId, groupId: GroupId, message: Message): void {
    this.received.push({ from, groupId, message });
  }

  onUnreachable(peer: NodeId, groupId: GroupId | undefined): void {
    this.unreachable.push({ peer, groupId });
  }

  onSnapshotStatus(peer: NodeId, groupId: GroupId, snapshotIndex: number, status: SnapshotStatus): void {
    this.snapshots.push({ peer, groupId, snapshotIndex, status });
  }

  /** clear forgets everything recorded so far. */
  clear(): void {
    this.received.length = 0;
    this.unreachable.length = 0;
    this.snapshots.length = 0;
  }
}

/** waitFor polls `condition` every few milliseconds; rejects with `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** settle waits `ms` milliseconds (to show that something does not happen). */
export function settle(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** heartbeat builds a small message whose `commit` field numbers it, for order checks. */
export function heartbeat(from: number, to: number, seq: number): Message {
  return { type: 'MsgHeartbeat', from: from as NodeId, to: to as NodeId, term: 1, commit: seq, context: '', sentTick: seq };
}

/** app builds a MsgApp with `entryCount` entries of `entryBytes` bytes, numbered by `index`. */
export function app(from: number, to: number, index: number, entryCount = 1, entryBytes = 16): Message {
  const entries = Array.from({ length: entryCount }, (_, i) => ({
    term: 1, index: index + i + 1, type: 'normal' as const, data: new Uint8Array(entryBytes).fill((index + i) & 0xff),
  }));
  return { type: 'MsgApp', from: from as NodeId, to: to as NodeId, term: 1, logTerm: 1, index, commit: index, commitOnly: false, entries };
}

/** snapshotMessage builds a MsgSnap at `index` carrying `dataBytes` of patterned data. */
export function snapshotMessage(from: number, to: number, index: number, dataBytes: number): Message & { type: 'MsgSnap' } {
  const data = new Uint8Array(dataBytes);
  let x = index * 2654435761;
  for (let i = 0; i < dataBytes; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  return {
    type: 'MsgSnap', from: from as NodeId, to: to as NodeId, term: 2,
    snapshot: { metadata: { index, term: 1, confState: { voters: [1, 2, 3] as NodeId[], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false } }, data },
  };
}
