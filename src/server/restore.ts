import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../lib/logger.js';
import { restoreStoreSnapshot } from '../kv/index.js';
import { DiskStorage } from '../storage/disk-storage.js';
import { NodeFileSystem } from '../storage/file-system.js';
import { decodeSnapshotFile } from '../storage/snapshot-file.js';
import { ConfigError } from './config.js';
import { DATA_GROUP_ID, foundingLog } from './member.js';
import type { MemberConfig } from './member-config.js';
import { computeClusterId, initialClusterMemberIds } from './member-id.js';

/**
 * restoreMember creates a member's data directory from a snapshot file (what `etcdctl snapshot
 * restore` does for etcd): a new cluster, described by the same flags as `concord start`, whose
 * key-value state starts from the snapshot. Every member of the new cluster is restored from the
 * same file with the same --initial-cluster and token, so their logs start identical: the
 * founding configuration entries, then a Raft snapshot holding the store.
 */
export async function restoreMember(snapshotFile: string, config: MemberConfig, logger: Logger): Promise<{ revision: number; keys: number }> {
  const data = decodeSnapshotFile(new Uint8Array(await fs.readFile(snapshotFile)));
  const store = restoreStoreSnapshot(data);
  const groupDir = path.join(config.dataDir, 'groups', String(DATA_GROUP_ID));
  const existing = await fs.readdir(config.dataDir).catch(() => []);
  if (existing.length > 0) throw new ConfigError(`data dir ${config.dataDir} is not empty; restore needs a new one`);
  const ids = initialClusterMemberIds(config.initialCluster, config.initialClusterToken);
  const id = ids.get(config.name);
  if (id === undefined) throw new ConfigError(`member ${config.name} is not in --initial-cluster`);
  const clusterId = computeClusterId([...ids.values()], config.initialClusterToken);
  const { storage } = await DiskStorage.open(groupDir, new NodeFileSystem(), {
    identity: { clusterId, groupId: DATA_GROUP_ID, nodeId: id },
    logger,
  });
  try {
    const { confState, log: { entries, hardState } } = foundingLog(config, ids);
    await storage.persistReady({ hardState, entries, snapshot: undefined }, true);
    // The store as of the snapshot, at the index of the last founding entry: identical on every member.
    await storage.createSnapshot(entries.length, confState, data);
    await storage.compact(entries.length);
  } finally {
    await storage.close();
  }
  return { revision: store.currentRevision, keys: store.keyCount };
}
