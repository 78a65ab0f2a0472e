import * as path from 'node:path';
import { assert } from '../lib/assert.js';
import { BinaryReader, BinaryWriter, CodecError } from '../lib/binary.js';
import { nullLogger, type Logger } from '../lib/logger.js';
import type { LogIndex, Snapshot, SnapshotMetadata, Term } from '../raft/types.js';
import { readSnapshot, writeSnapshotMetadata } from '../raft/wire-codec.js';
import { crc32 } from './crc32.js';
import { SnapshotCorruptionError, StorageError, StorageErrorCode } from './errors.js';
import type { FileSystem } from './file-system.js';
import { STORAGE_LIMITS } from './limits.js';
import { encodeSnapshotChain, snapshotChainParts } from './snapshot-chain.js';
import { TEMP_SUFFIX, hex16 } from './wal-segment-name.js';

/**
 * Snapshot files (format version 1), one per snapshot, named `<term:016x>-<index:016x>.snap`:
 *   u32 magic "CSNP" | u16 version | snapshot (wire-codec: metadata, u32 length + data) | u32 crc
 * where `crc` is CRC-32 over every byte before it.
 *
 * A snapshot may link to a base: its file is then named
 * `<term:016x>-<index:016x>.on-<baseTerm:016x>-<baseIndex:016x>.snap` and its data is only what
 * the state machine changed since the base (a delta). Loading it (`loadChain`) follows the links
 * down to a snapshot without one and returns the parts as one chain (snapshot-chain.ts); `purge`
 * keeps every file a kept snapshot links to, however far down.
 */
export const SNAPSHOT_FORMAT_VERSION = 1;

const MAGIC = 0x504e5343; // "CSNP" little-endian
const TRAILER_BYTES = 4;
const namePattern = /^([0-9a-f]{16})-([0-9a-f]{16})(?:\.on-([0-9a-f]{16})-([0-9a-f]{16}))?\.snap$/;

/** SnapshotRef names a snapshot by its term and index. */
export interface SnapshotRef {
  readonly term: Term;
  readonly index: LogIndex;
}

/**
 * SnapshotStream is snapshot data produced piece by piece: its total size, known up front, and
 * its bytes in chunks (whose lengths add up to `bytes`).
 */
export interface SnapshotStream {
  readonly bytes: number;
  readonly chunks: AsyncIterable<Uint8Array>;
  /** base, when set: the data is a delta over that snapshot, which must be the current one. */
  readonly base?: SnapshotRef;
}

/** SnapshotFile is one snapshot file found in the directory. */
export interface SnapshotFile {
  readonly name: string;
  readonly term: Term;
  readonly index: LogIndex;
  /** base is the snapshot this one's data is a delta over (none: the data is whole). */
  readonly base?: SnapshotRef;
}

/**
 * SnapshotStore keeps a group's snapshots as files in one directory. A snapshot is written to a
 * temp file, fdatasynced, renamed into place and the directory fsynced, so a crash leaves either
 * the complete new file or none. Which snapshot is current is decided by the WAL's latest
 * snapshot marker, never by "the newest file" (see `load` and docs/storage.md).
 */
export class SnapshotStore {
  private constructor(readonly dir: string, private readonly fs: FileSystem, private readonly logger: Logger) {}

  /** open creates the directory if needed and removes temp files left by a crash. */
  static async open(dir: string, fs: FileSystem, logger: Logger = nullLogger): Promise<SnapshotStore> {
    if (!(await fs.exists(dir))) {
      await fs.mkdirp(dir);
      await fs.syncDir(path.dirname(dir));
    }
    for (const name of await fs.list(dir)) {
      if (name.endsWith(TEMP_SUFFIX)) await fs.unlink(path.join(dir, name));
    }
    return new SnapshotStore(dir, fs, logger);
  }

  /** save writes `snapshot` durably (temp file, fdatasync, rename, directory fsync). */
  save(snapshot: Snapshot): Promise<SnapshotFile> {
    return this.saveStream(snapshot.metadata, { bytes: snapshot.data.byteLength, chunks: once(snapshot.data) });
  }

