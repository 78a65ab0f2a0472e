import { spawn, type ChildProcess } from 'node:child_process';
import { memberProcessEnv } from '../../src/cli/member-process-env.js';
import crypto from 'node:crypto';
import path from 'node:path';
import { fillDisk, freeDisk, mountDataDir, probeTmpfs } from './cluster-disk.js';
import type { ClusterNetwork, MemberAddressing, NetworkMode } from './cluster-network.js';
import { createRunDir, recordPid, registerCleanup, removeRunDir, removeRunDirSync } from './cluster-teardown.js';
import { NetnsNetwork, probeNetns } from './netns.js';
import { ProxyNetwork } from './proxy.js';

/**
 * VerifyCluster: a real Concord cluster of 3 or 5 `concord start` processes for the
 * verification harness, on a network it can cut (netns or proxy mode, cluster-network.ts) and,
 * where root can mount tmpfs, on small disks it can fill (cluster-disk.ts). It knows what state
 * it put each member in (running, paused, killed) so `healAll` can undo every fault, and it
 * records every exit it did not cause: a member that dies by itself is a finding.
 *
 * Everything it creates lives in one run dir and (netns mode) objects named after the pid, and
 * `destroy` removes it all; `create` registers that teardown for SIGINT/SIGTERM and exit.
 */

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const mainJs = path.join(root, 'dist/src/cli/main.js');

/** MemberState is what the harness last did to a member. */
export type MemberState = 'running' | 'paused' | 'killed' | 'exited';

/** MemberStatus is the subset of `GET /concord/v0/status` the harness reads. */
export interface MemberStatus {
  readonly name: string;
  readonly id: number;
  readonly role: string;
  readonly leader: number;
  readonly term: number;
  readonly commit: number;
  readonly applied: number;
}

/** MemberExit is an exit the harness did not cause. */
export interface MemberExit {
  readonly time: number;
  readonly member: string;
  readonly code: number | null;
  readonly signal: string | null;
  /** diskFull: the member's disk was full (by the nemesis) when it exited: stopping is its documented answer. */
  readonly diskFull: boolean;
  /** lastLines: the member's last output lines. */
  readonly lastLines: readonly string[];
}

/** VerifyClusterOptions configures `VerifyCluster.create`. */
export interface VerifyClusterOptions {
  readonly size: number;
  /** network: 'auto' uses netns when probeNetns succeeds, else proxy. */
  readonly network?: NetworkMode | 'auto';
  /** tmpfs: 'auto' mounts tmpfs data dirs when possible. */
  readonly tmpfs?: boolean | 'auto';
  readonly heartbeatMs?: number;
  readonly electionMs?: number;
  /** snapshotCount: applied entries between snapshots (small, so snapshots and their installs happen under faults). */
  readonly snapshotCount?: number;
  /** now: the time base of recorded exits (ms). */
  readonly now?: () => number;
  readonly log?: (line: string) => void;
}

const OUTPUT_LINES_MAX = 2_000;

/**
 * SNAPSHOT_COUNT_DEFAULT: members snapshot every 1000 applied entries, so snapshots (and their
 * installation on members that fell behind) happen during a run, and a full disk bites within a
 * few seconds (the WAL's segments are preallocated; a snapshot needs new space).
 */
export const SNAPSHOT_COUNT_DEFAULT = 1_000;

interface Member {
  readonly addressing: MemberAddressing;
  readonly dataDir: string;
  child: ChildProcess | undefined;
  state: MemberState;
  diskFull: boolean;
  /** diskFreedAt: when the ballast was last deleted (Date.now ms), for exits caused by the full disk but seen a little later. */
  diskFreedAt: number;
  readonly output: string[];
}

/** DISK_EXIT_GRACE_MS: an exit this soon after the disk was freed still counts as caused by the full disk. */
const DISK_EXIT_GRACE_MS = 5_000;

