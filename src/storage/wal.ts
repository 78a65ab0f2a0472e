import * as path from 'node:path';
import { assert } from '../lib/assert.js';
import { nullLogger, type Logger } from '../lib/logger.js';
import { EMPTY_HARD_STATE, type Entry, type HardState, type LogIndex } from '../raft/types.js';
import { StorageError, StorageErrorCode, WalCorruptionError } from './errors.js';
import type { AppendFile, FileSystem } from './file-system.js';
import { STORAGE_LIMITS } from './limits.js';
import {
  CLUSTER_ID_BYTES_MAX, RecordEncoder, WAL_FORMAT_VERSION, encodeRecords, isTornTail, scanRecords,
  type ScannedRecord, type SnapshotMarker, type WalIdentity, type WalRecord,
} from './wal-record.js';
import { WalReplay } from './wal-replay.js';
import { TEMP_SUFFIX, parseSegmentName, segmentName, type SegmentName } from './wal-segment-name.js';

/** WalOptions configure one group's WAL. */
export interface WalOptions {
  /** identity is written into every segment header and checked on open. */
  readonly identity: WalIdentity;
  /** segmentBytesMax: a segment is sealed when the next batch would take it past this size. */
  readonly segmentBytesMax?: number;
  readonly logger?: Logger;
}

/** WalBatch is what one Ready asks to persist: records are written in this order. */
export interface WalBatch {
  readonly snapshot?: SnapshotMarker | undefined;
  readonly entries: readonly Entry[];
  readonly hardState?: HardState | undefined;
}

/** TornTail reports the bytes cut from the last segment on recovery. */
export interface TornTail {
  readonly path: string;
  readonly offsetBytes: number;
  readonly bytesDropped: number;
  readonly problem: string;
}

/** WalRecovery is the state found on open. `entries` follow `snapshot.index` without gaps. */
export interface WalRecovery {
  readonly hardState: HardState;
  readonly snapshot: SnapshotMarker;
  readonly entries: readonly Entry[];
  /** created is true when the directory held no WAL and a new one was started. */
  readonly created: boolean;
  readonly tornTail: TornTail | undefined;
}

/** LogPosition is the state of the WAL after some prefix of the saved batches. */
interface LogPosition {
  readonly hardState: HardState;
  readonly marker: SnapshotMarker;
  readonly lastIndex: LogIndex;
}

interface PendingBatch {
  readonly bytes: Uint8Array;
  readonly mustSync: boolean;
  readonly after: LogPosition;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

const NO_SNAPSHOT: SnapshotMarker = { index: 0, term: 0, installed: false };

/**
 * Wal is the segmented write-ahead log of one Raft group, in its own directory. Saves are
 * serialized; batches queued while a write is in flight are merged into the next write (group
 * commit): one write and at most one fdatasync per flush, however many entries. A save resolves
 * after its bytes are written and, when `mustSync`, durable. Any failed write or fsync fails the
 * WAL for good: that save and every later call reject with CONCORD_WAL_FAILED (DESIGN §4).
 */
export class Wal {
  private file: AppendFile;
  private segments: SegmentName[];
  private segmentBytes: number;
  private pending: PendingBatch[] = [];
  private flushing = false;
  private readonly idleWaiters: (() => void)[] = [];
  private failure: StorageError | undefined;
  private closed = false;
  // Invariant: queued describes every accepted batch; written <= queued; synced <= written.
  private queued: LogPosition;
  private written: LogPosition;
  private synced: LogPosition;
  private readonly segmentBytesMax: number;
  private readonly logger: Logger;

  private constructor(
    private readonly dir: string,
    private readonly fs: FileSystem,
    private readonly identity: WalIdentity,
    options: WalOptions,
    file: AppendFile,
    segments: SegmentName[],
    segmentBytes: number,
    position: LogPosition,
  ) {
    this.segmentBytesMax = options.segmentBytesMax ?? STORAGE_LIMITS.segmentBytesDefault;
    this.logger = options.logger ?? nullLogger;
    this.file = file;
    this.segments = segments;
    this.segmentBytes = segmentBytes;
    this.queued = position;
    this.written = position;
    this.synced = position;
  }

