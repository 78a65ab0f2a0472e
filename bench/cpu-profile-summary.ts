import fs from 'node:fs';
import path from 'node:path';
import { areaOf, frameLabel, profileFiles, type CallFrame } from './profile-areas.js';

/**
 * cpu-profile-summary: where the time of a `node --cpu-prof` profile goes, by area of the code
 * (Node's HTTP/2, gRPC serving, codecs, Raft, WAL, transport, MVCC, GC, …) and by function (self
 * time). For `npm run bench -- --cpu-prof DIR`, which profiles the Concord members.
 *   node dist/bench/cpu-profile-summary.js FILE.cpuprofile|DIR [--top 25]
 */

interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

/** summarizeProfile prints self time by area and the top functions of one profile. */
export function summarizeProfile(file: string, top: number): void {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    const area = areaOf(frame);
    if (area === 'idle') {
      idleUs += us;
      continue;
    }
    totalUs += us;
    byArea.set(area, (byArea.get(area) ?? 0) + us);
    const name = frameLabel(frame);
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  }
  const wallUs = profile.endTime - profile.startTime;
  console.log(`${path.basename(file)}: ${(wallUs / 1e6).toFixed(1)} s profiled, busy ${(totalUs / 1e6).toFixed(2)} s, idle ${(idleUs / 1e6).toFixed(2)} s`);
  const pct = (us: number): string => `${((100 * us) / totalUs).toFixed(1).padStart(5)} %`;
  console.log('  by area (self time, % of busy):');
  for (const [area, us] of [...byArea].sort((a, b) => b[1] - a[1])) console.log(`    ${pct(us)}  ${area}`);
  console.log(`  top ${top} functions (self time):`);
  for (const [name, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`    ${pct(us)}  ${name}`);
}

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args[topAt + 1]) : 25;
const target = args.find((a, i) => !a.startsWith('--') && (topAt < 0 || i !== topAt + 1));
if (target === undefined) {
  console.error('usage: node dist/bench/cpu-profile-summary.js FILE.cpuprofile|DIR [--top 25]');
  process.exit(2);
}
for (const file of profileFiles(target, '.cpuprofile')) summarizeProfile(file, top);
