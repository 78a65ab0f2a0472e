import { percentile } from '../fsync-floor.js';
import type { Measured } from './closed-loop.js';
import { handlingQuantileMs, shareAboveMs, type BatchCounters } from './member-metrics.js';
import type { BenchTarget } from './target.js';
import type { WorkloadSpec } from './workloads.js';

/** RowResult is one workload on one system, reduced to figures. */
export interface RowResult {
  readonly workload: string;
  readonly label: string;
  readonly system: string;
  readonly ops: number;
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** p90Ms and p999Ms show the shape of the tail (in the JSON only). */
  readonly p90Ms: number;
  readonly p999Ms: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly pendingAtEnd: number;
  readonly note: string;
  /** leader is the name of the member that led when the run started. */
  readonly leader: string;
  /** cpu: µs of CPU per op on the leader, on each follower, on all members, and in the load generator. */
  readonly cpu: {
    readonly leaderUsPerOp: number;
    readonly followersUsPerOp: readonly number[];
    readonly membersUsPerOp: number;
    readonly clientUsPerOp: number;
    /** membersPercent: CPU used by all members over the window, in % of one core (2 cores = 200 %). */
    readonly membersPercent: number;
    readonly clientPercent: number;
    /** otherPercent: CPU used by every other process on the machine over the window, % of one core. */
    readonly otherPercent: number;
    /** The load generator's own stalls in the window: event-loop lateness p99 and max, GC pause total and max (ms). */
    readonly clientLoopDelayP99Ms: number;
    readonly clientLoopDelayMaxMs: number;
    readonly clientGcMs: number;
    readonly clientGcMaxMs: number;
  };
  /** rounds is how many runs this row is the median of. */
  readonly rounds: number;
  /**
   * batching: from the members' /metrics over the whole run (warm-up and drain included), per
   * operation completed in it (for watch: per put). NaN where a system has no such counter.
   */
  readonly batching: {
    readonly opsPerLeaderFsync: number;
    readonly entriesPerLeaderFsync: number;
    readonly opsPerProposalBatch: number;
    readonly readsPerReadRound: number;
    readonly opsPerBackendCommit: number;
    /** leaderPeerWritesPerOp: socket writes the leader made to its peers, per operation. */
    readonly leaderPeerWritesPerOp: number;
    /**
     * serverP50Ms / serverP99Ms: unary calls' handling time inside the members (stream open to
     * status, grpc_server_handling_seconds summed over members); NaN where not served (etcd).
     */
    readonly serverP50Ms: number;
    readonly serverP99Ms: number;
    /** snapshots: snapshots saved by all members during the run (a snapshot costs its member CPU for a while). */
    readonly snapshots: number;
    /**
     * WAL fdatasync times (etcd_disk_wal_fsync_duration_seconds) on the leader and on the
     * followers together: p99 interpolated in its bucket, and the share above 2 ms (a bound both
     * systems' buckets have, so the shares compare exactly).
     */
    readonly leaderFsyncP99Ms: number;
    readonly leaderFsyncOver2ms: number;
    readonly followersFsyncP99Ms: number;
    readonly followersFsyncOver2ms: number;
  };
}

/** RunCounters are the members' counters over one run, in target order. */
export interface RunCounters {
  readonly perMember: readonly BatchCounters[];
}

