import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { memberProcessEnv, relaunchWithMallocTunables } from '../src/cli/member-process-env.js';
import { TestCluster } from '../test/integration/cluster.js';
import { sleep } from './etcd-api/closed-loop.js';
import { ETCD_BINARY, ETCD_INSTALL_HINT, EtcdCluster } from './etcd-api/etcd-cluster.js';
import { describeRow, formatBatchingTable, formatCpuTable, formatTable, medianOfRounds, summarize, type RowResult } from './etcd-api/report.js';
import { closeTarget, connectTarget, findLeader, type BenchTarget, type MemberEndpoint } from './etcd-api/target.js';
import { defaultWorkloads, makeDataSet, preload, runWorkload, scalingWorkloads, selectWorkloads, type DataSet } from './etcd-api/workloads.js';
import { diffCounters, readBatchCounters } from './etcd-api/member-metrics.js';
import { measureFsyncFloor } from './fsync-floor.js';
import { describeMemory, loadAndMeasureMemory, type MemoryResult } from './etcd-api/memory.js';

/**
 * npm run bench: the etcd v3 API benchmark. Prints this disk's fsync latency, then runs issue 7's
 * workloads (put with 1/16/64/256 clients, linearizable get with 1/64, serializable get with 64,
 * txn compare-and-swap with 16 and 64, put→watch with 64 writers and 1 watcher (events/s and the
 * put-sent-to-event-arrived latency), put→watch fan-out at a fixed rate, locks, sequencers, a
 * lease keep-alive storm) against a 3-member Concord on loopback (real
 * processes, real TCP, real fsync), through the etcd gRPC API with one load generator
 * (bench/etcd-api/grpc-h2-client.ts). With --vs-etcd it also starts a 3-member etcd (/usr/bin/etcd)
 * and runs the same workloads against it in the same run, alternating which system goes first,
 * and prints one table with the ratio Concord/etcd. Figures only; nothing is asserted.
 *
 *   node dist/bench/cluster-bench.js [--vs-etcd] [--workloads put,get,sget,txn,watchput,watch|put-64,...]
 *     [--seconds 5] [--warmup 1] [--keys 10000] [--value-bytes 256] [--connections 2]
 *     [--watchers 16] [--watch-rate 500] [--rounds 1] [--json FILE] [--cpu-prof DIR] [--memory 100000]
 *     [--clients 1,16,64,256,1024]
 *
 * --clients N,M,… replaces the default rows with a put row and a linearizable get row at each of
 * those client counts (how cost grows with clients); with --keys 100000 or 1000000 the same rows
 * show how it grows with the key count. The preload writes 100 keys per transaction and prints
 * its progress every 10 s.
 *
 * --memory N (after the workloads) loads N more keys of --value-bytes into each system and prints
 * every member's resident size (issue 7: 100k keys of 256 B).
 *
 * --rounds N runs every workload N times (round after round) and reports the median of each figure.
 *
 * BENCH_SNAPSHOT_COUNT=N in the environment starts the Concord members with --snapshot-count=N (e.g.
 * a very large N to see a row without the snapshots a long run takes).
 *
 * --member-node-args="ARGS" starts the Concord members with these Node/V8 flags (e.g. "--trace-gc",
 * "--max-semi-space-size=32"); their stdout is shown.
 *
 * --cpu-prof DIR runs the Concord members under `node --cpu-prof` and stops them with SIGTERM at
 * the end so that each writes its profile to DIR (summarise with bench/cpu-profile-summary.js).
 *
 * --alloc-prof DIR runs the Concord members with bench/alloc-sampler.js preloaded (V8's sampling
 * heap profiler, freed objects included) and stops them with SIGTERM at the end so that each
 * writes where its allocation came from to DIR (summarise with bench/alloc-profile-summary.js,
 * --ops N for bytes per operation: the bench prints the operations it sent to Concord).
 *
 * The load generator runs with the members' glibc malloc tunables (src/cli/member-process-env.ts;
 * it relaunches itself with them), since it receives the same large answers the members send;
 * CONCORD_MALLOC_TUNABLES=off runs both it and the Concord members with glibc's defaults.
 */

const relaunched = relaunchWithMallocTunables({ watchParent: false });
if (relaunched !== undefined) process.exit(await relaunched);