  /**
   * saveStream writes a snapshot whose data arrives in chunks, the same file as `save` (so the
   * data never needs to be in memory at once); throws if the chunks do not add up to `bytes`.
   */
  async saveStream(metadata: SnapshotMetadata, data: SnapshotStream): Promise<SnapshotFile> {
    if (data.base !== undefined && (await this.find(data.base.term, data.base.index)) === undefined) {
      throw new SnapshotCorruptionError(path.join(this.dir, snapshotName(data.base.term, data.base.index)), 'the base of a linked snapshot is missing');
    }
    const { index, term } = metadata;
    if (data.bytes > STORAGE_LIMITS.snapshotBytesMax) {
      throw new StorageError(StorageErrorCode.RecordTooLarge, `snapshot of ${data.bytes} bytes exceeds ${STORAGE_LIMITS.snapshotBytesMax}`);
    }
    // The same bytes as writeSnapshot after the magic and version: metadata, u32 data length,
    // the data; then the CRC of all of it.
    const w = new BinaryWriter(256);
    w.u32(MAGIC).u16(SNAPSHOT_FORMAT_VERSION);
    writeSnapshotMetadata(w, metadata);
    w.u32(data.bytes);
    const head = w.finish();
    const name = snapshotName(term, index, data.base);
    const finalPath = path.join(this.dir, name);
    const tempPath = finalPath + TEMP_SUFFIX;
    const file = await this.fs.openAppend(tempPath);
    try {
      let crc = crc32(head);
      let written = 0;
      let unsynced = head.byteLength;
      await file.append([head]);
      for await (const chunk of data.chunks) {
        crc = crc32(chunk, crc);
        written += chunk.byteLength;
        if (written > data.bytes) break;
        await file.append([chunk]);
        unsynced += chunk.byteLength;
        // Flushed a piece at a time, so the WAL's fdatasyncs never wait behind the whole file.
        if (unsynced >= STORAGE_LIMITS.snapshotSyncEveryBytes) {
          await file.datasync();
          unsynced = 0;
        }
      }
      assert(written === data.bytes, () => `snapshot data of ${written} bytes, ${data.bytes} announced`);
      await file.append([new BinaryWriter(TRAILER_BYTES).u32(crc).finish()]);
      await file.datasync();
    } finally {
      await file.close();
    }
    await this.fs.rename(tempPath, finalPath);
    await this.fs.syncDir(this.dir);
    return data.base === undefined ? { name, term, index } : { name, term, index, base: data.base };
  }

  /**
   * load reads the snapshot (term, index). A missing or damaged file throws
   * SnapshotCorruptionError: the caller asks for the snapshot its WAL continues from, and older
   * snapshots cannot stand in for it once the WAL is purged past them.
   */
  async load(term: Term, index: LogIndex): Promise<Snapshot> {
    const found = await this.find(term, index);
    const file = path.join(this.dir, found?.name ?? snapshotName(term, index));
    if (found === undefined) throw new SnapshotCorruptionError(file, 'file is missing');
    return decodeSnapshotFile(file, await this.fs.readFile(file));
  }

  /**
   * loadChain reads the snapshot (term, index) and, when it links to a base, the bases down to
   * one that does not: its data is then the chain of their parts, oldest first (snapshot-chain.ts).
   * A missing or damaged file anywhere in the chain throws SnapshotCorruptionError.
   */
  async loadChain(term: Term, index: LogIndex): Promise<Snapshot> {
    const top = await this.load(term, index);
    const parts: Uint8Array[] = [top.data];
    let link = (await this.find(term, index))?.base;
    for (let depth = 0; link !== undefined; depth++) {
      const file = await this.find(link.term, link.index);
      const fileName = path.join(this.dir, file?.name ?? snapshotName(link.term, link.index));
      if (file === undefined) throw new SnapshotCorruptionError(fileName, `file is missing (the base of snapshot ${snapshotName(term, index)})`);
      if (depth > STORAGE_LIMITS.snapshotChainLengthMax) throw new SnapshotCorruptionError(fileName, 'snapshot chain longer than any this build writes');
      const base = await this.load(link.term, link.index);
      try {
        parts.unshift(...(file.base === undefined ? snapshotChainParts(base.data) : [base.data]));
      } catch (error) {
        if (error instanceof CodecError) throw new SnapshotCorruptionError(fileName, `undecodable chain: ${error.message}`, { cause: error });
        throw error;
      }
      link = file.base;
    }
    return parts.length === 1 ? top : { metadata: top.metadata, data: encodeSnapshotChain(parts) };
  }

  /** find returns the file of snapshot (term, index), whole or linked (whole first if both exist). */
  async find(term: Term, index: LogIndex): Promise<SnapshotFile | undefined> {
    const matches = (await this.list()).filter((f) => f.term === term && f.index === index);
    return matches.find((f) => f.base === undefined) ?? matches[0];
  }

