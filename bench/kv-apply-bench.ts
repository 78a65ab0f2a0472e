import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { encodeKvCommand, CompareResult, type KvCommand } from '../src/kv/index.js';
import { KvStateMachine } from '../src/server/kv-state-machine.js';
import { decodeEnvelope, encodeEnvelope } from '../src/server/proposal-envelope.js';

/**
 * kv-apply-bench: CPU time and memory allocated per applied write in the KV state machine, the
 * work every member does for every committed write: proposal envelope decode, KV command decode,
 * MVCC apply, watch hub notify. Commands are encoded up front, wrapped in proposal envelopes and
 * packed 64 to a buffer the way a follower receives them (entries are views of one frame copy),
 * then applied in log order to a fresh KvStateMachine. One process, no I/O, so the figures barely
 * move with the machine's load and two builds can be compared back to back.
 *
 * Reported per workload: µs of process CPU per applied command, bytes allocated per command
 * (JS heap + ArrayBuffer backing stores, measured over chunks that fit in a large young
 * generation, with a full GC before each chunk), and bytes retained per command after a full GC
 * (the store's history grows: nothing is compacted), and the proposer's CPU to encode the command.
 * Figures only; nothing is asserted.
 *
 *   node dist/bench/kv-apply-bench.js [--ops 200000] [--keys 10000] [--value-bytes 256]
 *     [--watchers 0] [--workloads put,put-new,txn-cas] [--cpu-only]
 *
 * The bench re-runs itself with `--expose-gc --max-semi-space-size=128` when started without them.
 */

