import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

/**
 * measureFsyncFloor appends `bytes` and fdatasyncs it `count` times in `dir`, the physical floor
 * of one writer's commit latency (a write is acknowledged only after an fsync on a majority).
 */
export function measureFsyncFloor(dir: string, count = 200, bytes = 4096): { p50Ms: number; p99Ms: number; meanMs: number } {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'fsync-probe.bin');
  const fd = fs.openSync(file, 'a');
  const buf = Buffer.alloc(bytes, 7);
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      fs.writeSync(fd, buf);
      const t0 = performance.now();
      fs.fdatasyncSync(fd);
      samples.push(performance.now() - t0);
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  samples.sort((a, b) => a - b);
  return {
    p50Ms: percentile(samples, 0.5),
    p99Ms: percentile(samples, 0.99),
    meanMs: samples.reduce((a, b) => a + b, 0) / samples.length,
  };
}

/** percentile of an ascending array (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}
