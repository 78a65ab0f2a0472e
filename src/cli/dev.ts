/**
 * `concord dev`: a local 3-member cluster (dev-plan.ts), each member a `concord start` child
 * process. Children get their own process group (so a terminal's Ctrl-C reaches only this parent,
 * which stops them in order) and an IPC channel (so they stop themselves if this parent dies).
 * Their output lines are copied with a `[name] ` prefix. SIGINT/SIGTERM: SIGTERM to every member,
 * wait up to DEV_STOP_TIMEOUT_MS, then SIGKILL; a second signal (SIGNAL_REPEAT_MS_MIN later) kills at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ConfigError, envVarName, isConfigError, parseFlagArgs } from '../server/config.js';
import {
  DEV_BASE_PORT_DEFAULT, DEV_DATA_DIR_DEFAULT, DEV_PORT_OFFSETS, parseBasePort, planDevCluster, type DevMember,
} from './dev-plan.js';
import { memberProcessEnv } from './member-process-env.js';
import { EXIT_CODES, SIGNAL_REPEAT_MS_MIN } from './start.js';
import { DEV_USAGE } from './usage.js';

/** DEV_STOP_TIMEOUT_MS is how long members get to stop after SIGTERM before SIGKILL. */
export const DEV_STOP_TIMEOUT_MS = 10_000;
/** DEV_LOCK_FILE, inside the dev data directory, holds the pid of the `concord dev` using it. */
export const DEV_LOCK_FILE = 'dev.lock';

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'];

interface RunningMember {
  readonly plan: DevMember;
  readonly child: ChildProcess;
  /** exited resolves with the exit code (null when killed by a signal) once output is drained. */
  exited: Promise<number | null>;
  running: boolean;
}

/** runDev runs `concord dev` with the arguments after `dev`; resolves to the exit code. */
export async function runDev(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(DEV_USAGE);
    return EXIT_CODES.ok;
  }
  let basePort: number;
  let dataDir: string;
  let logLevel: string | undefined;
  try {
    const flags = parseFlagArgs(argv, ['base-port', 'data-dir', 'log-level'], 'concord help dev');
    basePort = parseBasePort(flags.get('base-port') ?? String(DEV_BASE_PORT_DEFAULT));
    dataDir = resolve(flags.get('data-dir') ?? DEV_DATA_DIR_DEFAULT);
    logLevel = flags.get('log-level');
    if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel)) {
      throw new ConfigError(`invalid --log-level ${JSON.stringify(logLevel)}: expected one of ${LOG_LEVELS.join(', ')}`);
    }
  } catch (error) {
    if (!isConfigError(error)) throw error;
    process.stderr.write(`concord: ${error.message}\n`);
    return EXIT_CODES.usage;
  }

  const plan = planDevCluster(basePort, dataDir, logLevel);
  const busyPort = await findBusyPort(plan);
  if (busyPort !== undefined) {
    process.stderr.write(`concord: port ${busyPort} on 127.0.0.1 is in use (another "concord dev"? try --base-port)\n`);
    return EXIT_CODES.failure;
  }
  mkdirSync(dataDir, { recursive: true });
  const lockError = acquireLock(dataDir);
  if (lockError !== undefined) {
    process.stderr.write(`concord: ${lockError}\n`);
    return EXIT_CODES.failure;
  }
  try {
    return await runMembers(plan, dataDir, env);
  } finally {
    rmSync(resolve(dataDir, DEV_LOCK_FILE), { force: true });
  }
}

