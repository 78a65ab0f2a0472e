/**
 * transport-bench: throughput of TcpTransport over loopback for small MsgApp batches.
 *   npm run build && node dist/bench/transport-bench.js [seconds] [entriesPerMsg] [entryBytes]
 * One sender, one receiver in the same process (so the figure includes both sides' CPU). Each
 * event-loop turn sends `burst` MsgApps across 8 groups; the sender keeps at most `inflightMax`
 * messages unacknowledged (counted at the receiver) so queues stay bounded. No assertions.
 */
import { performance } from 'node:perf_hooks';
import type { Message, NodeId, SnapshotStatus } from '../src/raft/types.js';
import { TcpTransport } from '../src/transport/tcp-transport.js';
import type { GroupId, TransportHandler } from '../src/transport/transport.js';

const seconds = Number(process.argv[2] ?? 3);
const entriesPerMessage = Number(process.argv[3] ?? 4);
const entryBytes = Number(process.argv[4] ?? 128);
const groups = 8;
const inflightMax = 20_000;

let received = 0;
const sink: TransportHandler = {
  onMessage(_from: NodeId, _group: GroupId, _m: Message) { received += 1; },
  onUnreachable() {},
  onSnapshotStatus(_p: NodeId, _g: GroupId, _i: number, _s: SnapshotStatus) {},
};

function appMessage(index: number): Message {
  const entries = [];
  for (let i = 0; i < entriesPerMessage; i++) entries.push({ term: 1, index: index + i + 1, type: 'normal' as const, data: new Uint8Array(entryBytes) });
  return { type: 'MsgApp', from: 1 as NodeId, to: 2 as NodeId, term: 1, logTerm: 1, index, commit: index, commitOnly: false, entries };
}

async function run(burst: number): Promise<void> {
  received = 0;
  const a = new TcpTransport({ localId: 1 as NodeId, clusterId: 'bench', handler: sink });
  const b = new TcpTransport({ localId: 2 as NodeId, clusterId: 'bench', handler: sink });
  await Promise.all([a.start(), b.start()]);
  a.addPeer(2 as NodeId, b.url);
  while (!a.isConnected(2 as NodeId)) await new Promise((r) => setTimeout(r, 5));
  // Pre-built messages: the benchmark measures the transport, not message construction.
  const pool = Array.from({ length: burst }, (_, i) => appMessage(i * entriesPerMessage));
  let sent = 0;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const deadline = started + seconds * 1000;
  while (performance.now() < deadline) {
    if (sent - received < inflightMax) {
      for (let i = 0; i < burst; i++) a.send(2 as NodeId, i % groups, [pool[i]!]);
      sent += burst;
    }
    await new Promise((r) => setImmediate(r));
  }
  while (received < sent - a.stats.messagesDropped) await new Promise((r) => setImmediate(r));
  const elapsedS = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const mb = a.stats.bytesSent / 1e6;
  console.log(
    `burst ${String(burst).padStart(4)} x MsgApp(${entriesPerMessage} x ${entryBytes} B): ` +
    `${Math.round(received / elapsedS).toLocaleString('en-US').padStart(10)} msg/s, ` +
    `${(mb / elapsedS).toFixed(1).padStart(6)} MB/s, ` +
    `${a.stats.batchFramesSent} frames (${(received / Math.max(1, a.stats.batchFramesSent)).toFixed(1)} msg/frame), ` +
    `${((cpuS / received) * 1e6).toFixed(2)} µs CPU/msg (both ends), dropped ${a.stats.messagesDropped}`,
  );
  await Promise.all([a.stop(), b.stop()]);
}

for (const burst of [1, 16, 128, 1024]) await run(burst);
