import * as path from 'node:path';
import type { HardState, LogIndex } from '../raft/types.js';
import { openWritableOrAppend, type FileSystem, type WritableFile } from './file-system.js';
import { STORAGE_LIMITS } from './limits.js';
import { RecordEncoder, WAL_FORMAT_VERSION, type SnapshotMarker, type WalIdentity } from './wal-record.js';
import { TEMP_SUFFIX, hex16, segmentName, type SegmentName } from './wal-segment-name.js';

/** SegmentStart is what a new segment's header records: the log's state when it starts. */
export interface SegmentStart {
  readonly hardState: HardState;
  readonly marker: SnapshotMarker;
  readonly lastIndex: LogIndex;
}

/**
 * OpenSegment is the segment the WAL writes to. `file` takes records at `endBytes` (its logical
 * end); `positional` is false when the FileSystem has no `openWritable`, in which case the file is
 * an append handle and segments are not preallocated.
 */
export interface OpenSegment {
  readonly file: WritableFile;
  readonly segment: SegmentName;
  readonly endBytes: number;
  readonly positional: boolean;
}

/** preparedSegmentPath is the temp file that segment `seq` is zero-filled in before it is needed. */
export function preparedSegmentPath(dir: string, seq: number): string {
  return path.join(dir, `${hex16(seq)}.segment${TEMP_SUFFIX}`);
}

/**
 * prepareSegment creates the temp file for segment `seq`, fills it with `sizeBytes` zeros
 * (chunks of `preallocateChunkBytes`; Node has no fallocate) and fdatasyncs it once, so later
 * writes into it overwrite allocated blocks and their fdatasync commits no size change. Needs
 * `fs.openWritable`. Returns the temp path; the file is closed. A crash part-way leaves a `*.tmp`
 * file that the next open deletes.
 */
export async function prepareSegment(fs: FileSystem, dir: string, seq: number, sizeBytes: number): Promise<string> {
  const tempPath = preparedSegmentPath(dir, seq);
  const file = await fs.openWritable!(tempPath);
  try {
    const chunkBytes = STORAGE_LIMITS.preallocateChunkBytes;
    const zeros = new Uint8Array(Math.min(chunkBytes, sizeBytes));
    for (let at = 0; at < sizeBytes; at += chunkBytes) {
      await file.write(at + chunkBytes <= sizeBytes ? zeros : zeros.subarray(0, sizeBytes - at), at);
    }
    await file.datasync();
  } finally {
    await file.close();
  }
  return tempPath;
}

/**
 * createSegment starts segment `seq`: its header (metadata, snapshot marker, hard state) is
 * written at the start of a temp file and fdatasynced, the file renamed into place and the
 * directory fsynced, so a segment never exists without its header. With `fs.openWritable` the
 * temp file is a preallocated one: `preparedPath` if the WAL prepared it ahead of time, else it
 * is zero-filled to `sizeBytes` now. Returns the segment opened for writing after its header.
 */
export async function createSegment(
  fs: FileSystem, dir: string, identity: WalIdentity, seq: number, start: SegmentStart,
  sizeBytes: number, preparedPath: string | undefined,
): Promise<OpenSegment> {
  const firstIndex = start.lastIndex + 1;
  const segment = { name: segmentName(seq, firstIndex), seq, firstIndex };
  const header = new RecordEncoder()
    .add({ type: 'metadata', metadata: { formatVersion: WAL_FORMAT_VERSION, identity, seq, firstIndex } })
    .add({ type: 'snapshot', marker: start.marker })
    .add({ type: 'hard-state', hardState: start.hardState })
    .finish();
  const finalPath = path.join(dir, segment.name);
  let tempPath: string;
  if (fs.openWritable) {
    tempPath = preparedPath ?? (await prepareSegment(fs, dir, seq, sizeBytes));
    const temp = await fs.openWritable(tempPath);
    try {
      await temp.write(header, 0);
      await temp.datasync();
    } finally {
      await temp.close();
    }
  } else {
    tempPath = finalPath + TEMP_SUFFIX;
    const temp = await fs.openAppend(tempPath);
    try {
      await temp.append([header]);
      await temp.datasync();
    } finally {
      await temp.close();
    }
  }
  await fs.rename(tempPath, finalPath);
  await fs.syncDir(dir);
  const opened = await openWritableOrAppend(fs, finalPath, header.byteLength);
  return { ...opened, segment, endBytes: header.byteLength };
}