async function runMembers(plan: readonly DevMember[], dataDir: string, env: NodeJS.ProcessEnv): Promise<number> {
  const mainScript = fileURLToPath(new URL('./main.js', import.meta.url));
  // The config file of a real member must not leak into the dev members; other CONCORD_* settings
  // (CONCORD_LOG_LEVEL, CONCORD_HEARTBEAT_INTERVAL, ...) do apply to them.
  const childEnv = memberProcessEnv({ ...env });
  delete childEnv[envVarName('config-file')];

  let stopping = false;
  let failed = false;
  const members: RunningMember[] = plan.map((member) => {
    const child = spawn(process.execPath, [...process.execArgv, mainScript, 'start', ...member.startArgs], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: childEnv,
    });
    const running: RunningMember = { plan: member, child, exited: Promise.resolve(null), running: true };
    const drained = [prefixLines(child.stdout, member.name, process.stdout), prefixLines(child.stderr, member.name, process.stderr)];
    running.exited = new Promise<number | null>((resolveExit) => {
      child.on('error', (error) => {
        process.stderr.write(`concord dev: ${member.name}: ${error.message}\n`);
      });
      child.on('exit', (code, signal) => {
        running.running = false;
        void Promise.all(drained).then(() => {
          const how = signal === null ? `code ${code}` : `signal ${signal}`;
          if (!stopping || code !== 0) {
            failed = true;
            process.stderr.write(`concord dev: ${member.name} exited (${how})` +
              (stopping ? '\n' : '; the other members keep running, Ctrl-C stops them\n'));
          }
          resolveExit(code);
        });
      });
    });
    return running;
  });

  process.stdout.write(`concord dev: 3 members on 127.0.0.1, data in ${dataDir} (Ctrl-C stops them)\n`);
  for (const { plan: member, child } of members) {
    process.stdout.write(`  ${member.name}  client ${member.clientUrl}  peer ${member.peerUrl}  pid ${child.pid ?? '?'}\n`);
  }
  const endpoints = plan.map((member) => member.clientUrl).join(',');
  process.stdout.write(`endpoints: ${endpoints}\n`);
  process.stdout.write(`  try: ETCDCTL_API=3 etcdctl --endpoints=${endpoints} put greeting hello\n`);
  process.stdout.write(`       curl ${plan[0]?.clientUrl ?? ''}/health\n`);

  let killTimer: NodeJS.Timeout | undefined;
  const killRemaining = (why: string): void => {
    for (const member of members) {
      if (!member.running) continue;
      failed = true;
      process.stderr.write(`concord dev: ${member.plan.name} ${why}; killing it\n`);
      member.child.kill('SIGKILL');
    }
  };
  let stoppingSinceMs = 0;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A terminal's Ctrl-C under `npm start` arrives twice (from the terminal and forwarded by
      // npm); only a signal a while after the first means "stop waiting".
      if (Date.now() - stoppingSinceMs >= SIGNAL_REPEAT_MS_MIN) killRemaining(`still running at the second ${signal}`);
      return;
    }
    stopping = true;
    stoppingSinceMs = Date.now();
    process.stdout.write(`concord dev: ${signal}: stopping the members\n`);
    for (const member of members) if (member.running) member.child.kill('SIGTERM');
    killTimer = setTimeout(() => killRemaining(`did not stop within ${DEV_STOP_TIMEOUT_MS} ms`), DEV_STOP_TIMEOUT_MS);
  };
  const onSigint = (): void => stop('SIGINT');
  const onSigterm = (): void => stop('SIGTERM');
  const onSighup = (): void => stop('SIGHUP');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  process.on('SIGHUP', onSighup);
  try {
    await Promise.all(members.map((member) => member.exited));
  } finally {
    if (killTimer !== undefined) clearTimeout(killTimer);
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    process.off('SIGHUP', onSighup);
  }
  if (!stopping) process.stderr.write('concord dev: every member exited\n');
  else if (!failed) process.stdout.write('concord dev: all members stopped\n');
  return stopping && !failed ? EXIT_CODES.ok : EXIT_CODES.failure;
}

/** prefixLines copies each line of `input` to `output` as `[name] line`; resolves at its end. */
function prefixLines(input: NodeJS.ReadableStream | null, name: string, output: NodeJS.WritableStream): Promise<void> {
  if (input === null) return Promise.resolve();
  const lines = createInterface({ input, crlfDelay: Infinity });
  lines.on('line', (line) => output.write(`[${name}] ${line}\n`));
  return new Promise((resolveDone) => lines.once('close', () => resolveDone()));
}

/** findBusyPort returns the first dev port someone is listening on, if any. */
async function findBusyPort(plan: readonly DevMember[]): Promise<number | undefined> {
  const ports = plan.flatMap((member) => [new URL(member.clientUrl), new URL(member.peerUrl)]).map((url) => Number(url.port));
  if (ports.length !== DEV_PORT_OFFSETS.length * 2) throw new Error('dev plan: two ports per member');
  for (const port of ports) {
    const free = await new Promise<boolean>((resolveFree) => {
      const server = createServer();
      server.once('error', () => resolveFree(false));
      server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolveFree(true)));
    });
    if (!free) return port;
  }
  return undefined;
}

/**
 * acquireLock claims `dataDir` for this process with a pid file, so two `concord dev` runs (on
 * different ports) never share member data. A lock left by a dead process is taken over.
 * Returns a message when another live process holds it.
 */
function acquireLock(dataDir: string): string | undefined {
  const lockPath = resolve(dataDir, DEV_LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        return `cannot create ${lockPath}: ${(error as Error).message}`;
      }
    }
    const pid = Number(readFileSync(lockPath, 'utf8').trim());
    if (Number.isSafeInteger(pid) && pid > 0 && isAlive(pid)) {
      return `${dataDir} is in use by another "concord dev" (pid ${pid}); stop it or use --data-dir`;
    }
    rmSync(lockPath, { force: true });
  }
  return `cannot lock ${dataDir} (${lockPath} keeps reappearing)`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
