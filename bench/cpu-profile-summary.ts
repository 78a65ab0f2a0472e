import fs from 'node:fs';
import path from 'node:path';
import { areaOf, frameLabel, profileFiles, type CallFrame } from './profile-areas.js';

/**
 * cpu-profile-summary: where the time of a `node --cpu-prof` profile goes, by area of the code
 * (Node's HTTP/2, gRPC serving, codecs, Raft, WAL, transport, MVCC, GC, …) and by function (self
 * time). For `npm run bench -- --cpu-prof DIR`, which profiles the Concord members.
 *   node dist/bench/cpu-profile-summary.js FILE.cpuprofile|DIR [--top 25] [--window FROM,TO]
 * --window FROM,TO keeps the samples taken between FROM and TO seconds after the profile started
 * (e.g. the first round of a workload against a later one).
 */

interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

/** summarizeProfile prints self time by area and the top functions of one profile. */
export function summarizeProfile(file: string, top: number, window?: readonly [number, number]): void {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let atUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    const deltaUs = profile.timeDeltas[i] ?? 0;
    atUs += deltaUs;
    if (window !== undefined && (atUs < window[0] * 1e6 || atUs >= window[1] * 1e6)) continue;
    selfUs.set(id, (selfUs.get(id) ?? 0) + deltaUs);
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
  const wallUs = window === undefined ? profile.endTime - profile.startTime : Math.min(profile.endTime - profile.startTime, window[1] * 1e6) - window[0] * 1e6;
  const windowText = window === undefined ? '' : ` (${window[0]}–${window[1]} s)`;
  console.log(`${path.basename(file)}${windowText}: ${(wallUs / 1e6).toFixed(1)} s profiled, busy ${(totalUs / 1e6).toFixed(2)} s, idle ${(idleUs / 1e6).toFixed(2)} s`);
  const pct = (us: number): string => `${((100 * us) / totalUs).toFixed(1).padStart(5)} %`;
  console.log('  by area (self time, % of busy):');
  for (const [area, us] of [...byArea].sort((a, b) => b[1] - a[1])) console.log(`    ${pct(us)}  ${area}`);
  console.log(`  top ${top} functions (self time):`);
  for (const [name, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`    ${pct(us)}  ${name}`);
}

const args = process.argv.slice(2);
const valueOf = (flag: string): string | undefined => {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
};
const top = Number(valueOf('--top') ?? 25);
const windowText = valueOf('--window');
const window = windowText === undefined ? undefined : (windowText.split(',').map(Number) as [number, number]);
const target = args.find((a, i) => !a.startsWith('--') && !['--top', '--window'].includes(args[i - 1] ?? ''));
if (target === undefined || (window !== undefined && (window.length !== 2 || window.some((n) => !Number.isFinite(n))))) {
  console.error('usage: node dist/bench/cpu-profile-summary.js FILE.cpuprofile|DIR [--top 25] [--window FROM,TO]');
  process.exit(2);
}
for (const file of profileFiles(target, '.cpuprofile')) summarizeProfile(file, top, window);