  /** list returns the snapshot files, oldest (lowest index) first. */
  async list(): Promise<SnapshotFile[]> {
    const files: SnapshotFile[] = [];
    for (const name of await this.fs.list(this.dir)) {
      const m = namePattern.exec(name);
      if (m === null) continue;
      const term = Number.parseInt(m[1]!, 16);
      const index = Number.parseInt(m[2]!, 16);
      if (m[3] === undefined) files.push({ name, term, index });
      else files.push({ name, term, index, base: { term: Number.parseInt(m[3], 16), index: Number.parseInt(m[4]!, 16) } });
    }
    return files.sort((a, b) => a.index - b.index || a.term - b.term);
  }

  /**
   * purge keeps the current snapshot (term, index) and the `retain - 1` newest older ones, with
   * every file any of them links to, and deletes the rest, including files newer than the current
   * one (written before a crash that came before their WAL marker). Returns the deleted names.
   */
  async purge(term: Term, index: LogIndex, retain: number = STORAGE_LIMITS.snapshotsRetainedDefault): Promise<string[]> {
    const files = await this.list();
    const older = files.filter((f) => f.index < index || (f.index === index && f.term < term));
    const current = files.filter((f) => f.index === index && f.term === term);
    const kept = new Set<SnapshotFile>([...current, ...older.slice(Math.max(0, older.length - (retain - 1)))]);
    // Everything a kept snapshot links to, however far down, is kept too.
    for (const f of [...kept]) {
      for (let link = f.base; link !== undefined;) {
        const base = files.find((g) => g.term === link!.term && g.index === link!.index);
        if (base === undefined || kept.has(base)) break;
        kept.add(base);
        link = base.base;
      }
    }
    const doomed = files.filter((f) => !kept.has(f));
    for (const f of doomed) await this.fs.unlink(path.join(this.dir, f.name));
    if (doomed.length > 0) {
      await this.fs.syncDir(this.dir);
      this.logger.info('purged snapshot files', { dir: this.dir, deleted: doomed.map((f) => f.name) });
    }
    return doomed.map((f) => f.name);
  }
}

/** snapshotName is the file name of the snapshot at (term, index), linked to `base` if given. */
export function snapshotName(term: Term, index: LogIndex, base?: SnapshotRef): string {
  return base === undefined ? `${hex16(term)}-${hex16(index)}.snap` : `${hex16(term)}-${hex16(index)}.on-${hex16(base.term)}-${hex16(base.index)}.snap`;
}

/** decodeSnapshotFile checks and decodes a snapshot file's bytes; `file` names it in errors. */
export function decodeSnapshotFile(file: string, bytes: Uint8Array): Snapshot {
  if (bytes.byteLength < 6 + TRAILER_BYTES) throw new SnapshotCorruptionError(file, `file of ${bytes.byteLength} bytes is too short`);
  const crcAt = bytes.byteLength - TRAILER_BYTES;
  const stored = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(crcAt, true);
  const actual = crc32(bytes.subarray(0, crcAt));
  if (stored !== actual) throw new SnapshotCorruptionError(file, `CRC mismatch (stored ${stored}, computed ${actual})`);
  const r = new BinaryReader(bytes.subarray(0, crcAt));
  try {
    if (r.u32('magic') !== MAGIC) throw new SnapshotCorruptionError(file, 'not a snapshot file (bad magic)');
    const version = r.u16('version');
    if (version !== SNAPSHOT_FORMAT_VERSION) {
      throw new StorageError(StorageErrorCode.FormatVersionUnsupported,
        `snapshot ${file} has format version ${version}; this build reads version ${SNAPSHOT_FORMAT_VERSION}`);
    }
    const snapshot = readSnapshot(r);
    r.end('snapshot');
    const expected = snapshotName(snapshot.metadata.term, snapshot.metadata.index);
    const named = path.basename(file).replace(/\.on-[0-9a-f]{16}-[0-9a-f]{16}\.snap$/, '.snap');
    if (named !== expected) throw new SnapshotCorruptionError(file, `contents are snapshot ${expected}`);
    return snapshot;
  } catch (error) {
    if (error instanceof CodecError) throw new SnapshotCorruptionError(file, `undecodable: ${error.message}`, { cause: error });
    throw error;
  }
}

async function* once(data: Uint8Array): AsyncIterable<Uint8Array> {
  yield data;
}
