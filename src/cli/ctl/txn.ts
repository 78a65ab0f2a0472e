/**
 * `concord txn`: etcdctl's interactive transaction syntax, read from stdin in three sections
 * separated by blank lines: compares, success operations, failure operations.
 *
 *   mod("config/a") > "0"
 *   value("config/b") = "x"
 *
 *   put config/b y
 *   get config/a
 *
 *   del config/b --prefix
 *
 * Compares: `value|val|create|c|mod|m|version|ver|lease("KEY") OP "TARGET"` with OP one of
 * `= == != < >` (lease targets in hex). Operations: `put KEY VALUE`, `get KEY [--prefix]`,
 * `del KEY [--prefix]`; arguments may be quoted.
 */
import { createInterface } from 'node:readline';
import { compare, op, type Compare, type CompareOp, type Op, type OpResult } from '../../client/index.js';
import { expectPositionals, parseCommand, UsageError, withCtl } from './context.js';
import { kvJson, kvText } from './kv.js';

/** TXN_LINES_MAX bounds the lines read from stdin (a txn larger than this is surely a mistake). */
const TXN_LINES_MAX = 10_000;

/** TxnSpec is a parsed transaction. */
export interface TxnSpec {
  readonly compares: readonly Compare[];
  readonly success: readonly Op[];
  readonly failure: readonly Op[];
}

const COMPARE_LINE = /^\s*(value|val|create|c|mod|m|version|ver|lease)\("((?:[^"\\]|\\.)*)"\)\s*(==|=|!=|<|>)\s*(.*?)\s*$/;

/** parseCompare reads one compare line (etcdctl syntax). */
export function parseCompare(line: string): Compare {
  const m = COMPARE_LINE.exec(line);
  if (!m) throw new UsageError(`bad compare "${line}" (expected e.g. value("key") = "v" or mod("key") > "5")`);
  const [, target, rawKey, rawOp, rawValue] = m as unknown as [string, string, string, string, string];
  const key = unescape(rawKey);
  const cmpOp: CompareOp = rawOp === '=' ? '==' : (rawOp as CompareOp);
  const tokens = splitArgs(rawValue);
  if (tokens.length !== 1) throw new UsageError(`bad compare "${line}": expected one quoted target after the operator`);
  const value = tokens[0]!;
  switch (target) {
    case 'value': case 'val': return compare.value(key, cmpOp, value);
    case 'create': case 'c': return compare.createRevision(key, cmpOp, numberOf(value, line));
    case 'mod': case 'm': return compare.modRevision(key, cmpOp, numberOf(value, line));
    case 'version': case 'ver': return compare.version(key, cmpOp, numberOf(value, line));
    case 'lease': {
      if (!/^(0x)?[0-9a-f]+$/i.test(value)) throw new UsageError(`bad compare "${line}": lease target must be hex`);
      return compare.lease(key, cmpOp, BigInt(`0x${value.replace(/^0x/i, '')}`));
    }
    default: throw new UsageError(`bad compare "${line}"`);
  }
}

function numberOf(text: string, line: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`bad compare "${line}": expected a number, got "${text}"`);
  return Number(text);
}

/** parseOp reads one operation line: `put KEY VALUE`, `get KEY [--prefix]`, `del KEY [--prefix]`. */
export function parseOp(line: string): Op {
  const [verb, ...rest] = splitArgs(line);
  const prefix = rest.includes('--prefix');
  const args = rest.filter((a) => a !== '--prefix');
  switch (verb) {
    case 'put':
      if (args.length !== 2 || prefix) throw new UsageError(`bad operation "${line}" (expected put KEY VALUE)`);
      return op.put(args[0]!, args[1]!);
    case 'get':
    case 'del':
    case 'delete': {
      if (args.length !== 1) throw new UsageError(`bad operation "${line}" (expected ${verb} KEY [--prefix])`);
      const selector = prefix ? { prefix: args[0]! } : args[0]!;
      return verb === 'get' ? op.get(selector) : op.delete(selector);
    }
    default:
      throw new UsageError(`bad operation "${line}" (expected put, get or del)`);
  }
}

/** parseTxn reads the three sections (compares, success, failure) from lines. */
export function parseTxn(lines: readonly string[]): TxnSpec {
  const sections: string[][] = [[]];
  for (const line of lines) {
    if (line.trim() === '') {
      if (sections.length === 3) break;
      sections.push([]);
    } else {
      sections[sections.length - 1]!.push(line);
    }
  }
  return {
    compares: (sections[0] ?? []).map(parseCompare),
    success: (sections[1] ?? []).map(parseOp),
    failure: (sections[2] ?? []).map(parseOp),
  };
}

/** splitArgs splits a line on blanks, honouring "double" (with \ escapes) and 'single' quotes. */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  let current = '';
  let inToken = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '"' || ch === "'") {
      inToken = true;
      const close = ch;
      for (i++; i < line.length && line[i] !== close; i++) {
        if (close === '"' && line[i] === '\\' && i + 1 < line.length) i++;
        current += line[i];
      }
      if (i >= line.length) throw new UsageError(`unterminated quote in "${line}"`);
    } else if (/\s/.test(ch)) {
      if (inToken) out.push(current);
      current = '';
      inToken = false;
    } else {
      current += ch;
      inToken = true;
    }
  }
  if (inToken) out.push(current);
  return out;
}

function unescape(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}

/** readTxnLines reads stdin until the failure section's blank line or end of input, prompting on a terminal. */
async function readTxnLines(): Promise<string[]> {
  const interactive = process.stdin.isTTY === true;
  const prompts = ['compares:', 'success requests (get, put, del):', 'failure requests (get, put, del):'];
  if (interactive) process.stderr.write(`${prompts[0]}\n`);
  const lines: string[] = [];
  let blanks = 0;
  const rl = createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    if (lines.length >= TXN_LINES_MAX) throw new UsageError(`txn: more than ${TXN_LINES_MAX} lines`);
    lines.push(line);
    if (line.trim() === '') {
      blanks++;
      if (blanks === 3) break;
      if (interactive) process.stderr.write(`${prompts[blanks]}\n`);
    }
  }
  rl.close();
  return lines;
}

function resultText(r: OpResult): string {
  switch (r.type) {
    case 'put': return 'OK';
    case 'get': return r.kvs.map(kvText).join('\n');
    case 'delete': return String(r.deleted);
    case 'txn': return r.result.succeeded ? 'SUCCESS' : 'FAILURE';
  }
}

function resultJson(r: OpResult): unknown {
  switch (r.type) {
    case 'put': return { type: 'put' };
    case 'get': return { type: 'get', count: r.count, kvs: r.kvs.map(kvJson) };
    case 'delete': return { type: 'delete', deleted: r.deleted };
    case 'txn': return { type: 'txn', succeeded: r.result.succeeded, results: r.result.results.map(resultJson) };
  }
}

/** runTxn is `concord txn`: reads the transaction from stdin, prints SUCCESS or FAILURE and each result. */
export async function runTxn(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommand(args, {});
  expectPositionals(positionals, 0, 0, 'concord txn < FILE (compares, blank line, success ops, blank line, failure ops)');
  const spec = parseTxn(await readTxnLines());
  return withCtl(values, env, async (ctl) => {
    const r = await ctl.client().txn().if(...spec.compares).then(...spec.success).else(...spec.failure).commit();
    const text = [r.succeeded ? 'SUCCESS' : 'FAILURE', ...r.results.map((x) => `\n${resultText(x)}`)].join('\n');
    ctl.out(text, { succeeded: r.succeeded, revision: r.revision, results: r.results.map(resultJson) });
    return 0;
  });
}
