import type { Prng } from '../lib/prng.js';
import { parentDir, type AppendFile, type FileSystem, type WritableFile } from './file-system.js';
import { TEMP_SUFFIX } from './wal-segment-name.js';

/**
 * DiskFault is one scripted fault of a FaultyFileSystem, consumed by the first matching operation:
 * - `fsync-error`: the next `datasync` rejects with EIO and syncs nothing;
 * (`append` faults also apply to the positional `write` of a WritableFile.)
 * - `torn-write`: the next `append` writes only its first `bytesKept` bytes (random if omitted),
 *   then rejects with EIO (`then: 'error'`) or crashes the file system (`then: 'crash'`, the
 *   prefix reached the platter and survives the crash);
 * - `bit-flip`: the next `append` succeeds but one bit of its bytes is flipped (random if omitted);
 * - `crash`: the file system crashes when operation `op` starts; the operation does not happen.
 */
export type DiskFault =
  | { readonly kind: 'fsync-error' }
  | { readonly kind: 'torn-write'; readonly bytesKept?: number; readonly then: 'error' | 'crash' }
  | { readonly kind: 'bit-flip'; readonly bitOffset?: number }
  | { readonly kind: 'crash'; readonly op: FileOp };

/** FileOp names an operation of the FileSystem interface (for crash points and matching). */
export type FileOp = 'append' | 'write' | 'datasync' | 'rename' | 'unlink' | 'truncate' | 'syncDir' | 'openAppend' | 'openWritable';

/** FaultMatch narrows which operation consumes a scheduled fault. */
export interface FaultMatch {
  /** pathIncludes: only operations on a path containing this substring. */
  readonly pathIncludes?: string;
  /** skip: let this many matching operations pass first. */
  readonly skip?: number;
}

/** FaultyFileSystemOptions are the random faults, drawn per operation from `prng`. */
export interface FaultyFileSystemOptions {
  readonly prng?: Prng;
  /** fsyncErrorRate is the probability that a datasync fails with EIO. */
  readonly fsyncErrorRate?: number;
  /** tornWriteRate is the probability that an append is torn and the file system crashes. */
  readonly tornWriteRate?: number;
  /** bitFlipRate is the probability that an append silently flips one bit. */
  readonly bitFlipRate?: number;
}

/**
 * FaultyFileSystemStats counts operations (tests assert "one fdatasync per batch" with it).
 * `datasyncs` counts every file; `tempDatasyncs` those of `*.tmp` files (segments and snapshots
 * being prepared, e.g. a WAL segment's zero fill), so a test can tell them from the hot path.
 */
export interface FaultyFileSystemStats {
  appends: number;
  bytesAppended: number;
  /** writes counts positional writes (WritableFile.write); bytesWritten their bytes. */
  writes: number;
  bytesWritten: number;
  datasyncs: number;
  tempDatasyncs: number;
  dirSyncs: number;
  renames: number;
  unlinks: number;
}

/** InjectedFaultError is an I/O error made up by FaultyFileSystem; `code` is the errno name. */
export class InjectedFaultError extends Error {
  override name = 'InjectedFaultError';
  constructor(readonly code: 'EIO' | 'ENOSPC', message: string) {
    super(`${code}: ${message}`);
  }
}

/** SimulatedCrashError rejects every operation of a crashed FaultyFileSystem until `restart`. */
export class SimulatedCrashError extends Error {
  override name = 'SimulatedCrashError';
  readonly code = 'CONCORD_SIMULATED_CRASH';
}

interface TrackedFile {
  sizeBytes: number;
  syncedBytes: number;
  /** undo holds the durable bytes overwritten by positional writes since the last datasync. */
  undo: { readonly position: number; readonly bytes: Uint8Array }[];
}

type DirOp =
  | { readonly kind: 'create'; readonly dir: string; readonly file: string }
  | { readonly kind: 'rename'; readonly dir: string; readonly from: string; readonly to: string };

interface Scheduled {
  readonly fault: DiskFault;
  readonly pathIncludes: string | undefined;
  skip: number;
}

