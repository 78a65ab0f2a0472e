/**
 * Shared pieces of the workload checkers: a capped list of problem lines, verdict assembly and
 * parsing of the decimal-string 64-bit values the histories carry.
 */
import type { WorkloadName, WorkloadVerdict } from '../workload-histories.js';

/** PROBLEMS_MAX is how many problem lines a verdict lists before summarizing the rest. */
export const PROBLEMS_MAX = 50;

/** Problems collects a checker's findings: violations (the guarantee broke) and gaps in the evidence (unknown). */
export class Problems {
  readonly violations: string[] = [];
  readonly unknowns: string[] = [];
  private violationCount = 0;

  /** violation records one way the history breaks the workload's guarantee. */
  violation(line: string): void {
    this.violationCount++;
    if (this.violations.length < PROBLEMS_MAX) this.violations.push(line);
  }

  /** unknown records why the history cannot be judged fully (a failed final read, a compacted watch). */
  unknown(line: string): void {
    if (this.unknowns.length < PROBLEMS_MAX) this.unknowns.push(line);
  }

  get violated(): boolean {
    return this.violationCount > 0;
  }

  /**
   * verdict assembles the answer: any violation makes it 'violation' (listing the violations,
   * then the unknowns), otherwise any unknown makes it 'unknown'. `describe` is the summary's
   * head, e.g. "412 adds (3 unknown)".
   */
  verdict(workload: WorkloadName, describe: string, okWord: string): WorkloadVerdict {
    if (this.violationCount > 0) {
      const more = this.violationCount - this.violations.length;
      const problems = [...this.violations, ...(more > 0 ? [`… and ${more} more violation(s)`] : []), ...this.unknowns];
      return { workload, verdict: 'violation', summary: `${describe}: ${this.violationCount} violation(s); ${this.violations[0]!}`, problems };
    }
    if (this.unknowns.length > 0) {
      return { workload, verdict: 'unknown', summary: `${describe}: unknown (${this.unknowns[0]!})`, problems: [...this.unknowns] };
    }
    return { workload, verdict: 'ok', summary: `${describe}: ${okWord}`, problems: [] };
  }
}

/** parseDecimal reads a decimal-string 64-bit value (revision, token, number); null when it is not one. */
export function parseDecimal(text: string): bigint | null {
  if (typeof text !== 'string' || !/^-?[0-9]+$/.test(text)) return null;
  return BigInt(text);
}

/** showTime renders a time of a history; null (never returned) as ∞. */
export function showTime(time: number | null): string {
  return time === null ? '∞' : String(time);
}