if (typeof globalThis.gc !== 'function') {
  const child = spawnSync(process.execPath,
    ['--expose-gc', '--max-semi-space-size=128', fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit' });
  process.exit(child.status ?? 1);
}
const gc = globalThis.gc as () => void;

const args = process.argv.slice(2);
function option(name: string, fallback: string): string {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] !== undefined ? args[at + 1]! : fallback;
}
const opCount = Number(option('ops', '200000'));
const keyCount = Number(option('keys', '10000'));
const valueBytes = Number(option('value-bytes', '256'));
const watcherCount = Number(option('watchers', '0'));
const workloads = option('workloads', 'put,put-new,txn-cas').split(',');
/** --cpu-only skips the allocation pass (its forced GCs would dominate a --cpu-prof profile). */
const cpuOnly = args.includes('--cpu-only');

const ENTRIES_PER_FRAME = 64;
const PROPOSER = 2;
const encoder = new TextEncoder();
const width = String(keyCount - 1).length;
const keys = Array.from({ length: keyCount }, (_, i) => encoder.encode(`key/${String(i).padStart(width, '0')}`));
const value = new Uint8Array(valueBytes).fill(0x76);

function commandFor(workload: string, i: number): KvCommand {
  switch (workload) {
    case 'put':
      return { type: 'put', request: { key: keys[i % keyCount]!, value } };
    case 'put-new':
      return { type: 'put', request: { key: encoder.encode(`new/${String(i).padStart(9, '0')}`), value } };
    case 'txn-cas': {
      const key = keys[i % 100]!;
      return {
        type: 'txn',
        request: {
          compare: [{ result: CompareResult.Greater, target: 'mod', key, modRevision: -1 }],
          success: [{ type: 'put', request: { key, value } }],
          failure: [{ type: 'range', request: { key } }],
        },
      };
    }
    default:
      throw new Error(`unknown workload ${workload} (put, put-new, txn-cas)`);
  }
}

/** entriesFor encodes `n` commands as envelope entries, 64 to a shared buffer (as a follower's frame copy). */
function entriesFor(workload: string, n: number): Uint8Array[] {
  const entries: Uint8Array[] = [];
  for (let first = 0; first < n; first += ENTRIES_PER_FRAME) {
    const parts: Uint8Array[] = [];
    for (let i = first; i < Math.min(n, first + ENTRIES_PER_FRAME); i++) {
      parts.push(encodeEnvelope(PROPOSER as never, i + 1, encodeKvCommand(commandFor(workload, i))));
    }
    const frame = new Uint8Array(parts.reduce((sum, p) => sum + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      frame.set(p, at);
      entries.push(frame.subarray(at, at + p.byteLength));
      at += p.byteLength;
    }
  }
  return entries;
}

function freshMachine(): KvStateMachine {
  const machine = new KvStateMachine({ limits: { quotaBytes: 64 * 1024 ** 3 } });
  // Watchers on keys no command writes: the hub is consulted on every write, but delivers nothing.
  for (let i = 0; i < watcherCount; i++) machine.hub.create({ key: encoder.encode(`watched/${i}`) });
  return machine;
}

function applyAll(machine: KvStateMachine, entries: readonly Uint8Array[], from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const envelope = decodeEnvelope(entries[i]!);
    const result = machine.apply(i + 1, envelope.command);
    if (!result.ok) throw new Error(`command ${i} failed: ${result.error.message}`);
  }
}

function allocatedBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

interface Row {
  readonly workload: string;
  /** encodeMicrosPerOp is the proposer's share: encoding the command (the envelope is timed in write-path-bench). */
  readonly encodeMicrosPerOp: number;
  readonly cpuMicrosPerOp: number;
  readonly allocatedBytesPerOp: number;
  readonly retainedBytesPerOp: number;
}

function measure(workload: string): Row {
  const requests = Array.from({ length: Math.min(opCount, 50_000) }, (_, i) => commandFor(workload, i));
  for (const command of requests) encodeKvCommand(command);
  const encodeStart = process.cpuUsage();
  for (let round = 0; round < 4; round++) for (const command of requests) encodeKvCommand(command);
  const encodeUsed = process.cpuUsage(encodeStart);
  const encodeMicrosPerOp = (encodeUsed.user + encodeUsed.system) / (4 * requests.length);
  const entries = entriesFor(workload, opCount);
  // Warm-up on a separate machine, so the measured one starts empty like the others.
  applyAll(freshMachine(), entries, 0, Math.min(opCount, 20_000));

  gc();
  const timed = freshMachine();
  const before = process.cpuUsage();
  applyAll(timed, entries, 0, opCount);
  const used = process.cpuUsage(before);

  if (cpuOnly) return { workload, encodeMicrosPerOp, cpuMicrosPerOp: (used.user + used.system) / opCount, allocatedBytesPerOp: NaN, retainedBytesPerOp: NaN };
  const chunk = 2_000;
  const counted = freshMachine();
  let allocated = 0;
  let retained = 0;
  let measuredOps = 0;
  for (let from = 0; from < opCount; from += chunk) {
    const to = Math.min(opCount, from + chunk);
    gc();
    const start = allocatedBytes();
    applyAll(counted, entries, from, to);
    const end = allocatedBytes();
    gc();
    const kept = allocatedBytes();
    if (end >= start) {
      allocated += end - start;
      retained += kept - start;
      measuredOps += to - from;
    }
  }
  return {
    workload,
    encodeMicrosPerOp,
    cpuMicrosPerOp: (used.user + used.system) / opCount,
    allocatedBytesPerOp: allocated / Math.max(1, measuredOps),
    retainedBytesPerOp: retained / Math.max(1, measuredOps),
  };
}

console.log(`kv-apply-bench: ${opCount} commands per workload, ${keyCount} keys, value ${valueBytes} B, ${watcherCount} unrelated watchers`);
console.log('| workload | apply: µs CPU / op | apply: bytes allocated / op | apply: bytes retained / op | encode (proposer): µs CPU / op |');
console.log('|---|--:|--:|--:|--:|');
for (const workload of workloads) {
  const row = measure(workload);
  console.log(`| ${row.workload} | ${row.cpuMicrosPerOp.toFixed(2)} | ${row.allocatedBytesPerOp.toFixed(0)} | ${row.retainedBytesPerOp.toFixed(0)} | ${row.encodeMicrosPerOp.toFixed(2)} |`);
}
