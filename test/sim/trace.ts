/**
 * The simulator's trace: one line per event (delivered message, Ready, fault, client operation),
 * prefixed by the simulated step and tick. Lines use the core's `describe*()` text so a failing
 * seed reads the same as the interaction scripts. The trace keeps a bounded tail for failure
 * reports, optionally every line (for `--seed S --trace-file F`), and a running FNV-1a hash of
 * every line so two runs of one seed can be compared cheaply (the determinism test).
 */
export class Trace {
  private readonly tail: string[] = [];
  private tailStart = 0;
  private readonly full: string[] | undefined;
  private hash = 0x811c9dc5;
  private count = 0;
  /** prefix is the `[step tick]` label of the current step, set by the simulator. */
  prefix = '';

  /**
   * @param tailLinesMax how many recent lines a failure report shows.
   * @param keepAll keep every line (replay mode); otherwise only the tail and the hash.
   */
  constructor(private readonly tailLinesMax: number, keepAll: boolean) {
    this.full = keepAll ? [] : undefined;
  }

  /** add records one event; multi-line text (describeReady) is kept as one indented block. */
  add(text: string): void {
    const line = `${this.prefix} ${text}`;
    this.count++;
    let h = this.hash;
    for (let i = 0; i < line.length; i++) {
      h ^= line.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    this.hash = h;
    if (this.full) this.full.push(line);
    if (this.tail.length < this.tailLinesMax) {
      this.tail.push(line);
    } else {
      this.tail[this.tailStart] = line;
      this.tailStart = (this.tailStart + 1) % this.tailLinesMax;
    }
  }

  /** lines is the number of events recorded so far. */
  get lines(): number {
    return this.count;
  }

  /** digest is the hash of every line so far, as 8 hex digits. */
  digest(): string {
    return this.hash.toString(16).padStart(8, '0');
  }

  /** tailText returns the last `linesMax` lines (at most the kept tail), oldest first. */
  tailText(linesMax = this.tailLinesMax): string {
    const ordered = [...this.tail.slice(this.tailStart), ...this.tail.slice(0, this.tailStart)];
    return ordered.slice(-linesMax).join('\n');
  }

  /** fullText returns every line when the trace keeps all of them, else undefined. */
  fullText(): string | undefined {
    return this.full?.join('\n');
  }
}