/** summarize reduces a measurement to a RowResult. */
export function summarize(spec: WorkloadSpec, target: BenchTarget, leaderIndex: number, m: Measured & { note: string }, counters: RunCounters): RowResult {
  const sorted = Float64Array.from(m.latenciesMs).sort();
  const ops = sorted.length;
  const memberUs = m.cpuEnd.membersUs.map((end, i) => end - m.cpuStart.membersUs[i]!);
  const clientUs = m.cpuEnd.clientUs - m.cpuStart.clientUs;
  const perOp = (us: number): number => (ops === 0 ? Number.NaN : us / ops);
  const windowUs = m.elapsedSeconds * 1e6;
  const membersTotalUs = memberUs.reduce((a, b) => a + b, 0);
  return {
    workload: spec.id,
    label: spec.label,
    system: target.system,
    ops,
    opsPerSecond: ops / m.elapsedSeconds,
    p50Ms: percentile(sorted as unknown as number[], 0.5),
    p99Ms: percentile(sorted as unknown as number[], 0.99),
    p90Ms: percentile(sorted as unknown as number[], 0.9),
    p999Ms: percentile(sorted as unknown as number[], 0.999),
    errors: m.errors,
    firstError: m.firstError,
    pendingAtEnd: m.pendingAtEnd,
    note: m.note,
    leader: target.members[leaderIndex]!.name,
    cpu: {
      leaderUsPerOp: perOp(memberUs[leaderIndex]!),
      followersUsPerOp: memberUs.filter((_, i) => i !== leaderIndex).map(perOp),
      membersUsPerOp: perOp(membersTotalUs),
      clientUsPerOp: perOp(clientUs),
      membersPercent: (100 * membersTotalUs) / windowUs,
      clientPercent: (100 * clientUs) / windowUs,
      otherPercent: (100 * (m.cpuEnd.machineUs - m.cpuStart.machineUs - membersTotalUs - clientUs)) / windowUs,
      clientLoopDelayP99Ms: m.clientStalls.loopDelayP99Ms,
      clientLoopDelayMaxMs: m.clientStalls.loopDelayMaxMs,
      clientGcMs: m.clientStalls.gcMs,
      clientGcMaxMs: m.clientStalls.gcMaxMs,
    },
    rounds: 1,
    batching: batchingOf(m.totalOps, leaderIndex, counters),
  };
}

function batchingOf(totalOps: number, leaderIndex: number, counters: RunCounters): RowResult['batching'] {
  const leader = counters.perMember[leaderIndex]!;
  const sum = (pick: (c: BatchCounters) => number): number => counters.perMember.reduce((a, c) => a + pick(c), 0);
  const ratio = (a: number, b: number): number => (b > 0 ? a / b : Number.NaN);
  const merged = (pick: (c: BatchCounters) => ReadonlyMap<number, number>, members: readonly BatchCounters[]): Map<number, number> => {
    const into = new Map<number, number>();
    for (const c of members) for (const [bound, n] of pick(c)) into.set(bound, (into.get(bound) ?? 0) + n);
    return into;
  };
  const handling = merged((c) => c.unaryHandling, counters.perMember);
  const followersFsync = merged((c) => c.walFsync, counters.perMember.filter((_, i) => i !== leaderIndex));
  return {
    opsPerLeaderFsync: ratio(totalOps, leader.walFsyncs),
    entriesPerLeaderFsync: ratio(leader.committed, leader.walFsyncs),
    opsPerProposalBatch: ratio(totalOps, leader.proposalBatches),
    readsPerReadRound: ratio(totalOps, sum((c) => c.readRounds)),
    opsPerBackendCommit: ratio(totalOps, leader.backendCommits),
    leaderPeerWritesPerOp: ratio(leader.peerSocketWrites, totalOps),
    serverP50Ms: handlingQuantileMs(handling, 0.5),
    serverP99Ms: handlingQuantileMs(handling, 0.99),
    snapshots: sum((c) => c.snapshots),
    leaderFsyncP99Ms: handlingQuantileMs(leader.walFsync, 0.99),
    leaderFsyncOver2ms: shareAboveMs(leader.walFsync, 2),
    followersFsyncP99Ms: handlingQuantileMs(followersFsync, 0.99),
    followersFsyncOver2ms: shareAboveMs(followersFsync, 2),
  };
}

