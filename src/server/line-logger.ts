/**
 * A Logger that writes one human-readable line per event to a stream:
 *   2026-11-30T01:02:03.456Z info  [m1] message key=value key2="a b"
 * Lines below `level` are dropped. Field values that are plain words print bare; anything else
 * prints as JSON so a line stays one line and can be read back.
 */
import type { LogFields, LogLine, Logger } from '../lib/logger.js';

/** LogLevel is a logger level, lowest first in LOG_LEVEL_ORDER. */
export type LogLevel = LogLine['level'];

/** LOG_LEVEL_ORDER ranks levels; a logger at level L writes lines at L and above. */
export const LOG_LEVEL_ORDER: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

/** LineLoggerOptions configure createLineLogger. */
export interface LineLoggerOptions {
  /** name goes in brackets on every line (the member name). */
  readonly name: string;
  /** level is the lowest level written. */
  readonly level: LogLevel;
  /** stream receives each line with its newline (process.stderr in `concord start`). */
  readonly stream: { write(text: string): unknown };
  /** now gives the time of a line; tests pass a fixed clock. */
  readonly now?: () => Date;
}

/** createLineLogger returns a Logger writing formatLogLine lines to `options.stream`. */
export function createLineLogger(options: LineLoggerOptions): Logger {
  const now = options.now ?? (() => new Date());
  const threshold = LOG_LEVEL_ORDER[options.level];
  const write = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (LOG_LEVEL_ORDER[level] < threshold) return;
    options.stream.write(formatLogLine(now(), level, options.name, message, fields) + '\n');
  };
  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
  };
}

/** formatLogLine formats one line (without the newline). */
export function formatLogLine(time: Date, level: LogLevel, name: string, message: string, fields?: LogFields): string {
  let line = `${time.toISOString()} ${level.padEnd(5)} [${name}] ${oneLine(message)}`;
  for (const [key, value] of Object.entries(fields ?? {})) line += ` ${key}=${formatValue(value)}`;
  return line;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

/** formatValue prints bare words, numbers and booleans as is, everything else as JSON. */
function formatValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return /^[\w.:/@+-]+$/.test(value) ? value : JSON.stringify(value);
  if (value instanceof Error) return JSON.stringify(value.message);
  if (value instanceof URL) return formatValue(value.href);
  try {
    return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? item.toString() : item)) ?? String(value);
  } catch {
    return JSON.stringify(String(value));
  }
}
