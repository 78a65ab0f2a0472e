import {
  MvccStore, StoreSnapshotEncoder, WatchHub, applyKvCommand, decodeKvCommand, decodeStoreState, encodeStoreSnapshot,
  type KvApplyResult, type KvCommand, type MvccStoreOptions, type WatchEvent, type WatchHubOptions,
} from '../kv/index.js';
import type { LogIndex } from '../raft/index.js';
import type { SnapshotStream } from '../storage/snapshot-store.js';
import type { StateMachine } from './state-machine.js';

/** SNAPSHOT_CHUNK_BYTES is about how much of a snapshot snapshotStream encodes per event-loop turn (a 256 KiB chunk is ≈ 1 ms of work). */
const SNAPSHOT_CHUNK_BYTES = 256 * 1024;

async function* chunksOf(encoder: StoreSnapshotEncoder): AsyncIterable<Uint8Array> {
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
   * its bytes in chunks of about a megabyte, one per event-loop turn, so that a large store neither
   * blocks the loop (a leader blocked for a second hands its leadership over) nor is ever held
   * serialized in memory at once. Applies may go on meanwhile: the captured state does not change.
   */
  snapshotStream(): SnapshotStream {
    const encoder = new StoreSnapshotEncoder(this.store.exportState());
    return { bytes: encoder.size, chunks: chunksOf(encoder) };
  }

  restore(data: Uint8Array, index: LogIndex): void {
    this.store.importState(decodeStoreState(data));
    this.appliedIndex = index;
    // Watchers catch up from the restored history (or are canceled if it was compacted).
    this.hub.resyncAll();
    for (const l of this.restoreListeners) l();
  }
}
