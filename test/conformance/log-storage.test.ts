import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { DiskStorage } from '../../src/storage/disk-storage.js';
import type { DurableLogStorage } from '../../src/storage/durable-log-storage.js';
import { NodeFileSystem } from '../../src/storage/file-system.js';
import { MemoryLogStorage } from '../../src/storage/memory-log-storage.js';
import { runLogStorageConformance } from './log-storage.js';

const identity = { clusterId: 'conformance', groupId: 7, nodeId: 1 };

runLogStorageConformance('memory', async () => ({
  open: async (confState) => new MemoryLogStorage(confState),
  cleanup: async () => {},
}));

runLogStorageConformance('disk', async () => {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'concord-conformance-'));
  const dir = path.join(root, 'groups', '7');
  const fs = new NodeFileSystem();
  // Small segments so the suite also crosses segment boundaries and purges.
  const options = { identity, segmentBytesMax: 1024 };
  return {
    open: async (confState) => (await DiskStorage.open(dir, fs, { ...options, initialConfState: confState })).storage,
    reopen: async (storage: DurableLogStorage) => {
      await storage.close();
      const { storage: reopened, created } = await DiskStorage.open(dir, fs, options);
      if (created) throw new Error('reopen created a new storage');
      return reopened;
    },
    cleanup: () => fsp.rm(root, { recursive: true, force: true }),
  };
});
