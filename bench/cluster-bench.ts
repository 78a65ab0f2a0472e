import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { TestCluster } from '../test/integration/cluster.js';
import { measureFsyncFloor, percentile } from './fsync-floor.js';

/**
 * npm run bench: 3 real members on loopback (real TCP, real fsync), writes through the internal
 * client API with 1 and with many concurrent writers; prints committed writes/s and latency
 * percentiles next to this disk's fsync latency (the floor for one writer). Figures only.
 *   node dist/bench/cluster-bench.js [--seconds S] [--writers 1,16,64,256] [--value-bytes N]
 */
const args = process.argv.slice(2);
const arg = (name: string, fallback: string): string => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] !== undefined ? args[at + 1]! : fallback;
};
const seconds = Number(arg('seconds', '5'));
const writerCounts = arg('writers', '1,16,64,256').split(',').map(Number);
const valueBytes = Number(arg('value-bytes', '256'));

async function main(): Promise<void> {
  const floor = measureFsyncFloor(path.join(os.tmpdir(), 'concord-bench-fsync'));
  console.log(`fsync floor (4 KiB append + fdatasync, 200x): p50 ${floor.p50Ms.toFixed(2)} ms, p99 ${floor.p99Ms.toFixed(2)} ms`);
  const cluster = await TestCluster.create(3, { extraFlags: ['--log-level=warn'] });
  try {
    cluster.startAll();
    const leader = await cluster.waitForLeader(20_000);
    const port = cluster.member(leader).clientPort;
    const value = Buffer.alloc(valueBytes, 'v');
    console.log(`3 members on 127.0.0.1, writes to the leader (${leader}), value ${valueBytes} B, ${seconds} s per run`);
    console.log('writers  writes/s   p50 ms   p99 ms   errors');
    for (const writers of writerCounts) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: writers });
      const latencies: number[] = [];
      let errors = 0;
      const deadline = performance.now() + seconds * 1000;
      let seq = 0;
      const started = performance.now();
      await Promise.all(Array.from({ length: writers }, async () => {
        while (performance.now() < deadline) {
          const key = `bench-${seq++ % 10_000}`;
          const t0 = performance.now();
          const ok = await put(agent, port, key, value);
          if (ok) latencies.push(performance.now() - t0);
          else errors++;
        }
      }));
      const elapsedS = (performance.now() - started) / 1000;
      agent.destroy();
      latencies.sort((a, b) => a - b);
      console.log(`${String(writers).padStart(7)}  ${(latencies.length / elapsedS).toFixed(0).padStart(8)}  ` +
        `${percentile(latencies, 0.5).toFixed(2).padStart(7)}  ${percentile(latencies, 0.99).toFixed(2).padStart(7)}  ${String(errors).padStart(7)}`);
    }
  } finally {
    await cluster.destroy();
  }
}

function put(agent: http.Agent, port: number, key: string, value: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path: `/concord/v0/kv/${key}`, agent,
      headers: { 'content-length': value.byteLength } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
    req.end(value);
  });
}

await main();
