import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * CPU time of other processes (the cluster members), read from /proc/<pid>/stat: user + system
 * time of all the process's threads, in clock ticks (usually 10 ms each; over a 5 s window of a
 * busy member that is well under 1 % error). Linux only; elsewhere every reading is NaN.
 */

let ticksPerSecondCached: number | undefined;
function ticksPerSecond(): number {
  if (ticksPerSecondCached === undefined) {
    try {
      ticksPerSecondCached = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecondCached = 100;
    }
  }
  return ticksPerSecondCached;
}

/** processCpuMicros returns the user + system CPU time a process has used so far, in µs (NaN if unknown). */
export function processCpuMicros(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return Number.NaN;
  }
  // The command name (field 2) is parenthesised and may hold spaces: split after its last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1e6) / ticksPerSecond();
}

/** clientCpuMicros is this process's own user + system CPU time so far, in µs. */
export function clientCpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/**
 * machineBusyMicros is the CPU time all processes on the machine have used so far (every core:
 * user, nice, system, irq, softirq, steal), in µs, from /proc/stat; NaN if unknown. Minus the
 * members and the load generator, it is the other load that shared the machine during a run.
 */
export function machineBusyMicros(): number {
  let text: string;
  try {
    text = fs.readFileSync('/proc/stat', 'utf8');
  } catch {
    return Number.NaN;
  }
  const fields = text.slice(0, text.indexOf('\n')).trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const busy = fields[0]! + fields[1]! + fields[2]! + fields[5]! + fields[6]! + fields[7]!;
  return (busy * 1e6) / ticksPerSecond();
}
