import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';

/**
 * The environment a member process starts with. glibc's malloc reads its tunables when the process
 * starts, so they are set by whoever starts the member: `concord dev`, the test and benchmark
 * clusters, and `concord start` itself, which runs its member in a child process with them when it
 * was started without (relaunchWithMallocTunables; set GLIBC_TUNABLES in the service's
 * environment to avoid the extra process, docs/operations.md).
 *
 * Why (docs/performance.md, "Large answers and glibc's heap trimming"): a member answers a range
 * of 1,000 values with one ≈ 300 KB buffer, freed when the socket has it. By default glibc hands
 * the free space at the top of its heap back to the kernel once it exceeds 128 KiB, so every such
 * answer grew the heap again (brk) and faulted its pages in anew: 2–3 `brk` calls per answer on a
 * KVM guest, where the tunables below cut a member's CPU per range by 40–60 %. Keeping up to
 * 64 MiB of freed memory (and serving allocations up to 32 MiB from the heap rather than from
 * their own mappings) lets the next answer reuse the pages.
 */

/** MALLOC_TUNABLES are the glibc malloc settings of a member process. */
export const MALLOC_TUNABLES: Readonly<Record<string, string>> = {
  'glibc.malloc.trim_threshold': String(64 * 1024 * 1024),
  'glibc.malloc.mmap_threshold': String(32 * 1024 * 1024),
};

/** MALLOC_TUNABLES_ENV: `CONCORD_MALLOC_TUNABLES=off` starts members with glibc's defaults (for comparison). */
export const MALLOC_TUNABLES_ENV = 'CONCORD_MALLOC_TUNABLES';

/** mallocTunablesWanted is false when the operator opted out with CONCORD_MALLOC_TUNABLES=off. */
export function mallocTunablesWanted(env: NodeJS.ProcessEnv): boolean {
  return env[MALLOC_TUNABLES_ENV] !== 'off';
}

/** hasMallocTunables reports whether `env` already sets every member malloc tunable (to any value). */
export function hasMallocTunables(env: NodeJS.ProcessEnv): boolean {
  const set = parseTunables(env['GLIBC_TUNABLES']);
  return Object.keys(MALLOC_TUNABLES).every((name) => set.has(name));
}

/**
 * memberProcessEnv is `env` with the member malloc tunables added to GLIBC_TUNABLES; a tunable the
 * operator already set there keeps the operator's value. Unchanged with CONCORD_MALLOC_TUNABLES=off.
 */
export function memberProcessEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (!mallocTunablesWanted(env)) return env;
  const set = parseTunables(env['GLIBC_TUNABLES']);
  for (const [name, value] of Object.entries(MALLOC_TUNABLES)) if (!set.has(name)) set.set(name, value);
  return { ...env, GLIBC_TUNABLES: [...set].map(([name, value]) => `${name}=${value}`).join(':') };
}

function parseTunables(text: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of (text ?? '').split(':')) {
    const eq = item.indexOf('=');
    if (eq > 0) out.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return out;
}

/** runsOnGlibc: the tunables mean something only to glibc's malloc (not musl's). */
function runsOnGlibc(): boolean {
  if (process.platform !== 'linux') return false;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime !== undefined;
}

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * relaunchWithMallocTunables: when this process runs on glibc without the member malloc tunables
 * (and the operator did not opt out), runs the same command in a child process that has them and
 * resolves with its exit code; otherwise returns undefined and the caller goes on in this process.
 * The child inherits stdio and gets every SIGINT, SIGTERM and SIGHUP this process gets. With
 * `watchParent` it also gets an IPC channel, which `concord start` watches (as under `concord
 * dev`): it stops by itself if this process dies. A child killed by a signal is reported as exit
 * code 128 + the signal's number.
 */
export function relaunchWithMallocTunables(options: { watchParent: boolean } = { watchParent: true }): Promise<number> | undefined {
  if (!mallocTunablesWanted(process.env) || hasMallocTunables(process.env) || !runsOnGlibc()) return undefined;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: options.watchParent ? ['inherit', 'inherit', 'inherit', 'ipc'] : 'inherit',
    env: memberProcessEnv(process.env),
  });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  return new Promise<number>((resolve) => {
    child.on('error', (error) => {
      process.stderr.write(`concord: could not start the member process: ${error.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      for (const s of FORWARDED_SIGNALS) process.off(s, forward);
      resolve(code ?? 128 + (signal === null ? 0 : (osConstants.signals[signal] ?? 0)));
    });
  });
}
