import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { assert } from '../lib/assert.js';
import { DurationHistogram } from '../lib/duration-histogram.js';
import { nullLogger, type Logger } from '../lib/logger.js';
import { EMPTY_HARD_STATE, type Entry, type HardState, type LogIndex } from '../raft/types.js';
import { StorageError, StorageErrorCode, WalCorruptionError } from './errors.js';
import { openWritableOrAppend, type FileSystem, type WritableFile } from './file-system.js';
import { STORAGE_LIMITS } from './limits.js';
import {
  CLUSTER_ID_BYTES_MAX, SEGMENT_END_BYTES_MAX, WAL_FORMAT_VERSION, WAL_FORMAT_VERSIONS_READABLE, dataEndBytes,
  encodeRecords, formatHasZeroTail, isTornTail, isZeroRange, scanRecords,
  type ScannedRecord, type SnapshotMarker, type WalIdentity, type WalRecord,
} from './wal-record.js';
import { WalReplay } from './wal-replay.js';
import { createSegment, prepareSegment, type OpenSegment } from './wal-segment-file.js';
import { walFsyncBucketBounds } from './wal-fsync-buckets.js';
import { TEMP_SUFFIX, parseSegmentName, type SegmentName } from './wal-segment-name.js';

/** WalOptions configure one group's WAL. */
export interface WalOptions {
  /** identity is written into every segment header and checked on open. */
  readonly identity: WalIdentity;
  /**
   * segmentBytesMax: a segment is sealed when the next batch (plus its segment-end record) would
   * take it past this size. Segments are preallocated (zero-filled) to this size.
   */
  readonly segmentBytesMax?: number;
  readonly logger?: Logger;
}

/** WalBatch is what one Ready asks to persist: records are written in this order. */
export interface WalBatch {
  readonly snapshot?: SnapshotMarker | undefined;
  readonly entries: readonly Entry[];
  readonly hardState?: HardState | undefined;
}

/**
 * TornTail reports the bytes dropped from the last segment on recovery: cut off (version 1
 * segments, or no positional writes) or overwritten with zeros (preallocated version 2 segments).
 */
