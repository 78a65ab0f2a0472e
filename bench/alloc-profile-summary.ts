import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { areaOf, frameLabel, profileFiles, type CallFrame } from './profile-areas.js';

/**
 * alloc-profile-summary: where a member's allocation comes from, from the profiles
 * `cluster-bench --alloc-prof DIR` writes (V8's sampling heap profiler with freed objects kept).
 * Prints the total allocated, then bytes by area of the code and by function (self), and with
 * --ops N the bytes per operation.
 *   node dist/bench/alloc-profile-summary.js FILE.heapprofile|DIR [--top 25] [--ops N]
 */

interface HeapNode { callFrame: CallFrame; selfSize: number; id: number; children: HeapNode[] }
interface HeapProfile { head: HeapNode }

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

/** summarizeAllocations prints one profile's allocation by area and by function. */
export function summarizeAllocations(file: string, top: number, ops: number | undefined): void {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as HeapProfile;
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  // A builtin (Array push, an iterator's next, subarray) has no script: it is counted under the
  // nearest script frame that called it, so the tables name the code that asked for the bytes.
  const stack: { node: HeapNode; caller: CallFrame | undefined }[] = [{ node: profile.head, caller: undefined }];
  while (stack.length > 0) {
    const { node, caller } = stack.pop()!;
    const native = node.callFrame.url === '';
    if (node.selfSize > 0) {
      total += node.selfSize;
      const area = native && caller !== undefined ? areaOf(caller) : areaOf(node.callFrame);
      byArea.set(area, (byArea.get(area) ?? 0) + node.selfSize);
      const name = native && caller !== undefined ? `${node.callFrame.functionName} in ${frameLabel(caller)}` : frameLabel(node.callFrame);
      byFunction.set(name, (byFunction.get(name) ?? 0) + node.selfSize);
    }
    for (const child of node.children) stack.push({ node: child, caller: native ? caller : node.callFrame });
  }
  const perOp = ops !== undefined && ops > 0 ? `, ${(total / ops / 1024).toFixed(1)} KiB per operation over ${ops} operations` : '';
  console.log(`\n${path.basename(file)}: ${mib(total)} MiB allocated${perOp}`);
  console.log('  by area:');
  for (const [area, bytes] of [...byArea].sort((a, b) => b[1] - a[1])) {
    console.log(`    ${(100 * bytes / total).toFixed(1).padStart(5)} %  ${mib(bytes).padStart(8)} MiB  ${area}`);
  }
  console.log(`  top ${top} functions (self):`);
  for (const [name, bytes] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`    ${(100 * bytes / total).toFixed(1).padStart(5)} %  ${mib(bytes).padStart(8)} MiB  ${name}`);
  }
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (isMain) {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' }, ops: { type: 'string' } }, allowPositionals: true });
  const target = positionals[0];
  if (target === undefined) {
    console.error('usage: node dist/bench/alloc-profile-summary.js FILE.heapprofile|DIR [--top 25] [--ops N]');
    process.exit(2);
  }
  for (const file of profileFiles(target, '.heapprofile')) summarizeAllocations(file, Number(values.top), values.ops === undefined ? undefined : Number(values.ops));
}
