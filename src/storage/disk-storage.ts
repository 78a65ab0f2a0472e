import * as path from 'node:path';
import { AssertionError, assert } from '../lib/assert.js';
import type { DurationHistogram } from '../lib/duration-histogram.js';
import { nullLogger, type Logger } from '../lib/logger.js';
import { RaftError, RaftErrorCode } from '../raft/errors.js';
import { MemoryStorage } from '../raft/storage.js';
import { MemoryView } from './memory-view.js';
import {
  EMPTY_CONF_STATE, type ConfState, type LogIndex, type Snapshot, type SnapshotMetadata, type Term,
} from '../raft/types.js';
import type { DurableLogStorage, PersistBatch } from './durable-log-storage.js';
import { StorageError, StorageErrorCode } from './errors.js';
import type { FileSystem } from './file-system.js';
import { STORAGE_LIMITS } from './limits.js';
import { SnapshotStore, type SnapshotStream } from './snapshot-store.js';
import type { WalIdentity } from './wal-record.js';
import { parseSegmentName } from './wal-segment-name.js';
import { Wal, type TornTail } from './wal.js';

/** DiskStorageOptions configure one group's storage directory. */
export interface DiskStorageOptions {
  /** identity is recorded in the WAL and checked on every open. */
  readonly identity: WalIdentity;
  /**
   * initialConfState is the configuration of a brand-new member (the founding voters, or empty
   * for a node that will join); ignored when the directory already holds a WAL.
   */
  readonly initialConfState?: ConfState;
  readonly segmentBytesMax?: number;
  /** snapshotsRetained is how many snapshot files to keep, the current one included. */
  readonly snapshotsRetained?: number;
  readonly logger?: Logger;
}

/** WAL_DIR and SNAP_DIR are the subdirectories of a group directory. */
export const WAL_DIR = 'wal';
export const SNAP_DIR = 'snap';

/**
 * DiskStorage is a group's durable log: a WAL (`<dir>/wal`) and snapshot files (`<dir>/snap`),
 * with the live log kept in memory (etcd's MemoryStorage + WAL pair). The Raft core reads the
 * memory view; writes reach it only after they are durable. Writes are serialized in call order.
 * The data of the current snapshot (the whole state machine: as large as the store) is not kept
 * in memory once it is in its file: `snapshot()` reads it back when a lagging follower needs it
 * (throwing SnapshotTemporarilyUnavailable until then, as the core expects), and keeps it until a
 * newer snapshot replaces it. `snapshotMetadata()` is always at hand.
 * Any I/O failure fails the storage for good (DESIGN §4): that call and every later one reject
 * with the same StorageError, and the node must restart and recover from disk.
 */
export class DiskStorage extends MemoryView implements DurableLogStorage {
  /** linkedSnapshots: createSnapshotFrom takes deltas over the current snapshot (snapshot-store.ts). */
  readonly linkedSnapshots = true;
  private tail: Promise<unknown> = Promise.resolve();
  /** sideTasks are writes running beside the queue (snapshot files); close waits for them. */
  private readonly sideTasks = new Set<Promise<unknown>>();
  /** snapshotLoad is the read of the current snapshot's data under way, if any. */
  private snapshotLoad: Promise<void> | undefined;
  private failure: StorageError | undefined;
  private closed = false;

  private constructor(
    readonly dir: string,
    memory: MemoryStorage,
    private readonly wal: Wal,
    private readonly snapshots: SnapshotStore,
    private readonly snapshotsRetained: number,
    /** tornTail reports what recovery cut from the end of the WAL, if anything. */
    readonly tornTail: TornTail | undefined,
    /** snapshotData is the current snapshot's data while it is held in memory. */
    private snapshotData: Uint8Array | undefined,
    private readonly logger: Logger,
  ) {
    super(memory);
  }

