/**
 * Logger is the structured logger interface passed into every component; nothing logs through a
 * global. Fields are plain key/value data; the message is a short constant phrase.
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** LogFields are the structured fields of one log line. */
export type LogFields = Readonly<Record<string, unknown>>;

/** nullLogger discards everything; the default for tests and the simulator. */
export const nullLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** LogLine is one captured line of a `MemoryLogger`. */
export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: LogFields | undefined;
}

/** MemoryLogger keeps lines in memory (bounded by `linesMax`) so tests can assert on them. */
export class MemoryLogger implements Logger {
  readonly lines: LogLine[] = [];
  constructor(private readonly linesMax = 10_000) {}
  private push(level: LogLine['level'], message: string, fields?: LogFields): void {
    if (this.lines.length >= this.linesMax) this.lines.shift();
    this.lines.push({ level, message, fields });
  }
  debug(message: string, fields?: LogFields): void { this.push('debug', message, fields); }
  info(message: string, fields?: LogFields): void { this.push('info', message, fields); }
  warn(message: string, fields?: LogFields): void { this.push('warn', message, fields); }
  error(message: string, fields?: LogFields): void { this.push('error', message, fields); }
}
