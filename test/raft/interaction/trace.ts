/**
 * TraceWriter collects the output of one data-driven command as lines. Nested sections (a node
 * handling its Ready, a node receiving messages) are indented by two spaces, as in etcd-io/raft's
 * interaction traces.
 */
export class TraceWriter {
  private lines: string[] = [];
  private depth = 0;

  /** write appends `text` (which may span several lines) at the current indentation. */
  write(text: string): void {
    const pad = '  '.repeat(this.depth);
    for (const line of text.split('\n')) this.lines.push(pad + line);
  }

  /** indented runs `body` with every line it writes indented one level deeper. */
  indented(body: () => void): void {
    this.depth++;
    try {
      body();
    } finally {
      this.depth--;
    }
  }

  /** outdented runs `body` with every line it writes indented one level less (never below zero). */
  outdented(body: () => void): void {
    const saved = this.depth;
    this.depth = Math.max(0, this.depth - 1);
    try {
      body();
    } finally {
      this.depth = saved;
    }
  }

  /** take returns everything written so far and starts a new, empty trace. */
  take(): string {
    const text = this.lines.join('\n');
    this.lines = [];
    this.depth = 0;
    return text;
  }
}