/** VerifyCluster; see the file comment. */
export class VerifyCluster {
  readonly exits: MemberExit[] = [];
  private readonly members: Member[];
  private destroyed = false;
  private unregister: () => void = () => {};
  private readonly token = `verify-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;

  private constructor(
    readonly network: ClusterNetwork,
    readonly runDir: string,
    /** tmpfs: data dirs are tmpfs mounts (the disk-full fault is available). */
    readonly tmpfs: boolean,
    /** tmpfsUnavailable: why not, when tmpfs is false. */
    readonly tmpfsUnavailable: string | undefined,
    private readonly options: VerifyClusterOptions,
  ) {
    this.members = Array.from({ length: network.size }, (_, k) => ({
      addressing: network.addressing(k + 1),
      dataDir: path.join(runDir, `m${k + 1}`),
      child: undefined,
      state: 'killed' as MemberState,
      diskFull: false,
      diskFreedAt: -Infinity,
      output: [],
    }));
  }

  /** create builds the network and data dirs (members not started yet); see VerifyClusterOptions. */
  static async create(options: VerifyClusterOptions): Promise<VerifyCluster> {
    if (!Number.isInteger(options.size) || options.size < 2 || options.size > 9) throw new Error(`cluster size must be 2..9, got ${options.size}`);
    const log = options.log ?? (() => {});
    let mode = options.network ?? 'auto';
    if (mode !== 'proxy') {
      const why = await probeNetns();
      if (why !== undefined) {
        if (mode === 'netns') throw new Error(`--network netns: not available here: ${why}`);
        log(`network: netns not available (${why}); using proxy mode`);
        mode = 'proxy';
      } else {
        mode = 'netns';
      }
    }
    const runDir = createRunDir();
    let network: ClusterNetwork | undefined;
    try {
      network = mode === 'netns' ? await NetnsNetwork.create(options.size) : await ProxyNetwork.create(options.size);
      let tmpfsUnavailable: string | undefined;
      if (options.tmpfs === false) tmpfsUnavailable = 'disabled';
      else tmpfsUnavailable = await probeTmpfs(runDir);
      if (options.tmpfs === true && tmpfsUnavailable !== undefined) throw new Error(`tmpfs data dirs not available: ${tmpfsUnavailable}`);
      const cluster = new VerifyCluster(network, runDir, tmpfsUnavailable === undefined, tmpfsUnavailable, options);
      cluster.unregister = registerCleanup(() => cluster.destroy(), () => cluster.destroySync());
      if (cluster.tmpfs) for (const m of cluster.members) await mountDataDir(m.dataDir);
      log(`${network.describe()}; data dirs ${cluster.tmpfs ? 'on tmpfs' : `plain (no disk-full: ${tmpfsUnavailable})`} under ${runDir}`);
      return cluster;
    } catch (error) {
      await network?.close().catch(() => undefined);
      await removeRunDir(runDir).catch(() => undefined);
      throw error;
    }
  }

  get size(): number {
    return this.members.length;
  }

  get mode(): NetworkMode {
    return this.network.mode;
  }

  /** names are the members' names, m1..mN. */
  get names(): string[] {
    return this.members.map((m) => m.addressing.name);
  }

  /** endpoints are the members' client URLs. */
  get endpoints(): string[] {
    return this.members.map((m) => m.addressing.clientUrl);
  }

  private member(index: number): Member {
    const m = this.members[index - 1];
    if (!m) throw new Error(`no member ${index} (1..${this.size})`);
    return m;
  }

  state(index: number): MemberState {
    return this.member(index).state;
  }

  pid(index: number): number | undefined {
    return this.member(index).child?.pid;
  }

  dataDir(index: number): string {
    return this.member(index).dataDir;
  }

  clientUrl(index: number): string {
    return this.member(index).addressing.clientUrl;
  }

  output(index: number): readonly string[] {
    return this.member(index).output;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** start launches member `index` (first start or restart: same flags, same data dir). */
  start(index: number): void {
    const m = this.member(index);
    if (this.destroyed) throw new Error('cluster destroyed');
    if (m.state === 'running' || m.state === 'paused') throw new Error(`m${index} is already ${m.state}`);
    const flags = [
      'start',
      `--name=${m.addressing.name}`,
      `--data-dir=${m.dataDir}`,
      ...m.addressing.flags,
      '--initial-cluster-state=new',
      `--initial-cluster-token=${this.token}`,
      `--heartbeat-interval=${this.options.heartbeatMs ?? 50}`,
      `--election-timeout=${this.options.electionMs ?? 500}`,
      `--snapshot-count=${this.options.snapshotCount ?? SNAPSHOT_COUNT_DEFAULT}`,
    ];
    const command = this.network.command(index, process.execPath, [mainJs, ...flags]);
    const child = spawn(command.program, command.args, { stdio: ['ignore', 'pipe', 'pipe'], env: memberProcessEnv(process.env) });
    m.child = child;
    m.state = 'running';
    if (child.pid !== undefined) recordPid(this.runDir, child.pid, m.addressing.name);
    const collect = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n')) if (line) m.output.push(line);
      if (m.output.length > OUTPUT_LINES_MAX) m.output.splice(0, m.output.length - OUTPUT_LINES_MAX);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    child.on('error', (error) => m.output.push(`spawn error: ${error.message}`));
    child.once('exit', (code, signal) => {
      if (m.child !== child) return;
      m.child = undefined;
      if (m.state === 'killed' || this.destroyed) return;
      m.state = 'exited';
      const diskFull = m.diskFull || Date.now() - m.diskFreedAt < DISK_EXIT_GRACE_MS;
      const exit: MemberExit = { time: this.now(), member: m.addressing.name, code, signal, diskFull, lastLines: m.output.slice(-20) };
      this.exits.push(exit);
      this.options.log?.(`member ${exit.member} exited by itself (code ${code}, signal ${signal})${diskFull ? ' with a full disk' : ''}`);
    });
  }

  startAll(): void {
    for (let i = 1; i <= this.size; i++) this.start(i);
  }

  /** kill sends SIGKILL and waits for the process to be gone. */
  async kill(index: number): Promise<void> {
    const m = this.member(index);
    const child = m.child;
    m.state = 'killed';
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** pause stops the process (SIGSTOP): it holds its sockets but answers nothing. */
  pause(index: number): void {
    const m = this.member(index);
    if (m.state !== 'running' || !m.child) return;
    m.child.kill('SIGSTOP');
    m.state = 'paused';
  }

  /** resume continues a paused process (SIGCONT). */
  resume(index: number): void {
    const m = this.member(index);
    if (m.state !== 'paused' || !m.child) return;
    m.child.kill('SIGCONT');
    m.state = 'running';
  }

  /** fillDisk fills member `index`'s data dir (tmpfs only); resolves with the bytes written. */
  async fillDisk(index: number): Promise<number> {
    if (!this.tmpfs) throw new Error(`disk-full needs tmpfs data dirs (${this.tmpfsUnavailable})`);
    const m = this.member(index);
    m.diskFull = true;
    return await fillDisk(m.dataDir);
  }

  /** freeDisk deletes member `index`'s ballast. */
  async freeDisk(index: number): Promise<void> {
    const m = this.member(index);
    if (!this.tmpfs) return;
    await freeDisk(m.dataDir);
    if (m.diskFull) m.diskFreedAt = Date.now();
    m.diskFull = false;
  }

  /** status asks member `index` for its status; rejects if it does not answer within `timeoutMs`. */
  async status(index: number, timeoutMs = 1_000): Promise<MemberStatus> {
    const res = await fetch(`${this.clientUrl(index)}/concord/v0/status`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`m${index} status: HTTP ${res.status}`);
    return (await res.json()) as MemberStatus;
  }

  /** leader returns the index of the member that says it leads in the highest term, or undefined. */
  async leader(timeoutMs = 1_000): Promise<number | undefined> {
    const statuses = await Promise.all(this.members.map((m, k) => (m.state === 'running' ? this.status(k + 1, timeoutMs).catch(() => undefined) : undefined)));
    let best: { index: number; term: number } | undefined;
    statuses.forEach((s, k) => {
      if (s?.role === 'leader' && (best === undefined || s.term > best.term)) best = { index: k + 1, term: s.term };
    });
    return best?.index;
  }

  /**
   * waitForLeader polls until every member in `among` (default: all) answers and they all name
   * the same leader, which says it leads; returns its index.
   */
  async waitForLeader(timeoutMs: number, among: readonly number[] = this.members.map((_, k) => k + 1)): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const statuses = await Promise.all(among.map((i) => this.status(i).catch((e: unknown) => (e as Error))));
      const answered = statuses.filter((s): s is MemberStatus => !(s instanceof Error));
      const leaders = answered.filter((s) => s.role === 'leader');
      if (answered.length === among.length && leaders.length === 1 && answered.every((s) => s.leader === leaders[0]!.id)) {
        return among[statuses.indexOf(leaders[0]!)]!;
      }
      last = statuses.map((s, k) => `m${among[k]}: ${s instanceof Error ? s.message : `${s.role} term ${s.term} leader ${s.leader}`}`).join('; ');
      await sleep(100);
    }
    throw new Error(`no leader agreed by ${among.map((i) => `m${i}`).join(',')} within ${timeoutMs} ms (${last})`);
  }

  /** block drops every message member `from` sends to member `to`. */
  block(from: number, to: number): Promise<void> {
    return this.network.block(from, to);
  }

  /** partition cuts every link between the two sides, both ways. */
  async partition(sideA: readonly number[], sideB: readonly number[]): Promise<void> {
    for (const a of sideA) for (const b of sideB) {
      await this.block(a, b);
      await this.block(b, a);
    }
  }

  /**
   * healAll undoes every fault: removes partitions, frees full disks, resumes paused members,
   * restarts killed and exited ones; then waits for a leader all members agree on.
   */
  async healAll(leaderTimeoutMs = 60_000): Promise<number> {
    await this.network.heal();
    for (let i = 1; i <= this.size; i++) {
      const m = this.member(i);
      await this.freeDisk(i);
      if (m.state === 'paused') this.resume(i);
      if (m.state === 'killed' || m.state === 'exited') this.start(i);
    }
    return await this.waitForLeader(leaderTimeoutMs);
  }

  /** destroy kills every member and removes the network, mounts and run dir. Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    this.unregister();
    const errors: string[] = [];
    await Promise.all(this.members.map(async (m) => {
      const child = m.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await Promise.race([exited, sleep(5_000)]);
    }));
    await this.network.close().catch((e: unknown) => errors.push((e as Error).message));
    await removeRunDir(this.runDir).catch((e: unknown) => errors.push((e as Error).message));
    if (errors.length > 0) throw new Error(`teardown: ${errors.join('; ')}`);
  }

  /** destroySync is destroy for a process 'exit' handler. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const m of this.members) {
      try { m.child?.kill('SIGKILL'); } catch { /* gone */ }
    }
    this.network.closeSync();
    removeRunDirSync(this.runDir);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
