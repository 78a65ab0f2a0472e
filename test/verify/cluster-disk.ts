import fs from 'node:fs';
import path from 'node:path';
import { isRoot, runTool, runToolSync } from './cluster-exec.js';

/**
 * Small disks for members, so a nemesis can fill one: each member's data dir is its own tmpfs
 * (mounted by the harness, which needs root), filled with a ballast file until the file system
 * reports ENOSPC and freed by deleting it. Where tmpfs cannot be mounted the data dirs are
 * plain directories and the disk-full fault is not available (`probeTmpfs` says why).
 */

/** DATA_DIR_BYTES is the size of each member's tmpfs: room for two preallocated 64 MiB WAL segments and snapshots. */
export const DATA_DIR_BYTES = 192 * 1024 * 1024;

/** BALLAST_FILE is the name of the filler inside a member's data dir. */
export const BALLAST_FILE = 'ballast.fill';

const FILL_CHUNK_BYTES = 4 * 1024 * 1024;

/** probeTmpfs reports why tmpfs data dirs cannot be used here, or undefined: it really mounts one under `dir`. */
export async function probeTmpfs(dir: string): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'not Linux';
  if (!isRoot()) return 'mounting tmpfs needs root';
  const probe = path.join(dir, 'tmpfs-probe');
  fs.mkdirSync(probe, { recursive: true });
  try {
    await runTool('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe]);
    await runTool('umount', [probe]);
    return undefined;
  } catch (error) {
    return `cannot mount tmpfs (${(error as Error).message.split('\n')[0]})`;
  } finally {
    fs.rmSync(probe, { recursive: true, force: true });
  }
}

/** mountDataDir makes `dir` a fresh tmpfs of DATA_DIR_BYTES. */
export async function mountDataDir(dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await runTool('mount', ['-t', 'tmpfs', '-o', `size=${DATA_DIR_BYTES},mode=0700`, 'tmpfs', dir]);
}

/** mountsUnder lists the mount points at or below `dir`, deepest first (from /proc/mounts). */
export function mountsUnder(dir: string): string[] {
  let text = '';
  try { text = fs.readFileSync('/proc/mounts', 'utf8'); } catch { return []; }
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return text.split('\n')
    .map((line) => (line.split(' ')[1] ?? '').replace(/\\040/g, ' '))
    .filter((point) => point === dir || point.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

/** unmountAll unmounts every mount at or below `dir` (lazily, so a dying process cannot hold it). */
export async function unmountAll(dir: string): Promise<void> {
  for (const point of mountsUnder(dir)) await runTool('umount', ['-l', point]);
}

/** unmountAllSync is unmountAll for exit paths. */
export function unmountAllSync(dir: string): void {
  for (const point of mountsUnder(dir)) runToolSync('umount', ['-l', point]);
}

/** fillDisk writes the ballast into `dir` until its file system is full; resolves with the bytes written. */
export async function fillDisk(dir: string): Promise<number> {
  const chunk = Buffer.alloc(FILL_CHUNK_BYTES, 0x5a);
  const handle = await fs.promises.open(path.join(dir, BALLAST_FILE), 'a');
  let written = 0;
  try {
    for (;;) {
      try {
        const { bytesWritten } = await handle.write(chunk, 0, chunk.length);
        written += bytesWritten;
        if (bytesWritten < chunk.length) break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw error;
      }
    }
    // Whatever is left is smaller than a chunk: take it a page at a time.
    const page = Buffer.alloc(4096, 0x5a);
    for (;;) {
      try {
        const { bytesWritten } = await handle.write(page, 0, page.length);
        written += bytesWritten;
        if (bytesWritten < page.length) break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw error;
      }
    }
  } finally {
    await handle.close();
  }
  return written;
}

/** freeDisk deletes the ballast (no-op when there is none). */
export async function freeDisk(dir: string): Promise<void> {
  await fs.promises.rm(path.join(dir, BALLAST_FILE), { force: true });
}

/** freeBytes is the space left on the file system of `dir`. */
export function freeBytes(dir: string): number {
  const stats = fs.statfsSync(dir);
  return stats.bavail * stats.bsize;
}