const { values: options } = parseArgs({
  options: {
    'vs-etcd': { type: 'boolean', default: false },
    workloads: { type: 'string' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    keys: { type: 'string', default: '10000' },
    'value-bytes': { type: 'string', default: '256' },
    connections: { type: 'string', default: '2' },
    watchers: { type: 'string', default: '16' },
    'watch-rate': { type: 'string', default: '500' },
    json: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'alloc-prof': { type: 'string' },
    'member-node-args': { type: 'string' },
    rounds: { type: 'string', default: '1' },
    memory: { type: 'string' },
    clients: { type: 'string' },
    'heartbeat-interval': { type: 'string', default: '100' },
    'election-timeout': { type: 'string', default: '1000' },
  },
  strict: true,
});

const seconds = Number(options.seconds);
const rounds = Number(options.rounds);
const warmupSeconds = Number(options.warmup);
const keyCount = Number(options.keys);
const valueBytes = Number(options['value-bytes']);
const connectionsPerMember = Number(options.connections);
const watchers = Number(options.watchers);
const watchRatePerSecond = Number(options['watch-rate']);
const heartbeatMs = Number(options['heartbeat-interval']);
const electionMs = Number(options['election-timeout']);
const cpuProfDir = options['cpu-prof'] === undefined ? undefined : path.resolve(options['cpu-prof']);
const allocProfDir = options['alloc-prof'] === undefined ? undefined : path.resolve(options['alloc-prof']);
const memberNodeArgs = [
  ...(options['member-node-args']?.split(/\s+/).filter((a) => a !== '') ?? []),
  ...(allocProfDir === undefined ? [] : ['--import', path.resolve(path.dirname(new URL(import.meta.url).pathname), 'alloc-sampler.js')]),
];
/** profiledMembers: the members must stop with SIGTERM at the end to write their profiles. */
const profiledMembers = cpuProfDir !== undefined || allocProfDir !== undefined;

const CLUSTER_SIZE = 3;
/** CONCORD_MAIN is the built `concord` command (dist/src/cli/main.js, beside this file's dist/bench). */
const CONCORD_MAIN = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../src/cli/main.js');
const LEADER_TIMEOUT_MS = 30_000;

/** Everything started, for the exit handler: it runs even when main() throws or a signal arrives. */
const startedPids = new Set<number>();
const tempDirs = new Set<string>();
process.on('exit', () => {
  for (const pid of startedPids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping every cluster member this benchmark started`);
    process.exit(130);
  });
}

function machineDescription(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ` +
    `${os.type()} ${os.release()}, Node ${process.version}`;
}

function etcdVersion(): string {
  try {
    return execFileSync(ETCD_BINARY, ['--version'], { encoding: 'utf8' }).split('\n')[0]!.replace('etcd Version: ', 'etcd ');
  } catch {
    return 'etcd (version unknown)';
  }
}

async function connectWhenUp(system: string, endpoints: readonly MemberEndpoint[]): Promise<BenchTarget> {
  const deadline = Date.now() + LEADER_TIMEOUT_MS;
  for (;;) {
    try {
      return await connectTarget(system, endpoints, connectionsPerMember);
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${system}: cannot connect to its members`, { cause: error });
      await sleep(100);
    }
  }
}

async function startConcord(): Promise<{ cluster: TestCluster; children: ChildProcess[] }> {
  const cluster = await TestCluster.create(CLUSTER_SIZE, {
    extraFlags: [...(process.env['BENCH_SNAPSHOT_COUNT'] ? [`--snapshot-count=${process.env['BENCH_SNAPSHOT_COUNT']}`] : []), `--log-level=${process.env['BENCH_MEMBER_LOG_LEVEL'] ?? 'warn'}`, `--heartbeat-interval=${heartbeatMs}`, `--election-timeout=${electionMs}`],
    token: 'concord-bench',
  });
  tempDirs.add(cluster.dir);
  if (cpuProfDir !== undefined) fs.mkdirSync(cpuProfDir, { recursive: true });
  const children = cluster.members.map((m) => {
    // Node refuses --cpu-prof in NODE_OPTIONS, so a profiled member is spawned here with the
    // flags TestCluster would give it (and stopped by stopForProfiles, killed by the exit handler).
    const child = cpuProfDir === undefined && memberNodeArgs.length === 0
      ? cluster.start(m.name)
      : spawn(process.execPath, [
        ...(cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`]), ...memberNodeArgs, CONCORD_MAIN, ...cluster.flagsFor(m),
      ], {
        stdio: ['ignore', options['member-node-args'] !== undefined ? 'inherit' : 'ignore', 'inherit'],
        env: memberProcessEnv(allocProfDir === undefined ? process.env : { ...process.env, CONCORD_ALLOC_PROF_DIR: allocProfDir }),
      });
    if (child.pid !== undefined) startedPids.add(child.pid);
    return child;
  });
  return { cluster, children };
}