/**
 * FaultyFileSystem wraps another FileSystem and injects faults (scripted with `schedule`, or
 * random from a seeded Prng) and simulates crashes. It tracks, per file written through it, how
 * many bytes were made durable by `datasync`, and which creations and renames were made durable by
 * `syncDir`. `crash()` kills the "process": every later call (including on open handles) rejects.
 * `restart()` then applies what a power loss may do: unsynced bytes vanish (appended bytes are cut;
 * positionally overwritten bytes get their last synced content back), creations and renames
 * not followed by a directory sync are undone; open handles stay dead. Unlinks are not undone.
 */
export class FaultyFileSystem implements FileSystem {
  readonly stats: FaultyFileSystemStats = {
    appends: 0, bytesAppended: 0, writes: 0, bytesWritten: 0, datasyncs: 0, tempDatasyncs: 0, dirSyncs: 0, renames: 0, unlinks: 0,
  };
  private readonly files = new Map<string, TrackedFile>();
  private dirOps: DirOp[] = [];
  private scheduled: Scheduled[] = [];
  private bytesFree: number | undefined;
  private crashed = false;
  private epoch = 0;

  constructor(private readonly inner: FileSystem, private readonly options: FaultyFileSystemOptions = {}) {}

  /** schedule queues a fault for the first operation it matches. */
  schedule(fault: DiskFault, match: FaultMatch = {}): void {
    this.scheduled.push({ fault, pathIncludes: match.pathIncludes, skip: match.skip ?? 0 });
  }

  /** setBytesFree makes appends fail with ENOSPC once `bytes` more are written (undefined: no limit). */
  setBytesFree(bytes: number | undefined): void {
    this.bytesFree = bytes;
  }

  /** isCrashed says whether the file system is between `crash()` and `restart()`. */
  get isCrashed(): boolean {
    return this.crashed;
  }

  /** crash stops the file system: every call rejects with SimulatedCrashError until `restart`. */
  crash(): void {
    this.crashed = true;
    this.epoch++;
  }

  /** restart drops unsynced bytes, undoes unsynced creations and renames, and accepts calls again. */
  async restart(): Promise<void> {
    if (!this.crashed) this.crash();
    for (const [file, tracked] of this.files) {
      const exists = await this.inner.exists(file);
      if (tracked.undo.length > 0 && exists) await this.undoWrites(file, tracked.undo);
      if (tracked.sizeBytes > tracked.syncedBytes && exists) {
        await this.inner.truncate(file, tracked.syncedBytes);
      }
      tracked.sizeBytes = tracked.syncedBytes;
      tracked.undo = [];
    }
    for (const op of this.dirOps.reverse()) {
      if (op.kind === 'create') {
        if (await this.inner.exists(op.file)) await this.inner.unlink(op.file);
        this.files.delete(op.file);
      } else if (await this.inner.exists(op.to)) {
        await this.inner.rename(op.to, op.from);
        this.moveTracked(op.to, op.from);
      }
    }
    this.dirOps = [];
    this.scheduled = [];
    this.crashed = false;
  }

  async openAppend(file: string): Promise<AppendFile> {
    await this.enter('openAppend', file);
    const existed = await this.inner.exists(file);
    const handle = await this.inner.openAppend(file);
    if (!existed) this.dirOps.push({ kind: 'create', dir: parentDir(file), file });
    await this.track(file, existed);
    return new FaultyAppendFile(this, handle, this.epoch);
  }

  async openWritable(file: string): Promise<WritableFile> {
    await this.enter('openWritable', file);
    const openWritable = this.inner.openWritable;
    if (!openWritable) throw new Error('FaultyFileSystem.openWritable needs an inner file system with openWritable');
    const existed = await this.inner.exists(file);
    const handle = await openWritable.call(this.inner, file);
    if (!existed) this.dirOps.push({ kind: 'create', dir: parentDir(file), file });
    await this.track(file, existed);
    return new FaultyWritableFile(this, handle, this.epoch);
  }

  async readFile(file: string): Promise<Uint8Array> {
    this.checkAlive();
    return this.inner.readFile(file);
  }

