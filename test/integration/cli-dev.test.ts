import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

/**
 * `concord dev` as a real process tree: it starts three members whose output comes back
 * prefixed, serves on the planned ports, stops every member on SIGINT and exits 0, reuses its
 * data on a second run, refuses a second run on the same data, and its members stop themselves
 * when it is SIGKILLed. Every process is killed in `after` whatever happens.
 */

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const mainJs = path.join(root, 'dist/src/cli/main.js');
const STEP_TIMEOUT_MS = 30_000;
const tempDirs: string[] = [];
const spawnedPids = new Set<number>();

after(() => {
  for (const pid of spawnedPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('CONCORD_')) env[key] = value;
  return env;
}

async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** freeBasePort finds a base port whose six dev ports (+0, +1, +20000, +20001, +30000, +30001) are free. */
async function freeBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 10_000 + Math.floor(Math.random() * 25_000);
    const ports = [0, 1, 20_000, 20_001, 30_000, 30_001].map((offset) => base + offset);
    let free = true;
    for (const port of ports) free &&= await isPortFree(port);
    if (free) return base;
  }
  throw new Error('no free base port found');
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = STEP_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** DevRun is one `concord dev` process with its captured output. */
class DevRun {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [mainJs, 'dev', ...args], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    if (this.child.pid !== undefined) spawnedPids.add(this.child.pid);
    this.child.stdout!.setEncoding('utf8').on('data', (text: string) => { this.stdout += text; });
    this.child.stderr!.setEncoding('utf8').on('data', (text: string) => { this.stderr += text; });
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal })));
  }

  /** memberPids are the members' pids from the start-up table (`  m1  client ...  pid 123`). */
  memberPids(): number[] {
    const pids = [...this.stdout.matchAll(/^ {2}m\d +client .* pid (\d+)$/gm)].map((match) => Number(match[1]));
    for (const pid of pids) spawnedPids.add(pid);
    return pids;
  }

  output(): string {
    return `--- stdout\n${this.stdout}\n--- stderr\n${this.stderr}`;
  }
}

/** startDev runs `concord dev`, waits for the endpoints line, the members' output and their client ports. */
async function startDev(basePort: number, dataDir: string): Promise<{ run: DevRun; pids: number[] }> {
  const run = new DevRun(['--base-port', String(basePort), '--data-dir', dataDir]);
  const endpoints = `endpoints: http://127.0.0.1:${basePort},http://127.0.0.1:${basePort + 20_000},http://127.0.0.1:${basePort + 30_000}\n`;
  await waitUntil('the endpoints line', () => run.stdout.includes(endpoints));
  const pids = run.memberPids();
  assert.equal(pids.length, 3, run.output());
  for (const name of ['m1', 'm2', 'm3']) {
    await waitUntil(`[${name}] output`, () => run.stderr.includes(`\n[${name}] `) || run.stderr.startsWith(`[${name}] `));
  }
  for (const port of [basePort, basePort + 20_000, basePort + 30_000]) {
    await waitUntil(`a member serving on port ${port}`, () => canConnect(port));
  }
  return { run, pids };
}

/**
 * stopDev sends SIGINT (twice at once with `twice`, as a terminal's Ctrl-C under `npm start`
 * arrives) and asserts a clean exit with every member gone.
 */
async function stopDev(run: DevRun, pids: readonly number[], twice = false): Promise<void> {
  run.child.kill('SIGINT');
  if (twice) run.child.kill('SIGINT');
  const { code, signal } = await run.exited;
  assert.equal(signal, null, run.output());
  assert.equal(code, 0, run.output());
  for (const pid of pids) assert.equal(isAlive(pid), false, `member pid ${pid} still running`);
  assert.match(run.stdout, /concord dev: SIGINT: stopping the members\n/);
  assert.match(run.stdout, /concord dev: all members stopped\n$/);
  for (const name of ['m1', 'm2', 'm3']) assert.match(run.stderr, new RegExp(`^\\[${name}\\] .* stopping member reason=SIGTERM$`, 'm'));
}

describe('concord dev', { timeout: 180_000 }, () => {
  test('starts three prefixed members, stops them on SIGINT with exit 0, and reuses the data (double Ctrl-C too)', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'concord-cli-dev-'));
    tempDirs.push(dataDir);
    const basePort = await freeBasePort();

    const first = await startDev(basePort, dataDir);
    await stopDev(first.run, first.pids);
    for (const name of ['m1', 'm2', 'm3']) assert.ok(existsSync(path.join(dataDir, name)), `${name} has a data dir`);
    assert.ok(!existsSync(path.join(dataDir, 'dev.lock')), 'the lock is released');

    const second = await startDev(basePort, dataDir);
    await stopDev(second.run, second.pids, true);
  });

  test('refuses a data dir in use; members stop themselves when concord dev is SIGKILLed', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'concord-cli-dev-'));
    tempDirs.push(dataDir);
    const { run, pids } = await startDev(await freeBasePort(), dataDir);

    const intruder = new DevRun(['--base-port', String(await freeBasePort()), '--data-dir', dataDir]);
    const refused = await intruder.exited;
    assert.equal(refused.code, 1, intruder.output());
    assert.equal(intruder.stderr, `concord: ${dataDir} is in use by another "concord dev" (pid ${run.child.pid}); stop it or use --data-dir\n`);

    run.child.kill('SIGKILL');
    await run.exited;
    await waitUntil('members to stop after their parent died', () => pids.every((pid) => !isAlive(pid)));
  });
});
