import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { memberProcessEnv } from '../../src/cli/member-process-env.js';

/**
 * A real Concord cluster for integration tests: N `concord start` processes on 127.0.0.1 with
 * real TCP, real disks (a temp dir) and real fsync. Members are killed with SIGKILL, restarted
 * on the same data, and inspected through the internal client API.
 */

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const mainJs = path.join(root, 'dist/src/cli/main.js');

export interface MemberSpec {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
}

export interface MemberStatus {
  readonly name: string;
  readonly id: number;
  readonly role: string;
  readonly leader: number;
  readonly term: number;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly snapshotsApplied: number;
}

/** freePorts returns `count` distinct ports that were free a moment ago. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ports.push((server.address() as net.AddressInfo).port);
    servers.push(server);
  }
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

export class TestCluster {
  readonly members: MemberSpec[];
  private readonly processes = new Map<string, ChildProcess>();
  readonly output = new Map<string, string[]>();
  readonly dir: string;

  private constructor(dir: string, members: MemberSpec[], private readonly extraFlags: readonly string[], private readonly token: string) {
    this.dir = dir;
    this.members = members;
  }

  /** create prepares (but does not start) a cluster of `size` members in a fresh temp dir. */
  static async create(size: number, options: { extraFlags?: string[]; token?: string } = {}): Promise<TestCluster> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concord-it-'));
    const ports = await freePorts(size * 2);
    const members = Array.from({ length: size }, (_, i) => ({
      name: `m${i + 1}`,
      clientPort: ports[2 * i]!,
      peerPort: ports[2 * i + 1]!,
      dataDir: path.join(dir, `m${i + 1}`),
    }));
    return new TestCluster(dir, members, options.extraFlags ?? [], options.token ?? 'it-cluster');
  }

  member(name: string): MemberSpec {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  initialCluster(): string {
    return this.members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');
  }

  /** flagsFor returns the `concord start` flags of a member. */
  flagsFor(m: MemberSpec, overrides: { token?: string } = {}): string[] {
    return [
      'start',
      `--name=${m.name}`,
      `--data-dir=${m.dataDir}`,
      `--listen-client-urls=http://127.0.0.1:${m.clientPort}`,
      `--advertise-client-urls=http://127.0.0.1:${m.clientPort}`,
      `--listen-peer-urls=http://127.0.0.1:${m.peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${m.peerPort}`,
      `--initial-cluster=${this.initialCluster()}`,
      '--initial-cluster-state=new',
      `--initial-cluster-token=${overrides.token ?? this.token}`,
      ...this.extraFlags,
    ];
  }

  /** start launches a member process (it keeps its data dir across restarts). */
  start(name: string, overrides: { token?: string } = {}): ChildProcess {
    const m = this.member(name);
    const child = spawn(process.execPath, [mainJs, ...this.flagsFor(m, overrides)], { stdio: ['ignore', 'pipe', 'pipe'], env: memberProcessEnv(process.env) });
    const lines = this.output.get(name) ?? [];
    this.output.set(name, lines);
    const collect = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(line);
      if (lines.length > 20_000) lines.splice(0, lines.length - 20_000);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    this.processes.set(name, child);
    return child;
  }

  startAll(): void {
    for (const m of this.members) this.start(m.name);
  }

  /** kill sends SIGKILL (kill -9) and waits for the process to exit. */
  async kill(name: string): Promise<void> {
    const child = this.processes.get(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.processes.delete(name);
  }

  /** waitExit resolves with the exit code of a member that is expected to stop by itself. */
  async waitExit(name: string, timeoutMs: number): Promise<number | null> {
    const child = this.processes.get(name);
    if (!child) throw new Error(`${name} not running`);
    if (child.exitCode !== null) return child.exitCode;
    return await Promise.race([
      new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))),
      sleep(timeoutMs).then(() => { throw new Error(`${name} did not exit within ${timeoutMs} ms`); }),
    ]);
  }

  isRunning(name: string): boolean {
    const child = this.processes.get(name);
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** destroy kills every member and removes the data. */
  async destroy(): Promise<void> {
    await Promise.all([...this.processes.keys()].map((n) => this.kill(n)));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  url(name: string, pathname: string): string {
    return `http://127.0.0.1:${this.member(name).clientPort}${pathname}`;
  }

  async status(name: string): Promise<MemberStatus> {
    const res = await fetch(this.url(name, '/concord/v0/status'), { signal: AbortSignal.timeout(2000) });
    return (await res.json()) as MemberStatus;
  }

  async put(name: string, key: string, value: string): Promise<{ ok: boolean; status: number; body: Record<string, unknown> }> {
    const res = await fetch(this.url(name, `/concord/v0/kv/${encodeURIComponent(key)}`), {
      method: 'PUT', body: value, signal: AbortSignal.timeout(10_000),
    });
    return { ok: res.ok, status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async get(name: string, key: string, consistency: 'linearizable' | 'serializable' = 'linearizable'): Promise<string | undefined> {
    const res = await fetch(this.url(name, `/concord/v0/kv/${encodeURIComponent(key)}?consistency=${consistency}`), {
      signal: AbortSignal.timeout(10_000),
    });
    if (res.status === 404) return undefined;
    const body = (await res.json()) as { value?: string; error?: string };
    if (!res.ok || body.value === undefined) throw new Error(`get ${key} from ${name}: ${res.status} ${body.error ?? ''}`);
    return Buffer.from(body.value, 'base64').toString();
  }

  /** waitForLeader polls running members until they agree on one leader; returns its name. */
  async waitForLeader(timeoutMs: number, among: readonly string[] = this.members.map((m) => m.name)): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const statuses = await Promise.all(among.filter((n) => this.isRunning(n)).map((n) => this.status(n).catch(() => undefined)));
      const leaders = statuses.filter((s): s is MemberStatus => s !== undefined && s.role === 'leader');
      if (leaders.length === 1) {
        const leader = leaders[0]!;
        const agree = statuses.every((s) => s !== undefined && s.leader === leader.id);
        if (agree) return leader.name;
      }
      await sleep(50);
    }
    throw new Error(`no agreed leader within ${timeoutMs} ms`);
  }

  /** waitFor polls `check` until it returns true. */
  async waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await check().catch(() => false)) return;
      await sleep(50);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