  async fileBytes(file: string): Promise<number> {
    this.checkAlive();
    return this.inner.fileBytes(file);
  }

  async list(dir: string): Promise<string[]> {
    this.checkAlive();
    return this.inner.list(dir);
  }

  async rename(from: string, to: string): Promise<void> {
    await this.enter('rename', from);
    await this.inner.rename(from, to);
    this.stats.renames++;
    this.dirOps.push({ kind: 'rename', dir: parentDir(to), from, to });
    this.moveTracked(from, to);
  }

  async unlink(file: string): Promise<void> {
    await this.enter('unlink', file);
    await this.inner.unlink(file);
    this.stats.unlinks++;
    this.files.delete(file);
  }

  async truncate(file: string, lengthBytes: number): Promise<void> {
    await this.enter('truncate', file);
    await this.inner.truncate(file, lengthBytes);
    const tracked = this.files.get(file);
    if (tracked) {
      tracked.sizeBytes = lengthBytes;
      tracked.syncedBytes = lengthBytes;
      tracked.undo = tracked.undo.filter((u) => u.position < lengthBytes);
    }
  }

  async mkdirp(dir: string): Promise<void> {
    this.checkAlive();
    await this.inner.mkdirp(dir);
  }

  async exists(file: string): Promise<boolean> {
    this.checkAlive();
    return this.inner.exists(file);
  }

  async syncDir(dir: string): Promise<void> {
    await this.enter('syncDir', dir);
    await this.inner.syncDir(dir);
    this.stats.dirSyncs++;
    this.dirOps = this.dirOps.filter((op) => op.dir !== dir);
  }

  /** appendThrough implements FaultyAppendFile.append with the fault plan applied. */
  async appendThrough(handle: AppendFile, epoch: number, chunks: readonly Uint8Array[]): Promise<void> {
    await this.enter('append', handle.path, epoch);
    const tracked = this.files.get(handle.path);
    let bytes = concat(chunks);
    const fault = this.take(handle.path, (f) => f.kind === 'torn-write' || f.kind === 'bit-flip') ??
      this.randomWriteFault(bytes.byteLength);
    this.stats.appends++;
    if (fault?.kind === 'bit-flip' && bytes.byteLength > 0) {
      bytes = bytes.slice();
      const bit = (fault.bitOffset ?? this.draw(bytes.byteLength * 8)) % (bytes.byteLength * 8);
      bytes[bit >> 3] = bytes[bit >> 3]! ^ (1 << (bit & 7));
    }
    if (this.bytesFree !== undefined && bytes.byteLength > this.bytesFree) {
      const kept = bytes.subarray(0, this.bytesFree);
      await this.writeTracked(handle, tracked, kept);
      this.bytesFree = 0;
      throw new InjectedFaultError('ENOSPC', `no space left on device writing ${handle.path}`);
    }
    if (fault?.kind === 'torn-write') {
      const kept = bytes.subarray(0, Math.min(fault.bytesKept ?? this.draw(bytes.byteLength), bytes.byteLength));
      await this.writeTracked(handle, tracked, kept);
      if (fault.then === 'crash') {
        if (tracked) this.markSynced(tracked);
        this.crash();
        throw new SimulatedCrashError(`crashed during a torn write of ${handle.path}`);
      }
      throw new InjectedFaultError('EIO', `torn write of ${handle.path} (${kept.byteLength} of ${bytes.byteLength} bytes)`);
    }
    await this.writeTracked(handle, tracked, bytes);
    this.checkHandle(epoch); // crashed while the write was in flight: it never returned
    if (this.bytesFree !== undefined) this.bytesFree -= bytes.byteLength;
  }

