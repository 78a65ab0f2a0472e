import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

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
 * FileSystem is the storage layer's whole view of the disk (hashicorp/raft-style small interface),
 * so tests can inject faults and crashes. Paths are plain strings; directories are created with
 * `mkdirp` and made durable with `syncDir`. Every failure is a rejected promise.
 */
export interface FileSystem {
  /** openAppend opens `file` for appending, creating it (empty) if it does not exist. */
  openAppend(file: string): Promise<AppendFile>;
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
