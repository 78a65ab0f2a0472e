import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pidAlive, ToolError } from './cluster-exec.js';
import { unmountAll, unmountAllSync } from './cluster-disk.js';
import { removeStaleNetns } from './netns.js';

/**
 * Cleaning up after the verification harness. Each run keeps its files in one temp dir named
 * `concord-verify-<pid>-*` and writes the pid of every member it starts to `<dir>/pids`, so a
 * later run can remove what a crashed run left (`removeStaleRuns`): it kills those members
 * (only if the process still names that dir on its command line: pids get reused), unmounts
 * the tmpfs data dirs, deletes the dir, and removes stale namespaces and links (netns.ts).
 *
 * `registerCleanup` runs a teardown once on normal exit, failure, SIGINT and SIGTERM.
 */

/** RUN_DIR_PREFIX starts the name of every run's temp dir. */
export const RUN_DIR_PREFIX = 'concord-verify-';

/** createRunDir makes this run's temp dir. */
export function createRunDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${RUN_DIR_PREFIX}${process.pid}-`));
}

/** recordPid notes a member process in the run dir's pid list. */
export function recordPid(runDir: string, pid: number, name: string): void {
  fs.appendFileSync(path.join(runDir, 'pids'), `${pid} ${name}\n`);
}

/** killRecordedPids SIGKILLs every recorded member that still runs with `runDir` on its command line. */
export function killRecordedPids(runDir: string): number[] {
  let text = '';
  try { text = fs.readFileSync(path.join(runDir, 'pids'), 'utf8'); } catch { return []; }
  const killed: number[] = [];
  for (const line of text.split('\n')) {
    const pid = Number(line.split(' ')[0]);
    if (!Number.isInteger(pid) || pid <= 1 || !pidAlive(pid)) continue;
    let cmdline = '';
    try { cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { continue; }
    if (!cmdline.includes(runDir)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch { /* gone */ }
  }
  return killed;
}

/** removeRunDir unmounts and deletes a run dir (after its members are dead). */
export async function removeRunDir(runDir: string): Promise<void> {
  await unmountAll(runDir);
  fs.rmSync(runDir, { recursive: true, force: true });
}

/** removeRunDirSync is removeRunDir for exit paths. */
export function removeRunDirSync(runDir: string): void {
  killRecordedPids(runDir);
  unmountAllSync(runDir);
  try { fs.rmSync(runDir, { recursive: true, force: true }); } catch { /* best effort */ }
}

/**
 * removeStaleRuns removes what earlier runs of crashed harnesses left behind: run dirs (with
 * their members and mounts) and, when `netns`, namespaces and links. Returns one line per object.
 */
export async function removeStaleRuns(options: { netns: boolean }): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of fs.readdirSync(os.tmpdir())) {
    const match = /^concord-verify-(\d+)-/.exec(entry);
    if (!match || pidAlive(Number(match[1]))) continue;
    const dir = path.join(os.tmpdir(), entry);
    const killed = killRecordedPids(dir);
    if (killed.length > 0) await new Promise((resolve) => setTimeout(resolve, 200));
    await removeRunDir(dir).catch(() => undefined);
    removed.push(`${dir}${killed.length > 0 ? ` (killed ${killed.join(', ')})` : ''}`);
  }
  if (options.netns) {
    try {
      removed.push(...(await removeStaleNetns()));
    } catch (error) {
      // No `ip` here: then no earlier run can have created namespaces either.
      if (!(error instanceof ToolError)) throw error;
    }
  }
  return removed;
}

/**
 * registerCleanup arranges for `asyncCleanup` to run once on SIGINT/SIGTERM (then the process
 * exits with 130/143) and `syncCleanup` on process exit if the async one has not finished.
 * Returns a function that unregisters both.
 */
export function registerCleanup(asyncCleanup: () => Promise<void>, syncCleanup: () => void, onSignal?: (signal: NodeJS.Signals) => void): () => void {
  let done = false;
  let running: Promise<void> | undefined;
  const runOnce = (): Promise<void> => {
    running ??= asyncCleanup().finally(() => { done = true; });
    return running;
  };
  const signalHandler = (signal: NodeJS.Signals): void => {
    onSignal?.(signal);
    void runOnce().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  const exitHandler = (): void => {
    if (!done) syncCleanup();
  };
  process.on('SIGINT', signalHandler);
  process.on('SIGTERM', signalHandler);
  process.on('exit', exitHandler);
  return () => {
    done = true;
    process.off('SIGINT', signalHandler);
    process.off('SIGTERM', signalHandler);
    process.off('exit', exitHandler);
  };
}