  /**
   * open recovers the group stored in `dir`, or starts a new one there (with a snapshot at index 0
   * holding `initialConfState`; `created` is then true). Throws WalCorruptionError / SnapshotCorruptionError when the
   * directory cannot be trusted.
   */
  static async open(dir: string, fs: FileSystem, options: DiskStorageOptions): Promise<{ storage: DiskStorage; created: boolean }> {
    const logger = options.logger ?? nullLogger;
    const retained = options.snapshotsRetained ?? STORAGE_LIMITS.snapshotsRetainedDefault;
    assert(retained >= 1, 'the current snapshot is always retained');
    if (!(await fs.exists(dir))) {
      await fs.mkdirp(dir);
      await fs.syncDir(path.dirname(dir));
    }
    const walDir = path.join(dir, WAL_DIR);
    const snapshots = await SnapshotStore.open(path.join(dir, SNAP_DIR), fs, logger);
    const hasWal = (await fs.exists(walDir)) && (await fs.list(walDir)).some((n) => parseSegmentName(n) !== undefined);
    if (!hasWal) {
      const confState = options.initialConfState ?? EMPTY_CONF_STATE;
      await snapshots.save({ metadata: { index: 0, term: 0, confState }, data: new Uint8Array(0) });
    }
    const walOptions = { identity: options.identity, logger, ...(options.segmentBytesMax !== undefined ? { segmentBytesMax: options.segmentBytesMax } : {}) };
    const { wal, recovery } = await Wal.open(walDir, fs, walOptions);
    try {
      const marker = recovery.snapshot;
      const snapshot = await snapshots.loadChain(marker.term, marker.index);
      await snapshots.purge(marker.term, marker.index, retained);
      const memory = MemoryStorage.withConf(snapshot.metadata.confState);
      if (marker.index > 0) memory.applySnapshot(withoutData(snapshot));
      memory.append(recovery.entries);
      // A snapshot holds only committed entries, but it may be taken before a hard state
      // recording that commit is durable (entries applied while a write was in flight, see
      // GroupHost.applyCommittedDuringWrite): the commit index restarts at least at the snapshot.
      const hardState = recovery.hardState.commit < marker.index ? { ...recovery.hardState, commit: marker.index } : recovery.hardState;
      memory.setHardState(hardState);
      logger.info('opened group storage', {
        dir, snapshotIndex: marker.index, firstIndex: memory.firstIndex(), lastIndex: memory.lastIndex(), created: recovery.created,
      });
      // The data is held after opening: the member restores its state machine from it.
      const data = marker.index > 0 ? snapshot.data : undefined;
      return { storage: new DiskStorage(dir, memory, wal, snapshots, retained, recovery.tornTail, data, logger), created: recovery.created };
    } catch (error) {
      await wal.close();
      throw error;
    }
  }

  /** walFsyncs times the WAL's fdatasyncs (for metrics). */
  get walFsyncs(): DurationHistogram {
    return this.wal.fsyncs;
  }

  /** walSegmentNames lists the live WAL segment files (for tests and status pages). */
  get walSegmentNames(): readonly string[] {
    return this.wal.segmentNames;
  }

  persistReady(batch: PersistBatch, mustSync: boolean): Promise<void> {
    return this.run(async () => {
      const snapshot = batch.snapshot;
      if (snapshot) {
        const current = this.memory.snapshot().metadata.index;
        if (snapshot.metadata.index <= current) {
          throw new RaftError(RaftErrorCode.SnapshotOutOfDate, `snapshot ${snapshot.metadata.index} is older than ${current}`);
        }
        await this.snapshots.save(snapshot);
      }
      const marker = snapshot ? { index: snapshot.metadata.index, term: snapshot.metadata.term, installed: true } : undefined;
      await this.wal.saveBatch({ snapshot: marker, entries: batch.entries, hardState: batch.hardState }, mustSync || snapshot !== undefined);
      if (snapshot) {
        // The host restores its state machine from the Ready's own copy; this one is on disk.
        this.memory.applySnapshot(withoutData(snapshot));
        this.snapshotData = undefined;
      }
      this.memory.append(batch.entries);
      if (batch.hardState) this.memory.setHardState(batch.hardState);
      if (snapshot) await this.purge(snapshot.metadata.term, snapshot.metadata.index);
    });
  }

  /**
   * createSnapshot records the state machine at `index`. The snapshot file (the bulk of the work:
   * megabytes written and synced) is written beside the log writes, not in their queue, so that
   * appends go on meanwhile; recording it in the WAL and the memory view is queued as usual.
   */
  async createSnapshot(index: LogIndex, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    const metadata = await this.createSnapshotFrom(index, confState, { bytes: data.byteLength, chunks: once(data) });
    return { metadata, data };
  }

  /**
   * createSnapshotFrom is createSnapshot with the data arriving in chunks, written to the file as
   * they come (the whole snapshot is never in memory). If the file went missing before it was
   * recorded (purged by a snapshot installed meanwhile), fails with SnapshotOutOfDate.
   */
  createSnapshotFrom(index: LogIndex, confState: ConfState, data: SnapshotStream): Promise<SnapshotMetadata> {
    const checked = (): Term => {
      const currentMetadata = this.memory.snapshot().metadata;
      const current = currentMetadata.index;
      if (index <= current) throw new RaftError(RaftErrorCode.SnapshotOutOfDate, `snapshot ${index} is not newer than ${current}`);
      // A delta is over the current snapshot or not at all (another snapshot was installed meanwhile).
      if (data.base !== undefined && (data.base.index !== current || data.base.term !== currentMetadata.term)) {
        throw new RaftError(RaftErrorCode.SnapshotOutOfDate, `snapshot ${index} is a delta over ${data.base.index}, not over the current snapshot ${current}`);
      }
      assert(index <= this.memory.lastIndex(), () => `snapshot ${index} beyond last index ${this.memory.lastIndex()}`);
      return this.memory.term(index);
    };
    const saved = this.guard(async () => {
      const term = checked();
      await this.snapshots.saveStream({ index, term, confState }, data);
      return term;
    });
    this.sideTasks.add(saved);
    void saved.finally(() => this.sideTasks.delete(saved)).catch(() => undefined);
    return saved.then((savedTerm) => this.run(async () => {
      const term = checked();
      assert(term === savedTerm, 'the term of a snapshot index does not change');
      // The WAL must never name a snapshot file that is missing.
      const files = await this.snapshots.list();
      if (!files.some((f) => f.index === index && f.term === term)) {
        throw new RaftError(RaftErrorCode.SnapshotOutOfDate, `snapshot ${index} was purged before it was recorded`);
      }
      // Nor one whose base is missing (purge keeps the bases of what it keeps from here on).
      const base = data.base;
      if (base !== undefined && !files.some((f) => f.index === base.index && f.term === base.term)) {
        throw new RaftError(RaftErrorCode.SnapshotOutOfDate, `the base ${base.index} of snapshot ${index} was purged before it was recorded`);
      }
      await this.wal.saveSnapshot({ index, term, installed: false });
      const snapshot = this.memory.createSnapshot(index, confState, NO_DATA);
      this.snapshotData = undefined;
      await this.purge(term, index);
      return snapshot.metadata;
    }));
  }