/** warningsSeen counts, per member, the output lines newMemberWarnings has already looked at. */
const warningsSeen = new Map<string, number>();

/**
 * newMemberWarnings returns the warning and error lines the Concord members logged since the last
 * call (at most 5 per member, then a count): a row's figures next to what the members saw (a
 * leadership transfer, a snapshot sent to a follower) explain a bad round.
 */
function newMemberWarnings(cluster: TestCluster): string[] {
  const out: string[] = [];
  for (const [name, lines] of cluster.output) {
    const from = Math.min(warningsSeen.get(name) ?? 0, lines.length);
    warningsSeen.set(name, lines.length);
    const fresh = lines.slice(from).filter((l) => /^\S+ (warn|error) +\[/.test(l));
    for (const l of fresh.slice(0, 5)) out.push(`${name}: ${l.length > 300 ? `${l.slice(0, 300)}…` : l}`);
    if (fresh.length > 5) out.push(`${name}: … ${fresh.length - 5} more warnings`);
  }
  return out;
}

/** stopForProfiles sends SIGTERM so that `--cpu-prof` members exit normally and write their profiles. */
async function stopForProfiles(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(children.map(async (child) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000)]);
  }));
}

async function main(): Promise<void> {
  const started = new Date();
  const fsyncDir = fs.mkdtempSync(path.join(os.tmpdir(), 'concord-bench-fsync-'));
  tempDirs.add(fsyncDir);
  const floor = measureFsyncFloor(fsyncDir);
  console.log(`fsync floor (4 KiB append + fdatasync, 200x): p50 ${floor.p50Ms.toFixed(2)} ms, p99 ${floor.p99Ms.toFixed(2)} ms`);

  const rowSet = options.clients === undefined
    ? defaultWorkloads(watchers, watchRatePerSecond)
    : scalingWorkloads(options.clients.split(',').map((s) => Number(s.trim())));
  const specs = selectWorkloads(rowSet, options.workloads);
  let withEtcd = options['vs-etcd'] === true;
  if (withEtcd && !fs.existsSync(ETCD_BINARY)) {
    console.log(`--vs-etcd: ${ETCD_BINARY} not found (install it with: ${ETCD_INSTALL_HINT}); running Concord alone`);
    withEtcd = false;
  } else if (!withEtcd) {
    console.log(`(add --vs-etcd to run etcd side by side; it needs ${ETCD_BINARY}: ${ETCD_INSTALL_HINT})`);
  }
  console.log(`machine: ${machineDescription()}`);
  console.log(`${CLUSTER_SIZE} members per system on 127.0.0.1, heartbeat ${heartbeatMs} ms, election timeout ${electionMs} ms, fsync on; ` +
    `${keyCount} keys, value ${valueBytes} B; ${warmupSeconds} s warm-up + ${seconds} s per run; ` +
    `load generator: etcd gRPC over its own HTTP/2 client (bench/etcd-api/h2-client-connection.ts), ${connectionsPerMember} connections per member`);
  console.log('writes (put, txn, the watch writer) go to the leader; reads go round-robin over all members, call by call');

  const concord = await startConcord();
  let etcd: EtcdCluster | undefined;
  const targets: BenchTarget[] = [];
  const rows: RowResult[] = [];
  try {
    if (withEtcd) {
      etcd = await EtcdCluster.create(CLUSTER_SIZE, { heartbeatMs, electionMs });
      tempDirs.add(etcd.dir);
      etcd.startAll();
      for (const pid of etcd.pids()) startedPids.add(pid);
      console.log(`etcd: ${etcdVersion()}`);
    }
    targets.push(await connectWhenUp('Concord', concord.cluster.members.map((m, i) => ({ name: m.name, clientPort: m.clientPort, pid: concord.children[i]!.pid }))));
    if (etcd !== undefined) {
      targets.push(await connectWhenUp('etcd', etcd.members.map((m) => ({ name: m.name, clientPort: m.clientPort, pid: m.child?.pid }))));
    }
    const data: DataSet = makeDataSet(keyCount, valueBytes);
    for (const target of targets) {
      const leaderIndex = await findLeader(target, LEADER_TIMEOUT_MS);
      const t0 = Date.now();
      await preload(target, leaderIndex, data, {
        onProgress: (written, total, ms) => console.log(`${target.system}: preload ${written} of ${total} keys after ${(ms / 1000).toFixed(0)} s`),
      });
      console.log(`${target.system}: leader ${target.members[leaderIndex]!.name}; preloaded ${keyCount} keys in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    const window = { warmupSeconds, seconds };
    const runs: RowResult[] = [];
    let turn = 0;
    for (let round = 1; round <= rounds; round++) {
      for (const spec of specs) {
        console.log(`${spec.label}${rounds > 1 ? ` (round ${round} of ${rounds})` : ''}:`);
        // Alternate which system goes first, so that neither always runs on a warmer (or fuller) machine.
        const order = turn++ % 2 === 0 ? targets : [...targets].reverse();
        for (const target of order) {
          const leaderIndex = await findLeader(target, LEADER_TIMEOUT_MS);
          const before = await Promise.all(target.members.map((m) => readBatchCounters(m.clientPort)));
          const measured = await runWorkload(spec, { target, leaderIndex, data, window, watchRatePerSecond });
          const after = await Promise.all(target.members.map((m) => readBatchCounters(m.clientPort)));
          const row = summarize(spec, target, leaderIndex, measured, { perMember: after.map((a, i) => diffCounters(before[i]!, a)) });
          runs.push(row);
          console.log(describeRow(row));
          if (target.system === 'Concord') for (const line of newMemberWarnings(concord.cluster)) console.log(`    ${line}`);
        }
      }
    }
    const memory: MemoryResult[] = [];
    if (options.memory !== undefined) {
      for (const target of targets) {
        const leaderIndex = await findLeader(target, LEADER_TIMEOUT_MS);
        const result = await loadAndMeasureMemory(target, leaderIndex, Number(options.memory), valueBytes);
        memory.push(result);
        console.log(describeMemory(result));
      }
    }
    const systems = targets.map((t) => t.system);
    for (const spec of specs) {
      for (const system of systems) rows.push(medianOfRounds(runs.filter((r) => r.workload === spec.id && r.system === system)));
    }
    if (rounds > 1) console.log(`\nmedians of ${rounds} rounds`);
    console.log('');
    console.log(`${started.toISOString()}, ${machineDescription()}${etcd !== undefined ? `, ${etcdVersion()}` : ''}`);
    console.log(formatTable(specs, rows, systems));
    console.log('');
    console.log('CPU per op (members: /proc/<pid>/stat over the measured window; load generator: process.cpuUsage):');
    console.log(formatCpuTable(specs, rows, systems));
    console.log('');
    console.log('Batching (members\' /metrics over the whole run, warm-up included; watch: per put; get rows: reads per ReadIndex round summed over members):');
    console.log(formatBatchingTable(specs, rows, systems));
    for (const result of memory) console.log(describeMemory(result));
    if (allocProfDir !== undefined) {
      const ops = runs.filter((r) => r.system === 'Concord').reduce((sum, r) => sum + r.ops, 0);
      console.log(`operations sent to Concord in the measured windows: ${ops} (the warm-ups, ${warmupSeconds} s per row, and the preload of ${keyCount} keys come on top)`);
    }
    if (options.json !== undefined) {
      fs.mkdirSync(path.dirname(path.resolve(options.json)), { recursive: true });
      fs.writeFileSync(options.json, JSON.stringify({
        date: started.toISOString(), machine: machineDescription(), etcd: etcd !== undefined ? etcdVersion() : undefined,
        argv: process.argv.slice(2), fsyncFloor: floor, medians: rows, runs, memory,
      }, null, 2));
      console.log(`results written to ${options.json}`);
    }
  } finally {
    for (const target of targets) closeTarget(target);
    if (profiledMembers) await stopForProfiles(concord.children);
    if (cpuProfDir !== undefined) {
      console.log(`Concord CPU profiles in ${cpuProfDir} (node dist/bench/cpu-profile-summary.js ${cpuProfDir})`);
    }
    if (allocProfDir !== undefined) {
      console.log(`Concord allocation profiles in ${allocProfDir} (node dist/bench/alloc-profile-summary.js ${allocProfDir} --ops N)`);
    }
    if (cpuProfDir !== undefined || memberNodeArgs.length > 0) {
      for (const child of concord.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await concord.cluster.destroy();
    await etcd?.destroy();
    for (const pid of startedPids) startedPids.delete(pid);
    fs.rmSync(fsyncDir, { recursive: true, force: true });
  }
}

try {
  await main();
  process.exit(0);
} catch (error) {
  console.error(error);
  process.exit(1);
}
