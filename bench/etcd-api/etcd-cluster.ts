import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from '../../test/integration/cluster.js';

/**
 * A real etcd cluster for the side-by-side benchmark: `size` `etcd` processes on 127.0.0.1, each
 * with its own ports and `--data-dir` in a fresh temp dir, fsync on (etcd's default), the same
 * heartbeat and election timeout as the Concord members. `destroy` kills them and removes the data.
 */

/** ETCD_BINARY is where Debian's `etcd-server` package installs etcd. */
export const ETCD_BINARY = '/usr/bin/etcd';
/** ETCD_INSTALL_HINT says how to get it. */
export const ETCD_INSTALL_HINT = 'apt-get install -y etcd-server';

/** EtcdMember is one etcd process of the cluster. */
export interface EtcdMember {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  child: ChildProcess | undefined;
}

export class EtcdCluster {
  readonly output = new Map<string, string[]>();

  private constructor(readonly dir: string, readonly members: readonly EtcdMember[],
    private readonly heartbeatMs: number, private readonly electionMs: number) {}

  /** create prepares (does not start) `size` members with the given Raft timing. */
  static async create(size: number, timing: { heartbeatMs: number; electionMs: number }): Promise<EtcdCluster> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concord-bench-etcd-'));
    const ports = await freePorts(size * 2);
    const members = Array.from({ length: size }, (_, i): EtcdMember => ({
      name: `e${i + 1}`,
      clientPort: ports[2 * i]!,
      peerPort: ports[2 * i + 1]!,
      dataDir: path.join(dir, `e${i + 1}`),
      child: undefined,
    }));
    return new EtcdCluster(dir, members, timing.heartbeatMs, timing.electionMs);
  }

  /** startAll launches every member. */
  startAll(): void {
    const initialCluster = this.members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');
    for (const m of this.members) {
      const child = spawn(ETCD_BINARY, [
        `--name=${m.name}`,
        `--data-dir=${m.dataDir}`,
        `--listen-client-urls=http://127.0.0.1:${m.clientPort}`,
        `--advertise-client-urls=http://127.0.0.1:${m.clientPort}`,
        `--listen-peer-urls=http://127.0.0.1:${m.peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${m.peerPort}`,
        `--initial-cluster=${initialCluster}`,
        '--initial-cluster-state=new',
        '--initial-cluster-token=concord-bench-etcd',
        `--heartbeat-interval=${this.heartbeatMs}`,
        `--election-timeout=${this.electionMs}`,
        '--logger=zap',
        '--log-outputs=stderr',
        '--log-level=warn',
      ], { stdio: ['ignore', 'pipe', 'pipe'] });
      const lines: string[] = [];
      this.output.set(m.name, lines);
      const collect = (chunk: Buffer): void => {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(line);
        if (lines.length > 2_000) lines.splice(0, lines.length - 2_000);
      };
      child.stdout!.on('data', collect);
      child.stderr!.on('data', collect);
      m.child = child;
    }
  }

  /** pids are the running members' process ids (for the exit handler). */
  pids(): number[] {
    return this.members.map((m) => m.child?.pid).filter((p): p is number => p !== undefined);
  }

  /** destroy SIGKILLs every member, waits for them to exit and removes the data. */
  async destroy(): Promise<void> {
    await Promise.all(this.members.map(async (m) => {
      const child = m.child;
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