  /**
   * open recovers the WAL in `dir` (creating an empty one if the directory holds no segment) and
   * returns it ready to append. A torn tail of the last segment is truncated (and fsynced); any
   * other damage throws WalCorruptionError naming the file and byte offset.
   */
  static async open(dir: string, fs: FileSystem, options: WalOptions): Promise<{ wal: Wal; recovery: WalRecovery }> {
    const segmentBytesMax = options.segmentBytesMax ?? STORAGE_LIMITS.segmentBytesDefault;
    assert(segmentBytesMax >= STORAGE_LIMITS.segmentBytesMin, () => `segmentBytesMax ${segmentBytesMax} below ${STORAGE_LIMITS.segmentBytesMin}`);
    const logger = options.logger ?? nullLogger;
    assert(new TextEncoder().encode(options.identity.clusterId).byteLength <= CLUSTER_ID_BYTES_MAX, 'cluster id too long');
    if (!(await fs.exists(dir))) {
      await fs.mkdirp(dir);
      await fs.syncDir(path.dirname(dir));
    }
    const segments: SegmentName[] = [];
    for (const name of await fs.list(dir)) {
      const parsed = parseSegmentName(name);
      if (parsed) segments.push(parsed);
      else if (name.endsWith(TEMP_SUFFIX)) await fs.unlink(path.join(dir, name)); // an unfinished segment
      else logger.warn('unexpected file in WAL directory', { dir, name });
    }
    segments.sort((a, b) => a.seq - b.seq);
    if (segments.length === 0) {
      const position = { hardState: EMPTY_HARD_STATE, marker: NO_SNAPSHOT, lastIndex: 0 };
      const first = await createSegment(fs, dir, options.identity, 1, position);
      const wal = new Wal(dir, fs, options.identity, options, first.file, [first.segment], first.bytes, position);
      return { wal, recovery: { hardState: EMPTY_HARD_STATE, snapshot: NO_SNAPSHOT, entries: [], created: true, tornTail: undefined } };
    }
    return Wal.recover(dir, fs, options, segments);
  }

  /** recover reads every segment in order and rebuilds the log (see WalReplay). */
  private static async recover(
    dir: string, fs: FileSystem, options: WalOptions, segments: SegmentName[],
  ): Promise<{ wal: Wal; recovery: WalRecovery }> {
    const logger = options.logger ?? nullLogger;
    let replay: WalReplay | undefined;
    let tornTail: TornTail | undefined;
    let lastBytes = 0;
    let sealed = false;
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      const file = path.join(dir, segment.name);
      const isLast = i === segments.length - 1;
      if (i > 0 && segment.seq !== segments[i - 1]!.seq + 1) {
        throw new WalCorruptionError(file, 0, `segment ${segments[i - 1]!.seq + 1} is missing before this one`);
      }
      const bytes = await fs.readFile(file);
      const scan = scanRecords(bytes);
      let end = bytes.byteLength;
      if (scan.bad) {
        const { offset, problem } = scan.bad;
        const headerLost = scan.records.length === 0;
        if (!isLast || scan.bad.framingIntact || headerLost || !isTornTail(bytes, offset)) {
          throw new WalCorruptionError(file, offset, isLast ? problem : `${problem} (in a sealed segment)`);
        }
        tornTail = { path: file, offsetBytes: offset, bytesDropped: bytes.byteLength - offset, problem };
        logger.warn('truncating torn WAL tail', { ...tornTail });
        await fs.truncate(file, offset);
        end = offset;
      }
      replay = replaySegment(file, segment, scan.records, options.identity, replay, i === 0);
      const lastRecord = scan.records[scan.records.length - 1];
      sealed = lastRecord?.record.type === 'segment-end';
      if (!isLast && !sealed) {
        throw new WalCorruptionError(file, end, 'sealed segment has no segment-end record (truncated?)');
      }
      lastBytes = end;
    }
    assert(replay !== undefined, 'recover needs at least one segment');
    const last = segments[segments.length - 1]!;
    replay.finish({ path: path.join(dir, last.name), offset: lastBytes });
    const position = { hardState: replay.hardState, marker: replay.marker, lastIndex: replay.lastIndex };
    let opened: { file: AppendFile; segment: SegmentName; bytes: number };
    if (sealed) {
      // Crashed between sealing a segment and creating the next one: start the next one now.
      opened = await createSegment(fs, dir, options.identity, last.seq + 1, position);
      segments.push(opened.segment);
    } else {
      opened = { file: await fs.openAppend(path.join(dir, last.name)), segment: last, bytes: lastBytes };
    }
    const wal = new Wal(dir, fs, options.identity, options, opened.file, segments, opened.bytes, position);
    const recovery = { hardState: replay.hardState, snapshot: replay.marker, entries: replay.entries, created: false, tornTail };
    return { wal, recovery };
  }

  /** save persists one Ready's hard state and entries (see saveBatch). */
  save(hardState: HardState | undefined, entries: readonly Entry[], mustSync: boolean): Promise<void> {
    return this.saveBatch({ hardState, entries }, mustSync);
  }

