import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EntryType, type Entry, type Message } from '../src/raft/index.js';
import { decodeEnvelope, encodeEnvelope } from '../src/server/proposal-envelope.js';
import { NodeFileSystem } from '../src/storage/file-system.js';
import { Wal } from '../src/storage/wal.js';
import { decodeFrame, encodeBatchFrames } from '../src/transport/frame-codec.js';

/**
 * write-path-bench: CPU time of the pieces every member runs per entry or per batch on the
 * write path (proposal envelope, peer frame encode/decode, WAL record encode + write, with and
 * without fdatasync), measured with process.cpuUsage() in one process. Unlike the cluster
 * benchmark's CPU per operation, these figures barely move when other processes load the machine,
 * so they can compare two builds back to back. Figures only; nothing is asserted.
 *
 *   node dist/bench/write-path-bench.js [--batch 17] [--command-bytes 300]
 */

const args = process.argv.slice(2);
function option(name: string, fallback: number): number {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] !== undefined ? Number(args[at + 1]) : fallback;
}
const batchEntries = option('batch', 17);
const commandBytes = option('command-bytes', 300);

/** cpuMicrosPerCall runs `fn` n times after a warm-up and returns the process CPU per call, in µs. */
function cpuMicrosPerCall(n: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 2_000); i++) fn(i);
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) fn(i);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

async function cpuMicrosPerAwait(n: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(n, 200); i++) await fn();
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) await fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

const rows: [string, number, string][] = [];
const command = new Uint8Array(commandBytes).fill(7);

// Proposal envelope: encoded by the proposer, decoded by every member at apply, plus the
// proposer's bookkeeping of the pending proposal.
const pending = new Map<number, number>();
let sequence = 0;
rows.push(['proposal envelope: encode + decode + pending map', 1000 * cpuMicrosPerCall(300_000, () => {
  sequence++;
  pending.set(sequence, sequence);
  const decoded = decodeEnvelope(encodeEnvelope(7 as never, sequence, command));
  pending.delete(decoded.sequence);
}), 'ns per entry']);

// Peer frames: one MsgApp of `batchEntries` entries, encoded by the leader per follower and decoded
// by the follower from a socket chunk.
const entries: Entry[] = Array.from({ length: batchEntries }, (_, i) => ({
  term: 2, index: 100 + i, type: EntryType.Normal, data: encodeEnvelope(7 as never, i, command),
}));
const message = { type: 'MsgApp', from: 1, to: 2, term: 2, logTerm: 2, index: 99, commit: 98, entries } as unknown as Message;
const frame = encodeBatchFrames([1], [message], 16 << 20).buffers[0]!;
const chunk = Buffer.concat([Buffer.alloc(64), Buffer.from(frame), Buffer.alloc(64)]);
const payload = chunk.subarray(64 + 5, 64 + frame.byteLength);
const limits = { clusterIdBytesMax: 256, refusalReasonBytesMax: 256 };
rows.push(['peer frame: encode a MsgApp', 1000 * cpuMicrosPerCall(50_000, () => {
  encodeBatchFrames([1], [message], 16 << 20);
}) / batchEntries, 'ns per entry']);
rows.push(['peer frame: decode a MsgApp', 1000 * cpuMicrosPerCall(50_000, () => {
  decodeFrame(frame[4]!, payload, limits);
}) / batchEntries, 'ns per entry']);

// WAL: a batch of `batchEntries` entries and a hard state, without and with fdatasync (CPU of
// every thread: the fdatasync runs on libuv's thread pool), and a hard-state-only save (a
// follower's commit-index update).
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concord-write-path-'));
try {
  const { wal } = await Wal.open(dir, new NodeFileSystem(), { identity: { clusterId: 'bench', groupId: 1, nodeId: 1 } });
  let index = 0;
  const nextBatch = () => {
    const batch = entries.map((e) => ({ ...e, index: ++index }));
    return { entries: batch, hardState: { term: 2, vote: 1 as never, commit: index - 1 } };
  };
  rows.push([`WAL: save ${batchEntries} entries + hard state, no sync`, await cpuMicrosPerAwait(5_000, () => wal.saveBatch(nextBatch(), false)), 'µs per batch']);
  rows.push([`WAL: save ${batchEntries} entries + hard state + fdatasync`, await cpuMicrosPerAwait(1_000, () => wal.saveBatch(nextBatch(), true)), 'µs per batch']);
  rows.push(['WAL: save a hard state only, no sync', await cpuMicrosPerAwait(5_000, () =>
    wal.saveBatch({ entries: [], hardState: { term: 2, vote: 1 as never, commit: index } }, false)), 'µs per save']);
  await wal.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

console.log(`write path CPU (process.cpuUsage, all threads); ${batchEntries} entries per batch, ${commandBytes} B commands`);
for (const [what, value, unit] of rows) console.log(`${what.padEnd(58)} ${value.toFixed(1).padStart(8)} ${unit}`);
