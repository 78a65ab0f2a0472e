import { constants as fsConstants, fdatasync, writeSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { assert } from '../lib/assert.js';

/**
 * AppendFile is a file opened for appending: every `append` lands at the current end. Bytes are
 * durable only after `datasync` resolves. A rejected `append` or `datasync` means the file's
 * contents past the last successful `datasync` are unknown (DESIGN §4: treat as fatal).
 */
export interface AppendFile {
  /** path is the file's path as opened. */
  readonly path: string;
  /** append writes `chunks` in order at the end of the file (one writev; partial writes retried). */
  append(chunks: readonly Uint8Array[]): Promise<void>;
  /** datasync makes every appended byte durable (fdatasync). */
  datasync(): Promise<void>;
  /** close releases the descriptor; it does not sync. */
  close(): Promise<void>;
}

/**
 * WritableFile is a file written at explicit byte positions (pwrite), used for preallocated WAL
 * segments: overwriting bytes that are already allocated does not change the file's size, so an
 * fdatasync flushes data blocks only (no size change to commit through the file system journal).
 * Bytes are durable only after `datasync` resolves; a rejected `write` or `datasync` means the
 * file's contents past the last successful `datasync` are unknown (DESIGN §4: treat as fatal).
 */
export interface WritableFile {
  /** path is the file's path as opened. */
  readonly path: string;
  /** write writes all of `bytes` at byte `position` (partial writes retried); the file grows if shorter. */
  write(bytes: Uint8Array, position: number): Promise<void>;
  /**
   * writeNow is `write` done synchronously on the calling thread (pwrite into the page cache), for
   * the WAL's small appends: it saves a thread-pool round trip (two context switches and a wake-up
   * of the event loop) per write. Optional: without it the WAL awaits `write`. Throws what `write`
   * would reject with. Not for large writes (it blocks the event loop while it runs).
   */
  writeNow?(bytes: Uint8Array, position: number): void;
  /** read returns up to `lengthBytes` bytes at `position` (fewer at the end of the file). */
  read(position: number, lengthBytes: number): Promise<Uint8Array>;
  /** datasync makes every written byte durable (fdatasync). */
  datasync(): Promise<void>;
  /** close releases the descriptor; it does not sync. */
  close(): Promise<void>;
}

/**
 * FileSystem is the storage layer's whole view of the disk (hashicorp/raft-style small interface),
 * so tests can inject faults and crashes. Paths are plain strings; directories are created with
 * `mkdirp` and made durable with `syncDir`. Every failure is a rejected promise.
 */
export interface FileSystem {
  /** openAppend opens `file` for appending, creating it (empty) if it does not exist. */
  openAppend(file: string): Promise<AppendFile>;
  /**
   * openWritable opens `file` for positional reads and writes, creating it (empty) if it does not
   * exist. Optional so that thin test wrappers need not forward it: without it the WAL appends to
   * segments that it does not preallocate (slower fdatasync, same format).
   */
  openWritable?(file: string): Promise<WritableFile>;
  /** readFile returns the whole content of `file`. */
  readFile(file: string): Promise<Uint8Array>;
  /** fileBytes returns the size of `file` in bytes. */
  fileBytes(file: string): Promise<number>;
  /** list returns the names (not paths) of the entries of `dir`, sorted. */
  list(dir: string): Promise<string[]>;
  /** rename moves `from` to `to` atomically, replacing `to`; durable after `syncDir`. */
  rename(from: string, to: string): Promise<void>;
  /** unlink removes `file`; durable after `syncDir`. */
  unlink(file: string): Promise<void>;
  /** truncate cuts `file` to `lengthBytes` and makes the new length durable (fsync). */
  truncate(file: string, lengthBytes: number): Promise<void>;
  /** mkdirp creates `dir` and missing parents; durable after `syncDir` of each parent. */
  mkdirp(dir: string): Promise<void>;
  /** exists says whether `file` (or directory) exists. */
  exists(file: string): Promise<boolean>;
  /** syncDir fsyncs directory `dir`, making creations, renames and unlinks in it durable. */
  syncDir(dir: string): Promise<void>;
}

/** NodeFileSystem is the real FileSystem over node:fs/promises. */
export class NodeFileSystem implements FileSystem {
  async openAppend(file: string): Promise<AppendFile> {
    return new NodeAppendFile(file, await fsp.open(file, 'a'));
  }

  async openWritable(file: string): Promise<WritableFile> {
    return new NodeWritableFile(file, await fsp.open(file, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o666));
  }

  async readFile(file: string): Promise<Uint8Array> {
    const buffer = await fsp.readFile(file);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }

  async fileBytes(file: string): Promise<number> {
    return (await fsp.stat(file)).size;
  }

  async list(dir: string): Promise<string[]> {
    return (await fsp.readdir(dir)).sort();
  }

  async rename(from: string, to: string): Promise<void> {
    await fsp.rename(from, to);
  }

  async unlink(file: string): Promise<void> {
    await fsp.unlink(file);
  }

  async truncate(file: string, lengthBytes: number): Promise<void> {
    const handle = await fsp.open(file, 'r+');
    try {
      await handle.truncate(lengthBytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async mkdirp(dir: string): Promise<void> {
    await fsp.mkdir(dir, { recursive: true });
  }

  async exists(file: string): Promise<boolean> {
    try {
      await fsp.stat(file);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  async syncDir(dir: string): Promise<void> {
    const handle = await fsp.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

class NodeAppendFile implements AppendFile {
  constructor(readonly path: string, private readonly handle: fsp.FileHandle) {}

  async append(chunks: readonly Uint8Array[]): Promise<void> {
    let pending = chunks.filter((c) => c.byteLength > 0);
    while (pending.length > 0) {
      const { bytesWritten } = await this.handle.writev(pending);
      pending = dropWritten(pending, bytesWritten);
    }
  }

  async datasync(): Promise<void> {
    await this.handle.datasync();
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

class NodeWritableFile implements WritableFile {
  constructor(readonly path: string, private readonly handle: fsp.FileHandle) {}

  async write(bytes: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < bytes.byteLength) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.byteLength - done, position + done);
      done += bytesWritten;
    }
  }

  writeNow(bytes: Uint8Array, position: number): void {
    let done = 0;
    while (done < bytes.byteLength) {
      done += writeSync(this.handle.fd, bytes, done, bytes.byteLength - done, position + done);
    }
  }

  async read(position: number, lengthBytes: number): Promise<Uint8Array> {
    const out = new Uint8Array(lengthBytes);
    let done = 0;
    while (done < lengthBytes) {
      const { bytesRead } = await this.handle.read(out, done, lengthBytes - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return out.subarray(0, done);
  }

  datasync(): Promise<void> {
    // The callback API costs about half the CPU of FileHandle.datasync() (no FileHandle
    // reference counting, one promise instead of several).
    return new Promise((resolve, reject) => {
      fdatasync(this.handle.fd, (error) => (error ? reject(error) : resolve()));
    });
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/**
 * openWritableOrAppend opens `file` for positional writes when `fs` can, else adapts an append
 * handle whose writes must land at the end of the file (`sizeBytes` is its current size); the
 * second form cannot read and cannot overwrite. `positional` says which one was opened.
 */
export async function openWritableOrAppend(fs: FileSystem, file: string, sizeBytes: number): Promise<{ file: WritableFile; positional: boolean }> {
  if (fs.openWritable) return { file: await fs.openWritable(file), positional: true };
  const append = await fs.openAppend(file);
  let endBytes = sizeBytes;
  return {
    positional: false,
    file: {
      path: append.path,
      write: async (bytes, position) => {
        assert(position === endBytes, () => `append-only file ${file}: write at ${position}, end is ${endBytes}`);
        await append.append([bytes]);
        endBytes += bytes.byteLength;
      },
      read: () => Promise.reject(new Error(`append-only file ${file} cannot be read through its handle`)),
      datasync: () => append.datasync(),
      close: () => append.close(),
    },
  };
}

/** dropWritten returns what is left of `chunks` after a partial write of `bytes`. */
function dropWritten(chunks: readonly Uint8Array[], bytes: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  let skip = bytes;
  for (const chunk of chunks) {
    if (skip >= chunk.byteLength) {
      skip -= chunk.byteLength;
      continue;
    }
    rest.push(skip > 0 ? chunk.subarray(skip) : chunk);
    skip = 0;
  }
  return rest;
}

/** parentDir is the directory holding `file` (for syncDir after create/rename/unlink). */
export function parentDir(file: string): string {
  return path.dirname(file);
}