  /** saveSnapshot durably records that the log now continues from `marker` (after its file is durable). */
  saveSnapshot(marker: SnapshotMarker): Promise<void> {
    return this.saveBatch({ snapshot: marker, entries: [] }, true);
  }

  /**
   * saveBatch appends the batch's records (snapshot marker, entries, hard state) with the batches
   * queued beside it in one write, plus one fdatasync if any of them has `mustSync`. Entries must
   * be contiguous and start at most one past the last saved entry; an earlier start overwrites
   * the tail from there (the last writer wins on recovery).
   */
  saveBatch(batch: WalBatch, mustSync: boolean): Promise<void> {
    if (this.closed) return Promise.reject(new StorageError(StorageErrorCode.Closed, `WAL ${this.dir} is closed`));
    if (this.failure) return Promise.reject(this.failure);
    const records: WalRecord[] = [];
    let { hardState, marker, lastIndex } = this.queued;
    if (batch.snapshot) {
      assert(batch.snapshot.index > marker.index, () => `snapshot ${batch.snapshot!.index} is not newer than ${marker.index}`);
      records.push({ type: 'snapshot', marker: batch.snapshot });
      if (batch.snapshot.installed) lastIndex = batch.snapshot.index;
      else lastIndex = Math.max(lastIndex, batch.snapshot.index);
      marker = batch.snapshot;
    }
    let expected = batch.entries[0]?.index;
    if (expected !== undefined) {
      assert(expected <= lastIndex + 1, () => `entry ${expected} leaves a gap after ${lastIndex}`);
    }
    for (const entry of batch.entries) {
      assert(entry.index === expected, () => `entries not contiguous at ${entry.index}`);
      expected++;
      records.push({ type: 'entry', entry });
      lastIndex = entry.index;
    }
    if (batch.hardState) {
      records.push({ type: 'hard-state', hardState: batch.hardState });
      hardState = batch.hardState;
    }
    let bytes: Uint8Array;
    try {
      bytes = encodeRecords(records);
    } catch (error) {
      return Promise.reject(error);
    }
    const after = { hardState, marker, lastIndex };
    this.queued = after;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ bytes, mustSync, after, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /**
   * purgeTo deletes the oldest segments whose entries all lie at or before `snapshotIndex`, which
   * must not exceed the durable snapshot marker. The segment in use is never deleted. Returns the
   * deleted file names.
   */
  async purgeTo(snapshotIndex: LogIndex): Promise<string[]> {
    if (this.failure) throw this.failure;
    assert(snapshotIndex <= this.synced.marker.index,
      () => `purge to ${snapshotIndex} beyond the durable snapshot marker ${this.synced.marker.index}`);
    const deleted: string[] = [];
    while (this.segments.length > 1 && this.segments[1]!.firstIndex - 1 <= snapshotIndex) {
      const oldest = this.segments[0]!;
      await this.fs.unlink(path.join(this.dir, oldest.name));
      await this.fs.syncDir(this.dir); // oldest first and one at a time: the survivors stay a suffix
      this.segments.shift();
      deleted.push(oldest.name);
    }
    if (deleted.length > 0) this.logger.info('purged WAL segments', { dir: this.dir, deleted });
    return deleted;
  }

  /** segmentNames lists the live segment files, oldest first. */
  get segmentNames(): readonly string[] {
    return this.segments.map((s) => s.name);
  }

  /** failed is the error that failed the WAL, if any. */
  get failed(): StorageError | undefined {
    return this.failure;
  }

  /** close waits for queued saves, then closes the segment (no extra sync). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushing) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.file.close();
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.pending.length > 0) {
      const group = this.pending.splice(0);
      if (this.failure) {
        for (const b of group) b.reject(this.failure);
        continue;
      }
      const mustSync = group.some((b) => b.mustSync);
      const bytes = concat(group.map((b) => b.bytes));
      try {
        if (this.segmentBytes + bytes.byteLength > this.segmentBytesMax && bytes.byteLength > 0) await this.rollover();
        if (bytes.byteLength > 0) await this.file.append([bytes]);
        this.segmentBytes += bytes.byteLength;
        this.written = group[group.length - 1]!.after;
        if (mustSync) {
          await this.file.datasync();
          this.synced = this.written;
        }
      } catch (error) {
        this.failure = new StorageError(StorageErrorCode.WalFailed,
          `WAL ${this.file.path} failed (${describeError(error)}); no write is retried, restart the node to recover from disk`,
          { cause: error });
        this.logger.error('WAL failed', { path: this.file.path, error: describeError(error) });
        for (const b of group) b.reject(this.failure);
        continue;
      }
      for (const b of group) b.resolve();
    }
    this.flushing = false;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** rollover seals the current segment (segment-end record, fdatasync) and starts the next. */
  private async rollover(): Promise<void> {
    const current = this.segments[this.segments.length - 1]!;
    await this.file.append([encodeRecords([{ type: 'segment-end', seq: current.seq }])]);
    await this.file.datasync();
    this.synced = this.written;
    await this.file.close();
    const next = await createSegment(this.fs, this.dir, this.identity, current.seq + 1, this.written);
    this.file = next.file;
    this.segments.push(next.segment);
    this.segmentBytes = next.bytes;
    this.logger.info('started WAL segment', { path: next.file.path });
  }
}

/**
 * createSegment writes a new segment's header (metadata, snapshot marker, hard state) to a temp
 * file, fdatasyncs it, renames it into place and fsyncs the directory, so a segment never exists
 * without its header. Returns it opened for appending.
 */
async function createSegment(
  fs: FileSystem, dir: string, identity: WalIdentity, seq: number, position: LogPosition,
): Promise<{ file: AppendFile; segment: SegmentName; bytes: number }> {
  const segment = { name: segmentName(seq, position.lastIndex + 1), seq, firstIndex: position.lastIndex + 1 };
  const header = new RecordEncoder()
    .add({ type: 'metadata', metadata: { formatVersion: WAL_FORMAT_VERSION, identity, seq, firstIndex: segment.firstIndex } })
    .add({ type: 'snapshot', marker: position.marker })
    .add({ type: 'hard-state', hardState: position.hardState })
    .finish();
  const finalPath = path.join(dir, segment.name);
  const tempPath = finalPath + TEMP_SUFFIX;
  const temp = await fs.openAppend(tempPath);
  try {
    await temp.append([header]);
    await temp.datasync();
  } finally {
    await temp.close();
  }
  await fs.rename(tempPath, finalPath);
  await fs.syncDir(dir);
  return { file: await fs.openAppend(finalPath), segment, bytes: header.byteLength };
}

/** replaySegment checks a segment's header and feeds its records to the replay. */
function replaySegment(
  file: string, segment: SegmentName, records: readonly ScannedRecord[], identity: WalIdentity,
  replay: WalReplay | undefined, isFirst: boolean,
): WalReplay {
  const [meta, marker] = records;
  if (meta?.record.type !== 'metadata') throw new WalCorruptionError(file, 0, 'segment does not start with a metadata record');
  const m = meta.record.metadata;
  if (m.formatVersion !== WAL_FORMAT_VERSION) {
    throw new StorageError(StorageErrorCode.FormatVersionUnsupported,
      `WAL segment ${file} has format version ${m.formatVersion}; this build reads version ${WAL_FORMAT_VERSION}`);
  }
  if (m.identity.clusterId !== identity.clusterId || m.identity.groupId !== identity.groupId || m.identity.nodeId !== identity.nodeId) {
    throw new StorageError(StorageErrorCode.WalIdentityMismatch,
      `WAL segment ${file} belongs to cluster ${m.identity.clusterId} group ${m.identity.groupId} node ${m.identity.nodeId}, ` +
      `not cluster ${identity.clusterId} group ${identity.groupId} node ${identity.nodeId}: wrong data directory?`);
  }
  if (m.seq !== segment.seq || m.firstIndex !== segment.firstIndex) {
    throw new WalCorruptionError(file, meta.offset, `header says segment ${m.seq} from index ${m.firstIndex}, file name disagrees`);
  }
  if (marker?.record.type !== 'snapshot') throw new WalCorruptionError(file, meta.endOffset, 'segment header lacks its snapshot marker');
  const out = replay ?? new WalReplay(marker.record.marker, isFirst && segment.seq > 1 ? segment.firstIndex : 0);
  for (let i = 1; i < records.length; i++) {
    const { record, offset } = records[i]!;
    const at = { path: file, offset };
    switch (record.type) {
      case 'metadata':
        throw new WalCorruptionError(file, offset, 'metadata record in the middle of a segment');
      case 'entry':
        out.addEntry(record.entry, at);
        break;
      case 'hard-state':
        out.addHardState(record.hardState);
        break;
      case 'snapshot':
        out.addSnapshotMarker(record.marker, at);
        break;
      case 'segment-end':
        if (record.seq !== segment.seq || i !== records.length - 1) {
          throw new WalCorruptionError(file, offset, 'segment-end record is not the last record of its segment');
        }
        break;
    }
  }
  return out;
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let total = 0;
  for (const c of chunks) total += c.byteLength;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