function median(values: readonly number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * medianOfRounds merges the rounds of one workload on one system: the median of each figure
 * separately (as issue 7's reference figures are), errors summed.
 */
export function medianOfRounds(rounds: readonly RowResult[]): RowResult {
  const first = rounds[0]!;
  if (rounds.length === 1) return first;
  const m = (pick: (r: RowResult) => number): number => median(rounds.map(pick));
  return {
    ...first,
    ops: m((r) => r.ops),
    opsPerSecond: m((r) => r.opsPerSecond),
    p50Ms: m((r) => r.p50Ms),
    p99Ms: m((r) => r.p99Ms),
    p90Ms: m((r) => r.p90Ms),
    p999Ms: m((r) => r.p999Ms),
    errors: rounds.reduce((a, r) => a + r.errors, 0),
    firstError: rounds.find((r) => r.firstError !== undefined)?.firstError,
    pendingAtEnd: rounds.reduce((a, r) => a + r.pendingAtEnd, 0),
    leader: [...new Set(rounds.map((r) => r.leader))].join('/'),
    cpu: {
      leaderUsPerOp: m((r) => r.cpu.leaderUsPerOp),
      followersUsPerOp: first.cpu.followersUsPerOp.map((_, i) => m((r) => r.cpu.followersUsPerOp[i] ?? Number.NaN)),
      membersUsPerOp: m((r) => r.cpu.membersUsPerOp),
      clientUsPerOp: m((r) => r.cpu.clientUsPerOp),
      membersPercent: m((r) => r.cpu.membersPercent),
      clientPercent: m((r) => r.cpu.clientPercent),
      otherPercent: m((r) => r.cpu.otherPercent),
      clientLoopDelayP99Ms: m((r) => r.cpu.clientLoopDelayP99Ms),
      clientLoopDelayMaxMs: m((r) => r.cpu.clientLoopDelayMaxMs),
      clientGcMs: m((r) => r.cpu.clientGcMs),
      clientGcMaxMs: m((r) => r.cpu.clientGcMaxMs),
    },
    rounds: rounds.length,
    batching: {
      opsPerLeaderFsync: m((r) => r.batching.opsPerLeaderFsync),
      entriesPerLeaderFsync: m((r) => r.batching.entriesPerLeaderFsync),
      opsPerProposalBatch: m((r) => r.batching.opsPerProposalBatch),
      readsPerReadRound: m((r) => r.batching.readsPerReadRound),
      opsPerBackendCommit: m((r) => r.batching.opsPerBackendCommit),
      leaderPeerWritesPerOp: m((r) => r.batching.leaderPeerWritesPerOp),
      serverP50Ms: m((r) => r.batching.serverP50Ms),
      serverP99Ms: m((r) => r.batching.serverP99Ms),
      snapshots: m((r) => r.batching.snapshots),
      leaderFsyncP99Ms: m((r) => r.batching.leaderFsyncP99Ms),
      leaderFsyncOver2ms: m((r) => r.batching.leaderFsyncOver2ms),
      followersFsyncP99Ms: m((r) => r.batching.followersFsyncP99Ms),
      followersFsyncOver2ms: m((r) => r.batching.followersFsyncOver2ms),
    },
  };
}

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const fmtMs = (n: number): string => fmt(n, n < 10 ? 2 : 1);
const fmtOps = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');

/** describeRow is the one-line progress report of a run. */
export function describeRow(r: RowResult): string {
  const c = r.cpu;
  return `  ${r.system.padEnd(7)} ${r.label.padEnd(40)} ${fmtOps(r.opsPerSecond).padStart(7)} ops/s  p50 ${fmtMs(r.p50Ms).padStart(6)} ms  ` +
    `p99 ${fmtMs(r.p99Ms).padStart(6)} ms  errors ${r.errors}  | CPU µs/op: leader ${fmt(c.leaderUsPerOp)}, followers ` +
    `${c.followersUsPerOp.map((x) => fmt(x)).join('+')}, client ${fmt(c.clientUsPerOp)} (loop delay p99 ${fmtMs(c.clientLoopDelayP99Ms)} ms, GC ${fmt(c.clientGcMs)} ms), other load ${fmt(c.otherPercent)} % | ${r.note}` +
    (r.firstError !== undefined ? ` | first error: ${r.firstError}` : '') +
    (r.pendingAtEnd > 0 ? ` | ${r.pendingAtEnd} calls unanswered at the end` : '');
}

/**
 * formatTable is the side-by-side table (Markdown): one row per workload, the figures of each
 * system, and Concord/etcd for ops/s when both ran.
 */
export function formatTable(specs: readonly WorkloadSpec[], rows: readonly RowResult[], systems: readonly string[]): string {
  const both = systems.length === 2;
  const cols = 1 + systems.length * 3 + (both ? 1 : 0);
  const lines = [
    `| workload | ${systems.map((s) => `${s} ops/s | ${s} p50 ms | ${s} p99 ms`).join(' | ')}${both ? ` | ratio ${systems[0]}/${systems[1]} (ops/s)` : ''} |`,
    `|${['---', ...Array.from({ length: cols - 1 }, () => '--:')].join('|')}|`,
  ];
  for (const spec of specs) {
    const cells = [spec.label];
    const bySystem = systems.map((s) => rows.find((r) => r.workload === spec.id && r.system === s));
    for (const r of bySystem) {
      if (r === undefined) cells.push('–', '–', '–');
      else cells.push(`${fmtOps(r.opsPerSecond)}${r.errors > 0 ? ` (${r.errors} err)` : ''}`, fmtMs(r.p50Ms), fmtMs(r.p99Ms));
    }
    if (both) {
      const [a, b] = bySystem;
      cells.push(a !== undefined && b !== undefined && b.opsPerSecond > 0 ? fmt(a.opsPerSecond / b.opsPerSecond, 2) : '–');
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** formatCpuTable is the CPU account (Markdown): µs of CPU per op on each member and in the load generator. */
export function formatCpuTable(specs: readonly WorkloadSpec[], rows: readonly RowResult[], systems: readonly string[]): string {
  const lines = [
    '| workload | system | leader µs/op | followers µs/op | all members µs/op | load generator µs/op | members CPU % | load generator CPU % | other processes CPU % | load generator loop delay p99 / max ms | load generator GC ms (longest) |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const spec of specs) {
    for (const system of systems) {
      const r = rows.find((x) => x.workload === spec.id && x.system === system);
      if (r === undefined) continue;
      const c = r.cpu;
      lines.push(`| ${spec.label} | ${system} | ${fmt(c.leaderUsPerOp)} | ${c.followersUsPerOp.map((x) => fmt(x)).join(' + ')} | ` +
        `${fmt(c.membersUsPerOp)} | ${fmt(c.clientUsPerOp)} | ${fmt(c.membersPercent)} | ${fmt(c.clientPercent)} | ${fmt(c.otherPercent)} | ` +
        `${fmtMs(c.clientLoopDelayP99Ms)} / ${fmtMs(c.clientLoopDelayMaxMs)} | ${fmt(c.clientGcMs)} (${fmtMs(c.clientGcMaxMs)}) |`);
    }
  }
  return lines.join('\n');
}

/** formatBatchingTable shows how many operations share a leader fsync, a proposal batch, a ReadIndex round. */
export function formatBatchingTable(specs: readonly WorkloadSpec[], rows: readonly RowResult[], systems: readonly string[]): string {
  const lines = [
    '| workload | system | ops per leader WAL fsync | entries per leader WAL fsync | ops per proposal batch | reads per ReadIndex round | ops per backend commit | leader peer socket writes per op | server p50 / p99 ms | snapshots (all members) | WAL fdatasync p99 ms (> 2 ms), leader / followers |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  const f = (n: number): string => fmt(n, n < 10 ? 2 : 1);
  const fsync = (p99Ms: number, over2ms: number): string => (Number.isNaN(p99Ms) ? '–' : `${fmt(p99Ms, 2)} (${fmt(100 * over2ms, 1)} %)`);
  for (const spec of specs) {
    for (const system of systems) {
      const r = rows.find((x) => x.workload === spec.id && x.system === system);
      if (r === undefined) continue;
      const b = r.batching;
      const reads = spec.family === 'get' || spec.family === 'sget';
      lines.push(`| ${spec.label} | ${system} | ${reads ? '–' : f(b.opsPerLeaderFsync)} | ${reads ? '–' : f(b.entriesPerLeaderFsync)} | ` +
        `${reads ? '–' : f(b.opsPerProposalBatch)} | ${reads ? f(b.readsPerReadRound) : '–'} | ${reads ? '–' : f(b.opsPerBackendCommit)} | ${Number.isNaN(b.leaderPeerWritesPerOp) ? '–' : f(b.leaderPeerWritesPerOp)} | ` +
        `${Number.isNaN(b.serverP50Ms) ? '–' : `${fmt(b.serverP50Ms, 2)} / ${fmt(b.serverP99Ms, 2)}`} | ${fmt(b.snapshots, Number.isInteger(b.snapshots) ? 0 : 1)} | ` +
        `${reads ? '–' : `${fsync(b.leaderFsyncP99Ms, b.leaderFsyncOver2ms)} / ${fsync(b.followersFsyncP99Ms, b.followersFsyncOver2ms)}`} |`);
    }
  }
  return lines.join('\n');
}
