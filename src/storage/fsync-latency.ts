import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { NodeFileSystem, type FileSystem } from './file-system.js';

/** FsyncLatency summarizes `samples` append+fdatasync round trips, in milliseconds. */
export interface FsyncLatency {
  readonly samples: number;
  readonly appendBytes: number;
  readonly medianMs: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/**
 * measureFsyncLatency appends `appendBytes` to a fresh file in `dir` and fdatasyncs it, `samples`
 * times, timing each append+fdatasync (what one WAL batch costs). Used to pick batching limits
 * and the leader's disk-stall bound on a given machine.
 */
export async function measureFsyncLatency(dir: string, fs: FileSystem = new NodeFileSystem(), samples = 200, appendBytes = 4096): Promise<FsyncLatency> {
  const file = path.join(dir, 'fsync-latency.probe');
  const handle = await fs.openAppend(file);
  const chunk = new Uint8Array(appendBytes).fill(0x5a);
  const times: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const start = performance.now();
      await handle.append([chunk]);
      await handle.datasync();
      times.push(performance.now() - start);
    }
  } finally {
    await handle.close();
    await fs.unlink(file);
  }
  times.sort((a, b) => a - b);
  const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { samples, appendBytes, medianMs: at(0.5), p99Ms: at(0.99), maxMs: times[times.length - 1]! };
}

// `node dist/src/storage/fsync-latency.js [dir]` prints the measurement for that directory's disk.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = process.argv[2] ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'concord-fsync-')));
  const result = await measureFsyncLatency(dir);
  console.log(JSON.stringify({ dir, ...result, medianMs: +result.medianMs.toFixed(3), p99Ms: +result.p99Ms.toFixed(3), maxMs: +result.maxMs.toFixed(3) }));
  if (process.argv[2] === undefined) await fsp.rm(dir, { recursive: true, force: true });
}