  /**
   * writeThrough implements FaultyWritableFile.write with the fault plan applied. Only bytes that
   * extend the file count against `setBytesFree` (overwriting allocated blocks needs no space).
   */
  async writeThrough(handle: WritableFile, epoch: number, bytes: Uint8Array, position: number): Promise<void> {
    await this.enter('write', handle.path, epoch);
    const tracked = this.files.get(handle.path);
    const fault = this.take(handle.path, (f) => f.kind === 'torn-write' || f.kind === 'bit-flip') ??
      this.randomWriteFault(bytes.byteLength);
    this.stats.writes++;
    if (fault?.kind === 'bit-flip' && bytes.byteLength > 0) {
      bytes = bytes.slice();
      const bit = (fault.bitOffset ?? this.draw(bytes.byteLength * 8)) % (bytes.byteLength * 8);
      bytes[bit >> 3] = bytes[bit >> 3]! ^ (1 << (bit & 7));
    }
    const sizeBytes = tracked?.sizeBytes ?? 0;
    const growthBytes = Math.max(0, position + bytes.byteLength - Math.max(sizeBytes, position));
    if (this.bytesFree !== undefined && growthBytes > this.bytesFree) {
      const kept = bytes.subarray(0, bytes.byteLength - (growthBytes - this.bytesFree));
      await this.writeTrackedAt(handle, tracked, kept, position);
      this.bytesFree = 0;
      throw new InjectedFaultError('ENOSPC', `no space left on device writing ${handle.path}`);
    }
    if (fault?.kind === 'torn-write') {
      const kept = bytes.subarray(0, Math.min(fault.bytesKept ?? this.draw(bytes.byteLength), bytes.byteLength));
      await this.writeTrackedAt(handle, tracked, kept, position);
      if (fault.then === 'crash') {
        if (tracked) this.markSynced(tracked);
        this.crash();
        throw new SimulatedCrashError(`crashed during a torn write of ${handle.path}`);
      }
      throw new InjectedFaultError('EIO', `torn write of ${handle.path} (${kept.byteLength} of ${bytes.byteLength} bytes)`);
    }
    await this.writeTrackedAt(handle, tracked, bytes, position);
    this.checkHandle(epoch); // crashed while the write was in flight: it never returned
    if (this.bytesFree !== undefined) this.bytesFree -= growthBytes;
  }

  /** datasyncThrough implements FaultyAppendFile.datasync with the fault plan applied. */
  async datasyncThrough(handle: AppendFile | WritableFile, epoch: number): Promise<void> {
    await this.enter('datasync', handle.path, epoch);
    const fault = this.take(handle.path, (f) => f.kind === 'fsync-error') ??
      (this.roll(this.options.fsyncErrorRate) ? { kind: 'fsync-error' as const } : undefined);
    if (fault) throw new InjectedFaultError('EIO', `fdatasync of ${handle.path} failed`);
    await handle.datasync();
    // A crash while the call was in flight (another caller's operation): the process never saw it return.
    this.checkHandle(epoch);
    this.stats.datasyncs++;
    if (handle.path.endsWith(TEMP_SUFFIX)) this.stats.tempDatasyncs++;
    const tracked = this.files.get(handle.path);
    if (tracked) this.markSynced(tracked);
  }

  /** checkHandle rejects calls on a handle opened before a crash. */
  checkHandle(epoch: number): void {
    this.checkAlive();
    if (epoch !== this.epoch) throw new SimulatedCrashError('file handle opened before a crash');
  }

  private async writeTracked(handle: AppendFile, tracked: TrackedFile | undefined, bytes: Uint8Array): Promise<void> {
    if (bytes.byteLength > 0) await handle.append([bytes]);
    this.stats.bytesAppended += bytes.byteLength;
    if (tracked) tracked.sizeBytes += bytes.byteLength;
  }

  private async writeTrackedAt(handle: WritableFile, tracked: TrackedFile | undefined, bytes: Uint8Array, position: number): Promise<void> {
    if (bytes.byteLength === 0) return;
    if (tracked && position < tracked.syncedBytes) {
      // Remember the durable bytes this write covers, so a crash can put them back.
      const old = await handle.read(position, Math.min(bytes.byteLength, tracked.syncedBytes - position));
      tracked.undo.push({ position, bytes: old });
    }
    await handle.write(bytes, position);
    this.stats.bytesWritten += bytes.byteLength;
    if (tracked) tracked.sizeBytes = Math.max(tracked.sizeBytes, position + bytes.byteLength);
  }

