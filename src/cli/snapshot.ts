/**
 * `concord snapshot save FILE` / `concord snapshot status FILE` (src/cli/ctl/snapshot.ts, on the
 * client) and `concord snapshot restore FILE [member flags]`: creates a member's data directory from a
 * snapshot saved with `etcdctl snapshot save` (or the Snapshot RPC), as `etcdctl snapshot
 * restore` does for etcd. The member flags are those of `concord start` (--name, --data-dir,
 * --initial-cluster, --initial-cluster-token, --initial-advertise-peer-urls, ...).
 */
import { isConfigError, parseMemberConfig } from '../server/config.js';
import { createLineLogger } from '../server/line-logger.js';
import { restoreMember } from '../server/restore.js';
import { reportError } from './ctl/context.js';
import { runSnapshotSave, runSnapshotStatus } from './ctl/snapshot.js';
import { EXIT_CODES } from './start.js';

export const SNAPSHOT_USAGE = `usage: concord snapshot save FILE [--endpoints ...] [--json]
       concord snapshot status FILE [--json]
       concord snapshot restore FILE [concord start flags]

save streams a consistent snapshot from one member into FILE (written to FILE.part, fsynced,
checked, renamed) and prints its revision, key count, size and hash.
status checks FILE and prints its hash, revision, total keys and total size.

Creates --data-dir for member --name of a NEW cluster (--initial-cluster, --initial-cluster-token)
whose key-value state is the snapshot's. Restore every member from the same file with the same
flags, then start them with "concord start" and the same flags.
`;

export async function runSnapshot(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [sub, file, ...rest] = argv;
  if (sub === 'save' || sub === 'status') {
    try {
      return await (sub === 'save' ? runSnapshotSave : runSnapshotStatus)(argv.slice(1), env);
    } catch (error) {
      return reportError(`snapshot ${sub}`, error);
    }
  }
  if (sub !== 'restore' || file === undefined || file.startsWith('-')) {
    process.stderr.write(SNAPSHOT_USAGE);
    return EXIT_CODES.usage;
  }
  let config;
  try {
    config = parseMemberConfig(rest, env);
  } catch (error) {
    if (!isConfigError(error)) throw error;
    process.stderr.write(`concord: ${error.message}\n`);
    return EXIT_CODES.usage;
  }
  const logger = createLineLogger({ name: config.name, level: config.logLevel, stream: process.stderr });
  try {
    const { revision, keys } = await restoreMember(file, config, logger);
    process.stdout.write(`restored snapshot ${file} into ${config.dataDir}: revision ${revision}, ${keys} keys\n`);
    return EXIT_CODES.ok;
  } catch (error) {
    process.stderr.write(`concord: snapshot restore failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return isConfigError(error) ? EXIT_CODES.usage : EXIT_CODES.failure;
  }
}
