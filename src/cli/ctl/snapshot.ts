/**
 * `concord snapshot save FILE` and `concord snapshot status FILE` (etcdctl's commands of the same
 * names). `save` streams one member's snapshot (Maintenance/Snapshot) into `FILE.part`, fsyncs
 * it, checks it (SHA-256 trailer, header, the store inside), renames it to FILE and fsyncs the
 * directory, so FILE is either absent, the previous file, or a whole checked snapshot. `status`
 * reads a snapshot file (saved by Concord or by `etcdctl snapshot save` from Concord) and prints
 * its hash, revision, key count and size.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { hashKv, restoreStoreSnapshot } from '../../kv/index.js';
import { decodeSnapshotFile } from '../../storage/snapshot-file.js';
import { CommandFailure, expectPositionals, parseCommand, withCtl } from './context.js';
import { table } from './cluster.js';

/** SnapshotStatus is what `snapshot status` prints (etcdctl's JSON field names). */
export interface SnapshotStatus {
  /** hash is the HashKV of the snapshot's store at its revision (compare with `etcdctl endpoint hashkv`). */
  readonly hash: number;
  readonly revision: number;
  /** totalKey counts the live keys at the snapshot's revision. */
  readonly totalKey: number;
  /** totalSize is the file's size in bytes. */
  readonly totalSize: number;
}

/** snapshotStatusOf checks a snapshot file's bytes and describes the store inside. */
export function snapshotStatusOf(file: Uint8Array): SnapshotStatus {
  const store = restoreStoreSnapshot(decodeSnapshotFile(file));
  const hashed = hashKv(store, 0);
  if (!hashed.ok) throw new CommandFailure(`cannot hash the snapshot's store: ${hashed.error.message}`);
  return { hash: hashed.response.hash, revision: store.currentRevision, totalKey: store.keyCount, totalSize: file.byteLength };
}

/** runSnapshotSave is `concord snapshot save FILE`. */
export async function runSnapshotSave(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommand(args, {});
  expectPositionals(positionals, 1, 1, 'concord snapshot save FILE [--endpoints ...] [--json]');
  const file = path.resolve(positionals[0]!);
  const partial = `${file}.part`;
  return withCtl(values, env, async (ctl) => {
    let endpoint = '';
    const handle = await fs.open(partial, 'w').catch((error: NodeJS.ErrnoException) => {
      throw new CommandFailure(`cannot create ${partial}: ${error.message}`);
    });
    let status: SnapshotStatus;
    try {
      try {
        for await (const chunk of ctl.client().snapshot()) {
          endpoint = chunk.endpoint;
          await handle.write(chunk.blob);
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      status = snapshotStatusOf(new Uint8Array(await fs.readFile(partial)));
      await fs.rename(partial, file);
    } catch (error) {
      await fs.rm(partial, { force: true });
      if (error instanceof Error && error.name === 'SnapshotFileError') throw new CommandFailure(`the snapshot received from ${endpoint} is not valid: ${error.message}`);
      throw error;
    }
    await syncDirectory(path.dirname(file));
    ctl.out(
      `Snapshot saved at ${file} from ${endpoint}: revision ${status.revision}, ${status.totalKey} keys, ${formatBytes(status.totalSize)}, hash ${hex(status.hash)}`,
      { file, endpoint, ...status },
    );
    return 0;
  });
}

/** runSnapshotStatus is `concord snapshot status FILE`: a table (HASH, REVISION, TOTAL KEYS, TOTAL SIZE) or, with --json, etcdctl's JSON. */
export async function runSnapshotStatus(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommand(args, {});
  expectPositionals(positionals, 1, 1, 'concord snapshot status FILE [--json]');
  const file = positionals[0]!;
  const bytes = await fs.readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new CommandFailure(`cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  });
  let status: SnapshotStatus;
  try {
    status = snapshotStatusOf(new Uint8Array(bytes));
  } catch (error) {
    throw new CommandFailure(`${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  // No client is opened (the ctl context is lazy): status reads only the file.
  return withCtl(values, env, async (ctl) => {
    ctl.out(table(['HASH', 'REVISION', 'TOTAL KEYS', 'TOTAL SIZE'],
      [[hex(status.hash), String(status.revision), String(status.totalKey), formatBytes(status.totalSize)]]), status);
    return 0;
  });
}

/** syncDirectory makes a rename in `dir` durable. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function hex(hash: number): string {
  return hash.toString(16).padStart(8, '0');
}

/** formatBytes prints a size as etcdctl does (decimal units: 2.1 MB). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
