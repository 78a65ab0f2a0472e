import {
  MvccStore, StoreDeltaEncoder, StoreSnapshotEncoder, WatchHub, applyKvCommand, decodeKvCommand, decodeStoreDelta, decodeStoreState,
  encodeStoreSnapshot, mergeStoreChain, type KvApplyResult, type KvCommand, type MvccStoreOptions, type WatchEvent, type WatchHubOptions,
} from '../kv/index.js';
import type { LogIndex } from '../raft/index.js';
import { snapshotChainParts } from '../storage/snapshot-chain.js';
import type { SnapshotRef, SnapshotStream } from '../storage/snapshot-store.js';
import type { StateMachine } from './state-machine.js';

/**
 * SNAPSHOT_CHUNK_BYTES is about how much of a snapshot snapshotStream encodes per event-loop turn:
 * a 64 KiB chunk is ≈ 0.25 ms of work, so requests served between chunks wait that long at most
 * (256 KiB chunks measured a higher put-256 p99; docs/performance.md).
 */
const SNAPSHOT_CHUNK_BYTES = 64 * 1024;

/** SNAPSHOT_CHAIN_LENGTH_MAX: after this many deltas in a row the next snapshot is whole again. */
const SNAPSHOT_CHAIN_LENGTH_MAX = 16;
/** SNAPSHOT_POINTS_KEPT: how many recent snapshots the machine remembers the store revision of. */
const SNAPSHOT_POINTS_KEPT = 8;

/**
 * SnapshotPoint is what the machine remembers of a snapshot it took or restored: the store's
 * revisions there, and the chain it belongs to (the whole state's size and the deltas' since).
 */
interface SnapshotPoint {
  readonly revision: number;
  readonly compactRevision: number;
  readonly baseBytes: number;
  readonly deltaBytes: number;
  readonly length: number;
}

async function* chunksOf(encoder: { nextChunk(bytesMax: number): Uint8Array | undefined }): AsyncIterable<Uint8Array> {
  for (let chunk = encoder.nextChunk(SNAPSHOT_CHUNK_BYTES); chunk !== undefined; chunk = encoder.nextChunk(SNAPSHOT_CHUNK_BYTES)) {
    yield chunk;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** AppliedListener hears every applied command with its result, in log order. */
export type AppliedListener = (command: KvCommand, result: KvApplyResult, index: LogIndex) => void;

/**
 * KvStateMachine is the data group's state machine: replicated KV commands applied to one
 * MvccStore, with the watch hub fed in apply order. Listeners (the lessor, watch streams) run
 * after each apply, synchronously, before the proposer hears the result.
 */
export class KvStateMachine implements StateMachine<KvApplyResult> {
  readonly store: MvccStore;
  readonly hub: WatchHub;
  private readonly listeners: AppliedListener[] = [];
  private readonly eventListeners: ((events: readonly WatchEvent[]) => void)[] = [];
  private readonly restoreListeners: (() => void)[] = [];
  /** appliedIndex is the log index of the last applied command. */
  appliedIndex: LogIndex = 0;
  /** snapshotPoints: the recent snapshots taken or restored, by log index (see snapshotStream). */
  private readonly snapshotPoints = new Map<LogIndex, SnapshotPoint>();

  constructor(storeOptions: MvccStoreOptions = {}, hubOptions: WatchHubOptions = {}) {
    this.store = new MvccStore(storeOptions);
    this.hub = new WatchHub(this.store, hubOptions);
  }

  onApplied(listener: AppliedListener): void {
    this.listeners.push(listener);
  }

  /** onEvents hears the watch events of every applied write (after the hub was notified). */
  onEvents(listener: (events: readonly WatchEvent[]) => void): void {
    this.eventListeners.push(listener);
  }

  /** onRestore hears that the whole state was replaced by a snapshot. */
  onRestore(listener: () => void): void {
    this.restoreListeners.push(listener);
  }

  /**
   * apply decodes the command as views of `data` (no copies): the command is used only during
   * this call and the store copies the keys and values it keeps.
   */
  apply(index: LogIndex, data: Uint8Array): KvApplyResult {
    const command = decodeKvCommand(data, { share: true });
    const result = applyKvCommand(this.store, command);
    this.appliedIndex = index;
    if (result.ok && result.events.length > 0) {
      this.hub.notify(result.events);
      for (const l of this.eventListeners) l(result.events);
    }
    for (const l of this.listeners) l(command, result, index);
    return result;
  }

  snapshot(): Uint8Array {
    return encodeStoreSnapshot(this.store);
  }

  /**
   * snapshotStream captures the state now (as of the last applied index) and returns its size and
   * its bytes in chunks of about 64 KiB, one per event-loop turn, so that a large store neither
   * blocks the loop (a leader blocked for a second hands its leadership over) nor is ever held
   * serialized in memory at once. Applies may go on meanwhile: the captured state does not change.
   *
   * Given the storage's current snapshot `base`, the stream is a delta over it (its `base` set)
   * when this machine took or restored that snapshot, the store has not compacted since, and the
   * chain stays short: fewer than SNAPSHOT_CHAIN_LENGTH_MAX deltas whose bytes add up to less
   * than the whole state they start from. Otherwise it is the whole state. So every byte of the
   * history is written a bounded number of times, not once per snapshot.
   */
  snapshotStream(base?: SnapshotRef): SnapshotStream {
    const point = base === undefined ? undefined : this.snapshotPoints.get(base.index);
    if (point !== undefined && point.compactRevision === this.store.compactRevision && point.revision <= this.store.currentRevision &&
      point.length < SNAPSHOT_CHAIN_LENGTH_MAX) {
      const encoder = new StoreDeltaEncoder(this.store.exportDelta(point.revision));
      if (point.deltaBytes + encoder.size < point.baseBytes) {
        this.remember(this.appliedIndex, {
          revision: this.store.currentRevision, compactRevision: this.store.compactRevision,
          baseBytes: point.baseBytes, deltaBytes: point.deltaBytes + encoder.size, length: point.length + 1,
        });
        return { bytes: encoder.size, chunks: chunksOf(encoder), base: base! };
      }
    }
    const encoder = new StoreSnapshotEncoder(this.store.exportState());
    this.remember(this.appliedIndex, {
      revision: this.store.currentRevision, compactRevision: this.store.compactRevision, baseBytes: encoder.size, deltaBytes: 0, length: 0,
    });
    return { bytes: encoder.size, chunks: chunksOf(encoder) };
  }

  private remember(index: LogIndex, point: SnapshotPoint): void {
    this.snapshotPoints.set(index, point);
    for (const old of this.snapshotPoints.keys()) {
      if (this.snapshotPoints.size <= SNAPSHOT_POINTS_KEPT) break;
      this.snapshotPoints.delete(old);
    }
  }

  /** restore replaces the state with a snapshot's: a whole state, or a chain of one and its deltas. */
  restore(data: Uint8Array, index: LogIndex): void {
    const [whole, ...deltas] = snapshotChainParts(data);
    const state = mergeStoreChain(decodeStoreState(whole!), deltas.map(decodeStoreDelta));
    this.store.importState(state);
    this.appliedIndex = index;
    this.snapshotPoints.clear();
    this.remember(index, {
      revision: state.currentRevision, compactRevision: state.compactRevision, baseBytes: whole!.byteLength,
      deltaBytes: deltas.reduce((n, d) => n + d.byteLength, 0), length: deltas.length,
    });
    // Watchers catch up from the restored history (or are canceled if it was compacted).
    this.hub.resyncAll();
    for (const l of this.restoreListeners) l();
  }
}
