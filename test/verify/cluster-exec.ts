import { execFile, execFileSync } from 'node:child_process';

/**
 * Running the system tools the verification harness drives (`ip`, `iptables`, `mount`). Every
 * call names its program and arguments explicitly (no shell), and a failure carries the tool's
 * stderr so a missing capability reads as what it is.
 */

/** ToolError is a failed tool invocation: `command` is the command line, `stderr` what it said. */
export class ToolError extends Error {
  override name = 'ToolError';
  constructor(readonly command: string, readonly stderr: string, options?: { cause?: unknown }) {
    super(`${command}: ${stderr.trim() || 'failed'}`, options);
  }
}

/** runTool runs `program args` and resolves with its stdout; rejects with ToolError. */
export function runTool(program: string, args: readonly string[], timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new ToolError([program, ...args].join(' '), String(stderr || error.message), { cause: error }));
      else resolve(String(stdout));
    });
  });
}

/** runToolSync is runTool for exit paths (process 'exit' handlers cannot wait); errors are returned, not thrown. */
export function runToolSync(program: string, args: readonly string[]): { ok: boolean; stdout: string } {
  try {
    return { ok: true, stdout: execFileSync(program, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 }) };
  } catch {
    return { ok: false, stdout: '' };
  }
}

/** hasTool reports whether `program` runs (`program --version` or the given probe args succeed). */
export async function hasTool(program: string, probeArgs: readonly string[] = ['--version']): Promise<boolean> {
  try {
    await runTool(program, probeArgs, 5_000);
    return true;
  } catch {
    return false;
  }
}

/** isRoot reports whether this process runs as uid 0. */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** pidAlive reports whether a process with this pid exists (signal 0). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