export interface TornTail {
  readonly path: string;
  readonly offsetBytes: number;
  /** bytesDropped counts the bytes from the tear to the last non-zero byte. */
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
 *
 * Segments are preallocated (when the FileSystem has `openWritable`): records are written at
 * explicit positions into a file already zero-filled to `segmentBytesMax`, so an fdatasync flushes
 * data blocks only. Once the current segment is half full, the next one is zero-filled in a temp
 * file in the background (off the hot path, like etcd's file pipeline) and renamed into place at
 * rollover.
 */
export class Wal {
  private file: WritableFile;
  private readonly positional: boolean;
  private segments: SegmentName[];
  /** segmentBytes is the logical end of the current segment: where the next write goes. */
  private segmentBytes: number;
  /** preparing is the background zero fill of the next segment's temp file (its path, or its error). */
  private preparing: { readonly seq: number; readonly done: Promise<string | Error> } | undefined;
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
  /**
   * fsyncs times every fdatasync of the log (etcd_disk_wal_fsync_duration_seconds), from the
   * request until its completion runs on the event loop (a busy loop adds its delay).
   */
  readonly fsyncs = new DurationHistogram(walFsyncBucketBounds);

  private constructor(
    private readonly dir: string,
    private readonly fs: FileSystem,
    private readonly identity: WalIdentity,
    options: WalOptions,
    opened: OpenSegment,
    segments: SegmentName[],
    position: LogPosition,
  ) {
    this.segmentBytesMax = options.segmentBytesMax ?? STORAGE_LIMITS.segmentBytesDefault;
    this.logger = options.logger ?? nullLogger;
    this.file = opened.file;
    this.positional = opened.positional;
    this.segments = segments;
    this.segmentBytes = opened.endBytes;
    this.queued = position;
    this.written = position;
    this.synced = position;
    this.prepareNextIfDue();
  }

  /**
   * open recovers the WAL in `dir` (creating an empty one if the directory holds no segment) and
   * returns it ready to append. A torn tail of the last segment is dropped (zeroed in a
   * preallocated segment, else truncated; fsynced); any other damage throws WalCorruptionError
   * naming the file and byte offset. Temp files (unfinished or prepared segments) are deleted.
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
      const first = await createSegment(fs, dir, options.identity, 1, position, segmentBytesMax, undefined);
      const wal = new Wal(dir, fs, options.identity, options, first, [first.segment], position);
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
    let lastFileBytes = 0;
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
      const first = scan.records[0]?.record;
      const zeroTail = first?.type === 'metadata' && formatHasZeroTail(first.metadata.formatVersion);
      if (scan.bad && zeroTail && isZeroRange(bytes, scan.bad.offset, bytes.byteLength)) {
        end = scan.bad.offset; // the clean end of a preallocated segment: zeros from here on
      } else if (scan.bad) {
        const { offset, problem } = scan.bad;
        const headerLost = scan.records.length === 0;
        if (!isLast || scan.bad.framingIntact || headerLost || !isTornTail(bytes, offset)) {
          throw new WalCorruptionError(file, offset, isLast ? problem : `${problem} (in a sealed segment)`);
        }
        const dataEnd = dataEndBytes(bytes);
        tornTail = { path: file, offsetBytes: offset, bytesDropped: dataEnd - offset, problem };
        if (zeroTail && fs.openWritable) {
          logger.warn('zeroing torn WAL tail', { ...tornTail });
          await zeroRange(fs, file, offset, dataEnd);
        } else {
          logger.warn('truncating torn WAL tail', { ...tornTail });
          await fs.truncate(file, offset);
        }
        end = offset;
      }
      replay = replaySegment(file, segment, scan.records, options.identity, replay, i === 0);
      const lastRecord = scan.records[scan.records.length - 1];
      sealed = lastRecord?.record.type === 'segment-end';
      if (!isLast && !sealed) {
        throw new WalCorruptionError(file, end, 'sealed segment has no segment-end record (truncated?)');
      }
      lastBytes = end;
      lastFileBytes = bytes.byteLength;
    }
    assert(replay !== undefined, 'recover needs at least one segment');
    const last = segments[segments.length - 1]!;
    replay.finish({ path: path.join(dir, last.name), offset: lastBytes });
    const position = { hardState: replay.hardState, marker: replay.marker, lastIndex: replay.lastIndex };
    let opened: OpenSegment;
    if (sealed) {
      // Crashed between sealing a segment and creating the next one: start the next one now.
      const segmentBytesMax = options.segmentBytesMax ?? STORAGE_LIMITS.segmentBytesDefault;
      opened = await createSegment(fs, dir, options.identity, last.seq + 1, position, segmentBytesMax, undefined);
      segments.push(opened.segment);
    } else {
      const lastPath = path.join(dir, last.name);
      // Without positional writes the zero tail of a preallocated segment is cut, so appends land at its end.
      if (!fs.openWritable && lastBytes < lastFileBytes) await fs.truncate(lastPath, lastBytes);
      opened = { ...(await openWritableOrAppend(fs, lastPath, lastBytes)), segment: last, endBytes: lastBytes };
    }
    const wal = new Wal(dir, fs, options.identity, options, opened, segments, position);
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

  /** close waits for queued saves and a background segment preparation, then closes the segment (no extra sync). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushing) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    if (this.preparing) await this.preparing.done; // its temp file is deleted by the next open
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
        if (this.segmentBytes + bytes.byteLength + SEGMENT_END_BYTES_MAX > this.segmentBytesMax && bytes.byteLength > 0) {
          await this.rollover();
        }
        if (bytes.byteLength > 0) {
          // Appends go straight to the page cache when the file allows it (no thread-pool round
          // trip); only the fdatasync below waits off the event loop.
          if (this.file.writeNow) this.file.writeNow(bytes, this.segmentBytes);
          else await this.file.write(bytes, this.segmentBytes);
        }
        this.segmentBytes += bytes.byteLength;
        this.prepareNextIfDue();
        this.written = group[group.length - 1]!.after;
        if (mustSync) {
          await this.timedDatasync();
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

  private async timedDatasync(): Promise<void> {
    const start = performance.now();
    await this.file.datasync();
    this.fsyncs.observe((performance.now() - start) / 1000);
  }

  /** rollover seals the current segment (segment-end record, fdatasync) and starts the next. */
  private async rollover(): Promise<void> {
    const current = this.segments[this.segments.length - 1]!;
    await this.file.write(encodeRecords([{ type: 'segment-end', seq: current.seq }]), this.segmentBytes);
    await this.timedDatasync();
    this.synced = this.written;
    await this.file.close();
    const next = await createSegment(this.fs, this.dir, this.identity, current.seq + 1, this.written,
      this.segmentBytesMax, await this.takePrepared(current.seq + 1));
    this.file = next.file;
    this.segments.push(next.segment);
    this.segmentBytes = next.endBytes;
    this.logger.info('started WAL segment', { path: next.file.path });
  }

  /**
   * prepareNextIfDue starts zero-filling the next segment in the background once the current one
   * is half full (so an idle WAL does not hold a second segment's worth of disk). Its failure is
   * kept and surfaces at rollover, failing the WAL then.
   */
  private prepareNextIfDue(): void {
    if (!this.positional || this.preparing || this.segmentBytes < this.segmentBytesMax / 2) return;
    const seq = this.segments[this.segments.length - 1]!.seq + 1;
    const done = prepareSegment(this.fs, this.dir, seq, this.segmentBytesMax).catch((error: unknown) =>
      error instanceof Error ? error : new Error(String(error)));
    this.preparing = { seq, done };
  }

  /** takePrepared waits for the prepared temp file of segment `seq` (undefined: none was started). */
  private async takePrepared(seq: number): Promise<string | undefined> {
    const preparing = this.preparing;
    this.preparing = undefined;
    if (!preparing) return undefined;
    assert(preparing.seq === seq, () => `prepared segment ${preparing.seq}, rolling over to ${seq}`);
    const result = await preparing.done;
    if (result instanceof Error) throw result;
    return result;
  }
}

/** zeroRange overwrites bytes [from, to) of `file` with zeros and fdatasyncs it (a torn tail of a preallocated segment). */
async function zeroRange(fs: FileSystem, file: string, from: number, to: number): Promise<void> {
  const handle = await fs.openWritable!(file);
  try {
    const zeros = new Uint8Array(Math.min(STORAGE_LIMITS.preallocateChunkBytes, Math.max(0, to - from)));
    for (let at = from; at < to; at += zeros.byteLength) await handle.write(zeros.subarray(0, Math.min(zeros.byteLength, to - at)), at);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** replaySegment checks a segment's header and feeds its records to the replay. */
function replaySegment(
  file: string, segment: SegmentName, records: readonly ScannedRecord[], identity: WalIdentity,
  replay: WalReplay | undefined, isFirst: boolean,
): WalReplay {
  const [meta, marker] = records;
  if (meta?.record.type !== 'metadata') throw new WalCorruptionError(file, 0, 'segment does not start with a metadata record');
  const m = meta.record.metadata;
  if (!WAL_FORMAT_VERSIONS_READABLE.includes(m.formatVersion)) {
    throw new StorageError(StorageErrorCode.FormatVersionUnsupported,
      `WAL segment ${file} has format version ${m.formatVersion}; this build reads versions ${WAL_FORMAT_VERSIONS_READABLE.join(', ')} ` +
      `(writes ${WAL_FORMAT_VERSION})`);
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