  private markSynced(tracked: TrackedFile): void {
    tracked.syncedBytes = tracked.sizeBytes;
    tracked.undo = [];
  }

  /** undoWrites restores the bytes unsynced positional writes overwrote, newest first. */
  private async undoWrites(file: string, undo: readonly { position: number; bytes: Uint8Array }[]): Promise<void> {
    const handle = await this.inner.openWritable!(file);
    try {
      for (let i = undo.length - 1; i >= 0; i--) await handle.write(undo[i]!.bytes, undo[i]!.position);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }

  private async track(file: string, existed: boolean): Promise<void> {
    if (this.files.has(file)) return;
    const sizeBytes = existed ? await this.inner.fileBytes(file) : 0;
    this.files.set(file, { sizeBytes, syncedBytes: sizeBytes, undo: [] });
  }

  private async enter(op: FileOp, file: string, epoch?: number): Promise<void> {
    if (epoch !== undefined) this.checkHandle(epoch);
    else this.checkAlive();
    if (this.take(file, (f) => f.kind === 'crash' && f.op === op)) {
      this.crash();
      throw new SimulatedCrashError(`crashed before ${op} of ${file}`);
    }
  }

  private checkAlive(): void {
    if (this.crashed) throw new SimulatedCrashError('file system crashed');
  }

  private take(file: string, accepts: (fault: DiskFault) => boolean): DiskFault | undefined {
    const i = this.scheduled.findIndex((s) => accepts(s.fault) && (s.pathIncludes === undefined || file.includes(s.pathIncludes)));
    if (i < 0) return undefined;
    const entry = this.scheduled[i]!;
    if (entry.skip > 0) {
      entry.skip--;
      return undefined;
    }
    this.scheduled.splice(i, 1);
    return entry.fault;
  }

  private randomWriteFault(bytes: number): DiskFault | undefined {
    if (this.roll(this.options.tornWriteRate)) return { kind: 'torn-write', bytesKept: this.draw(bytes), then: 'crash' };
    if (this.roll(this.options.bitFlipRate)) return { kind: 'bit-flip' };
    return undefined;
  }

  private roll(rate: number | undefined): boolean {
    const prng = this.options.prng;
    return prng !== undefined && rate !== undefined && rate > 0 && prng.nextUint32() / 2 ** 32 < rate;
  }

  private draw(bound: number): number {
    const prng = this.options.prng;
    if (bound <= 0) return 0;
    return prng ? prng.nextUint32() % bound : Math.floor(bound / 2);
  }

  private moveTracked(from: string, to: string): void {
    const tracked = this.files.get(from);
    this.files.delete(from);
    if (tracked) this.files.set(to, tracked);
    else this.files.delete(to);
  }
}

class FaultyAppendFile implements AppendFile {
  constructor(private readonly owner: FaultyFileSystem, private readonly inner: AppendFile, private readonly epoch: number) {}

  get path(): string {
    return this.inner.path;
  }

  append(chunks: readonly Uint8Array[]): Promise<void> {
    return this.owner.appendThrough(this.inner, this.epoch, chunks);
  }

  datasync(): Promise<void> {
    return this.owner.datasyncThrough(this.inner, this.epoch);
  }

  async close(): Promise<void> {
    await this.inner.close();
  }
}

class FaultyWritableFile implements WritableFile {
  constructor(private readonly owner: FaultyFileSystem, private readonly inner: WritableFile, private readonly epoch: number) {}

  get path(): string {
    return this.inner.path;
  }

  write(bytes: Uint8Array, position: number): Promise<void> {
    return this.owner.writeThrough(this.inner, this.epoch, bytes, position);
  }

  async read(position: number, lengthBytes: number): Promise<Uint8Array> {
    this.owner.checkHandle(this.epoch);
    return this.inner.read(position, lengthBytes);
  }

  datasync(): Promise<void> {
    return this.owner.datasyncThrough(this.inner, this.epoch);
  }

  async close(): Promise<void> {
    await this.inner.close();
  }
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
