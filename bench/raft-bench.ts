#!/usr/bin/env node
/**
 * raft-bench (`npm run bench:raft`): a 3-node Raft group in one process, the real RawNode with
 * MemoryStorage, no disk and no network — messages are handed over in-process. It measures the
 * core's own cost: entries committed per second with 1 and with 256 proposals in flight, and
 * proposal-to-commit latency (proposal until the leader applies it) in ticks and in microseconds.
 *
 * Driving model: one round = every node handles its Ready (persist to MemoryStorage, collect
 * messages, apply, advance), then every collected message is stepped into its recipient, then
 * every node ticks once. So one tick = one message hop; a commit needs at least two (MsgApp out,
 * MsgAppResp back). Prints figures; asserts nothing.
 *
 *   node dist/bench/raft-bench.js [--seconds S]   (S per measurement, default 3)
 */
import { createHistogram } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Xoshiro128 } from '../src/lib/prng.js';
import {
  EntryType, MemoryStorage, RawNode, Role, decodeConfChange, nodeId,
  type Message, type NodeId,
} from '../src/raft/index.js';

/** BENCH_ROUNDS_ELECTION_MAX bounds the rounds waited for the first leader. */
const BENCH_ROUNDS_ELECTION_MAX = 1000;
/** PAYLOAD_BYTES is each proposal's size: an 8-byte sequence number. */
const PAYLOAD_BYTES = 8;

/** BenchNode is one member: its RawNode and storage. */
interface BenchNode {
  readonly id: NodeId;
  readonly raw: RawNode;
  readonly storage: MemoryStorage;
}

/** Cluster is the in-process group and its message queue. */
class Cluster {
  readonly nodes: BenchNode[] = [];
  private outbox: Message[] = [];
  /** onLeaderApply is called for every entry the leader applies (the proposal's commit point). */
  onLeaderApply: (seq: number) => void = () => {};

  constructor(size: number, seed: number) {
    const voters = Array.from({ length: size }, (_, i) => nodeId(i + 1));
    const master = new Xoshiro128(seed);
    for (const id of voters) {
      const storage = MemoryStorage.withConf({ voters, votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false });
      const raw = new RawNode({ id, storage, prng: new Xoshiro128(master.nextUint32()) });
      this.nodes.push({ id, raw, storage });
    }
  }

  leader(): BenchNode | undefined {
    return this.nodes.find((n) => n.raw.status().softState.role === Role.Leader);
  }

  /** round runs one Ready pass on every node, delivers every message, then ticks everyone. */
  round(): void {
    for (const n of this.nodes) {
      while (n.raw.hasReady()) {
        const rd = n.raw.ready();
        if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
        n.storage.append(rd.entries);
        if (rd.hardState) n.storage.setHardState(rd.hardState);
        for (const m of rd.messages) this.outbox.push(m);
        const isLeader = n.raw.raft.role === Role.Leader;
        for (const e of rd.committedEntries) {
          if (e.type === EntryType.ConfChange) n.raw.applyConfChange(decodeConfChange(e.data));
          else if (isLeader && e.data.byteLength === PAYLOAD_BYTES) {
            this.onLeaderApply(new DataView(e.data.buffer, e.data.byteOffset, PAYLOAD_BYTES).getFloat64(0, true));
          }
        }
        n.raw.advance();
      }
    }
    const messages = this.outbox;
    this.outbox = [];
    for (const m of messages) this.nodes[m.to - 1]!.raw.step(m);
    for (const n of this.nodes) n.raw.tick();
  }
}

/** Measurement is one run's figures. */
interface Measurement {
  readonly inFlight: number;
  readonly committed: number;
  readonly seconds: number;
  readonly rounds: number;
  readonly ticksP: Record<string, number>;
  readonly microsP: Record<string, number>;
}

const PERCENTILES = [50, 90, 99, 99.9] as const;

function measure(inFlightTarget: number, seconds: number): Measurement {
  const cluster = new Cluster(3, 42);
  cluster.nodes[0]!.raw.campaign();
  for (let i = 0; i < BENCH_ROUNDS_ELECTION_MAX && !cluster.leader(); i++) cluster.round();
  const leader = cluster.leader();
  if (!leader) throw new Error('no leader elected');
  for (let i = 0; i < 10; i++) cluster.round(); // let the no-op commit

  const startedMs = new Map<number, number>();
  const startedRound = new Map<number, number>();
  const micros = createHistogram();
  const ticksCounts: number[] = [];
  let round = 0;
  let committed = 0;
  cluster.onLeaderApply = (seq) => {
    const t0 = startedMs.get(seq);
    const r0 = startedRound.get(seq);
    if (t0 === undefined || r0 === undefined) return;
    startedMs.delete(seq);
    startedRound.delete(seq);
    micros.record(Math.max(1, Math.round((performance.now() - t0) * 1000)));
    const ticks = round - r0;
    ticksCounts[ticks] = (ticksCounts[ticks] ?? 0) + 1;
    committed++;
  };
  let seq = 0;
  const payload = new Uint8Array(PAYLOAD_BYTES);
  const view = new DataView(payload.buffer);
  const t0 = performance.now();
  const endMs = t0 + seconds * 1000;
  while (performance.now() < endMs) {
    while (startedMs.size < inFlightTarget) {
      seq++;
      view.setFloat64(0, seq, true);
      startedMs.set(seq, performance.now());
      startedRound.set(seq, round);
      leader.raw.propose(payload.slice());
    }
    cluster.round();
    round++;
  }
  const elapsed = (performance.now() - t0) / 1000;
  const ticksP: Record<string, number> = {};
  const total = ticksCounts.reduce((s, c) => s + (c ?? 0), 0);
  for (const p of PERCENTILES) {
    let seen = 0;
    for (let t = 0; t < ticksCounts.length; t++) {
      seen += ticksCounts[t] ?? 0;
      if (seen >= (p / 100) * total) {
        ticksP[`p${p}`] = t;
        break;
      }
    }
  }
  const microsP: Record<string, number> = {};
  for (const p of PERCENTILES) microsP[`p${p}`] = micros.percentile(p);
  return { inFlight: inFlightTarget, committed, seconds: elapsed, rounds: round, ticksP, microsP };
}

function main(): void {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' } } });
  const seconds = Number(values.seconds);
  if (!(seconds > 0)) throw new Error('--seconds must be positive');
  console.log(`raft-bench: 3 nodes in one process, MemoryStorage, in-process delivery, ${PAYLOAD_BYTES}-byte entries, ${seconds} s per run`);
  console.log('one tick = one round (every node handles its Ready, every message is delivered, every node ticks)');
  for (const inFlight of [1, 256]) {
    const m = measure(inFlight, seconds);
    const fmt = (r: Record<string, number>, unit: string): string =>
      PERCENTILES.map((p) => `p${p} ${r[`p${p}`]}${unit}`).join('  ');
    console.log(`\nin flight ${inFlight}: ${Math.round(m.committed / m.seconds).toLocaleString('en-US')} entries committed/s ` +
      `(${m.committed} in ${m.seconds.toFixed(2)} s, ${m.rounds} rounds, ${(m.committed / Math.max(1, m.rounds)).toFixed(1)} entries/round)`);
    console.log(`  proposal-to-commit latency, ticks: ${fmt(m.ticksP, '')}`);
    console.log(`  proposal-to-commit latency, µs:    ${fmt(m.microsP, '')}`);
  }
}

main();