  /** snapshotMetadata describes the current snapshot (never needs its data). */
  snapshotMetadata(): SnapshotMetadata {
    return this.memory.snapshot().metadata;
  }

  /**
   * snapshot returns the current snapshot with its data when that is held in memory; otherwise
   * it starts reading the data back from the snapshot file and throws
   * SnapshotTemporarilyUnavailable (the core retries sending a snapshot later).
   */
  override snapshot(): Snapshot {
    const current = this.memory.snapshot();
    if (current.metadata.index === 0) return current;
    if (this.snapshotData !== undefined) return { metadata: current.metadata, data: this.snapshotData };
    this.loadSnapshotData();
    throw new RaftError(RaftErrorCode.SnapshotTemporarilyUnavailable, `snapshot ${current.metadata.index} is being read back from disk`);
  }

  /**
   * releaseSnapshotData lets go of the current snapshot's data held since opening (once the state
   * machine is restored from it); `snapshot()` reads it back if it is needed again.
   */
  releaseSnapshotData(): void {
    this.snapshotData = undefined;
  }

  /** snapshotDataHeld tells whether the current snapshot's data is in memory (for tests). */
  get snapshotDataHeld(): boolean {
    return this.snapshotData !== undefined || this.memory.snapshot().metadata.index === 0;
  }

  /** loadSnapshotData reads the current snapshot's data back (queued behind the writes before it). */
  private loadSnapshotData(): void {
    if (this.snapshotLoad !== undefined || this.closed || this.failure !== undefined) return;
    const load = this.run(async () => {
      const { index, term } = this.memory.snapshot().metadata;
      if (this.snapshotData !== undefined || index === 0) return;
      const loaded = await this.snapshots.loadChain(term, index);
      this.snapshotData = loaded.data;
      this.logger.info('snapshot read back for sending', { dir: this.dir, index, bytes: loaded.data.byteLength });
    });
    this.snapshotLoad = load;
    load.then(() => { this.snapshotLoad = undefined; }, () => { this.snapshotLoad = undefined; });
  }

  compact(compactIndex: LogIndex): Promise<void> {
    return this.run(async () => {
      if (compactIndex < this.memory.firstIndex()) {
        throw new RaftError(RaftErrorCode.Compacted, `index ${compactIndex} is already compacted`);
      }
      const snapshotIndex = this.memory.snapshot().metadata.index;
      assert(compactIndex <= snapshotIndex, () => `compact ${compactIndex} beyond the snapshot ${snapshotIndex}`);
      this.memory.compact(compactIndex);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    await Promise.allSettled([...this.sideTasks]);
    await this.wal.close();
  }

  /** purge drops snapshot files and WAL segments that the snapshot (term, index) makes unnecessary. */
  private async purge(term: Term, index: LogIndex): Promise<void> {
    await this.snapshots.purge(term, index, this.snapshotsRetained);
    await this.wal.purgeTo(index);
  }

  /** run serializes `op` behind earlier calls; an I/O error fails the storage. */
  private run<T>(op: () => Promise<T>): Promise<T> {
    const result = this.tail.then(() => this.guard(op));
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** guard runs `op` now (not queued) unless the storage failed or closed; an I/O error fails the storage. */
  private async guard<T>(op: () => Promise<T>): Promise<T> {
    if (this.failure) throw this.failure;
    if (this.closed) throw new StorageError(StorageErrorCode.Closed, `storage ${this.dir} is closed`);
    try {
      return await op();
    } catch (error) {
      if (error instanceof RaftError || error instanceof AssertionError) throw error;
      this.failure ??= error instanceof StorageError && error.code === StorageErrorCode.WalFailed ? error
        : new StorageError(StorageErrorCode.StorageFailed,
          `storage ${this.dir} failed (${error instanceof Error ? error.message : String(error)}); restart the node to recover from disk`,
          { cause: error });
      throw this.failure;
    }
  }
}

const NO_DATA = new Uint8Array(0);

/** withoutData is `snapshot` with its data left out (the memory view keeps only the metadata). */
function withoutData(snapshot: Snapshot): Snapshot {
  return { metadata: snapshot.metadata, data: NO_DATA };
}

async function* once(data: Uint8Array): AsyncIterable<Uint8Array> {
  yield data;
}
