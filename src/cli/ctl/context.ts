/**
 * The ctl commands' shared plumbing: global flags (`--endpoints`, `--json`), the client they
 * open, output (readable or JSON lines), and the mapping of errors to one stderr line and an
 * exit code (0 ok, 1 failure, 2 bad command line).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { Concord, ConcordClientError } from '../../client/index.js';
import { EndpointPool } from '../../client/endpoint-pool.js';

/** CTL_EXIT_CODES are the ctl commands' exit codes (the same as `concord start`'s). */
export const CTL_EXIT_CODES = { ok: 0, failure: 1, usage: 2 } as const;

/** DEFAULT_ENDPOINTS is the `npm start` dev cluster. */
export const DEFAULT_ENDPOINTS = '127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379';

/** ENDPOINTS_ENV is the environment variable read when `--endpoints` is not given. */
export const ENDPOINTS_ENV = 'CONCORD_ENDPOINTS';

/** UsageError is a bad command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  readonly code = 'CONCORD_CLI_USAGE';
}

/** CommandFailure is an operating failure found by the command itself (exit code 1). */
export class CommandFailure extends Error {
  readonly code = 'CONCORD_CLI_FAILURE';
}

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** GLOBAL_OPTIONS are accepted by every ctl command, anywhere on its command line. */
export const GLOBAL_OPTIONS = {
  endpoints: { type: 'string' },
  json: { type: 'boolean', default: false },
  'dial-timeout': { type: 'string' },
  'command-timeout': { type: 'string' },
} as const satisfies OptionsConfig;

/** Ctl is what a command runs with: the parsed global flags, the client and the output. */
export interface Ctl {
  readonly json: boolean;
  readonly endpoints: readonly string[];
  /** client is the Concord client (opened on first use). */
  client(): Concord;
  /** pool is a raw endpoint pool for rpcs the client does not wrap (opened on first use). */
  pool(): EndpointPool;
  /** out writes one result: `text` in readable mode, `value` as one JSON line with --json. */
  out(text: string, value: unknown): void;
  close(): void;
}

/** parseCommand parses a command's argv with node:util parseArgs plus the global flags; bad flags become UsageError. */
export function parseCommand<O extends OptionsConfig>(args: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...args], options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** openCtl builds the context from parsed global flags and the environment. */
export function openCtl(values: { endpoints?: string | undefined; json?: boolean | undefined; 'dial-timeout'?: string | undefined; 'command-timeout'?: string | undefined }, env: NodeJS.ProcessEnv): Ctl {
  const fromEnv = env[ENDPOINTS_ENV] === '' ? undefined : env[ENDPOINTS_ENV];
  const endpoints = (values.endpoints ?? fromEnv ?? DEFAULT_ENDPOINTS).split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (endpoints.length === 0) throw new UsageError('--endpoints is empty');
  const dialTimeoutMs = durationMs(values['dial-timeout'], 'dial-timeout', 2_000);
  const requestTimeoutMs = durationMs(values['command-timeout'], 'command-timeout', 10_000);
  const json = values.json ?? false;
  let client: Concord | undefined;
  let pool: EndpointPool | undefined;
  return {
    json,
    endpoints,
    client: () => (client ??= new Concord({ endpoints, dialTimeoutMs, requestTimeoutMs })),
    pool: () => (pool ??= new EndpointPool({ endpoints, dialTimeoutMs, requestTimeoutMs, attemptsMax: 12 })),
    out(text, value) {
      process.stdout.write(json ? `${JSON.stringify(value, jsonReplacer)}\n` : text.endsWith('\n') || text === '' ? text : `${text}\n`);
    },
    close() {
      client?.close();
      pool?.close();
    },
  };
}

/** durationMs reads a timeout flag: `500ms`, `5s`, or plain milliseconds. */
function durationMs(text: string | undefined, flag: string, fallbackMs: number): number {
  if (text === undefined) return fallbackMs;
  const m = /^(\d+)(ms|s)?$/.exec(text);
  if (!m) throw new UsageError(`--${flag}: expected a duration like 5s or 500ms, got "${text}"`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

/** jsonReplacer writes bigints (lease and member ids) as decimal strings and bytes as text. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return value;
}

/** parseInteger reads a non-negative integer argument or throws UsageError. */
export function parseInteger(text: string | undefined, what: string, options: { min?: number } = {}): number {
  if (text === undefined || !/^\d+$/.test(text)) throw new UsageError(`${what}: expected an integer, got ${text === undefined ? 'nothing' : `"${text}"`}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < (options.min ?? 0)) throw new UsageError(`${what}: out of range: ${text}`);
  return n;
}

/** parseLeaseId reads a lease id in hex (as printed by `lease grant`) or decimal (`0x...` or digits). */
export function parseLeaseId(text: string | undefined): bigint {
  if (text === undefined) throw new UsageError('lease ID is required');
  const hex = /^(0x)?([0-9a-f]+)$/i.exec(text);
  if (!hex) throw new UsageError(`lease ID: expected hex (as "lease grant" prints it), got "${text}"`);
  return BigInt(`0x${hex[2]}`);
}

/** leaseHex prints a lease id as etcdctl does (lowercase hex, no prefix). */
export function leaseHex(id: bigint): string {
  return id.toString(16);
}

/** positionals checks the count of positional arguments. */
export function expectPositionals(positionals: readonly string[], min: number, max: number, usage: string): void {
  if (positionals.length < min || positionals.length > max) throw new UsageError(`usage: ${usage}`);
}

/** reportError prints one line for `error` on stderr and returns the exit code. */
export function reportError(command: string, error: unknown): number {
  if (error instanceof UsageError) {
    process.stderr.write(`concord ${command}: ${error.message}\n`);
    return CTL_EXIT_CODES.usage;
  }
  if (error instanceof ConcordClientError) {
    process.stderr.write(`concord ${command}: ${error.code}: ${error.message}\n`);
    return CTL_EXIT_CODES.failure;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`concord ${command}: ${message.split('\n')[0]}\n`);
  return CTL_EXIT_CODES.failure;
}

/** CtlCommand runs one ctl command with its arguments (after the command name) and returns the exit code. */
export type CtlCommand = (args: readonly string[], env: NodeJS.ProcessEnv) => Promise<number>;

/** withCtl opens the context for parsed flags, runs `fn`, and closes the client whatever happens. */
export async function withCtl(values: Parameters<typeof openCtl>[0], env: NodeJS.ProcessEnv, fn: (ctl: Ctl) => Promise<number>): Promise<number> {
  const ctl = openCtl(values, env);
  try {
    return await fn(ctl);
  } finally {
    ctl.close();
  }
}

/** interruptSignal aborts on the first SIGINT or SIGTERM (a long-running command then ends with exit code 0). */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = (): void => controller.abort(new Error('interrupted'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return controller.signal;
}
