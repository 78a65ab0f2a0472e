import assert from 'node:assert/strict';
import fs from 'node:fs';

/**
 * A small data-driven test runner in the style of cockroachdb/datadriven, used by the Raft
 * interaction scripts (test/raft/testdata/*.txt). A file is a sequence of blocks:
 *
 *     # comments and blank lines between blocks are kept verbatim
 *     command arg1 key=value key=(1,2,3) (4 5)
 *     optional input line
 *     ----
 *     expected output
 *
 * The expected output ends at the first blank line. Output that itself contains blank lines is
 * written between a doubled separator (`----` `----` ... `----` `----`). When the environment
 * variable CONCORD_REWRITE is `1` the file is rewritten with the actual outputs instead of being
 * checked, so a change of behaviour shows up as a diff of the file.
 */

/** CommandArg is one argument of a command line: `key`, `key=v`, `key=(v1,v2)` or a group `(v1 v2)` (key ''). */
export interface CommandArg {
  readonly key: string;
  readonly values: readonly string[];
}

/** TestBlock is one parsed block of a data-driven file; `line` is the 1-based line of its command. */
export interface TestBlock {
  readonly file: string;
  readonly line: number;
  /** text is the command line as written (kept verbatim on rewrite). */
  readonly text: string;
  readonly command: string;
  readonly args: readonly CommandArg[];
  readonly input: readonly string[];
  readonly expected: string;
}

/** BlockHandler runs one block and returns its output (trailing whitespace is ignored). */
export type BlockHandler = (block: TestBlock) => string;

type Chunk = { readonly kind: 'raw'; readonly text: string } | { readonly kind: 'block'; readonly block: TestBlock };

const SEPARATOR = '----';

/** isRewriteMode is true when CONCORD_REWRITE=1 asks for expected outputs to be regenerated. */
export function isRewriteMode(): boolean {
  return process.env['CONCORD_REWRITE'] === '1';
}

/**
 * runDataDrivenFile runs every block of `path` through `handler` in order. It asserts each output
 * against the expected one (failing at the first mismatch, naming file:line and command), or in
 * rewrite mode writes the actual outputs back into the file. An exception thrown by the handler
 * fails the run with the position of the block that raised it.
 */
export function runDataDrivenFile(path: string, handler: BlockHandler): void {
  const chunks = parseDataDriven(fs.readFileSync(path, 'utf8'), path);
  const rewrite = isRewriteMode();
  const out: string[] = [];
  for (const chunk of chunks) {
    if (chunk.kind === 'raw') {
      out.push(chunk.text);
      continue;
    }
    const { block } = chunk;
    let actual: string;
    try {
      actual = normalizeOutput(handler(block));
    } catch (error) {
      throw new Error(`${block.file}:${block.line}: ${block.command} failed: ${String(error)}`, { cause: error });
    }
    if (rewrite) {
      out.push(formatBlock(block, actual));
    } else {
      assert.equal(actual, block.expected,
        `${block.file}:${block.line}: output of '${describeCommandLine(block)}' differs ` +
        `(run with CONCORD_REWRITE=1 to regenerate, then review the diff)`);
    }
  }
  if (rewrite) fs.writeFileSync(path, out.join('\n') + '\n');
}

/** parseDataDriven splits a data-driven file into verbatim chunks and command blocks. */
function parseDataDriven(text: string, file: string): Chunk[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const chunks: Chunk[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '' || line.trimStart().startsWith('#')) {
      chunks.push({ kind: 'raw', text: line });
      i++;
      continue;
    }
    const commandLine = i + 1;
    const { command, args } = parseCommandLine(line, file, commandLine);
    i++;
    const input: string[] = [];
    while (i < lines.length && lines[i] !== SEPARATOR) {
      input.push(lines[i]!);
      i++;
    }
    if (i >= lines.length) throw new Error(`${file}:${commandLine}: '${command}' has no '${SEPARATOR}' separator`);
    i++; // the separator
    const expected: string[] = [];
    if (i < lines.length && lines[i] === SEPARATOR) {
      // Doubled separator: output runs until a `----` `----` pair.
      i++;
      while (i < lines.length && !(lines[i] === SEPARATOR && lines[i + 1] === SEPARATOR)) {
        expected.push(lines[i]!);
        i++;
      }
      if (i >= lines.length) throw new Error(`${file}:${commandLine}: unterminated doubled '${SEPARATOR}' output`);
      i += 2;
    } else {
      while (i < lines.length && lines[i]!.trim() !== '') {
        expected.push(lines[i]!);
        i++;
      }
    }
    chunks.push({
      kind: 'block',
      block: { file, line: commandLine, text: line, command, args, input, expected: normalizeOutput(expected.join('\n')) },
    });
  }
  return chunks;
}

/**
 * parseCommandLine tokenizes `cmd a k=v k=(1,2) (3 4)`. Inside parentheses values are separated by
 * commas and/or spaces.
 */
export function parseCommandLine(line: string, file = '<input>', lineNo = 0): { command: string; args: CommandArg[] } {
  const tokens: string[] = [];
  let current = '';
  let depth = 0;
  for (const ch of line.trim()) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (depth < 0) throw new Error(`${file}:${lineNo}: unbalanced ')' in '${line}'`);
    if (ch === ' ' && depth === 0) {
      if (current !== '') tokens.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (depth !== 0) throw new Error(`${file}:${lineNo}: unbalanced '(' in '${line}'`);
  if (current !== '') tokens.push(current);
  const [command, ...rest] = tokens;
  if (command === undefined) throw new Error(`${file}:${lineNo}: empty command`);
  const args = rest.map((token): CommandArg => {
    const eq = token.indexOf('=');
    const key = token.startsWith('(') ? '' : eq < 0 ? token : token.slice(0, eq);
    const value = token.startsWith('(') ? token : eq < 0 ? undefined : token.slice(eq + 1);
    if (value === undefined) return { key, values: [] };
    if (value.startsWith('(') && value.endsWith(')')) {
      return { key, values: value.slice(1, -1).split(/[\s,]+/).filter((v) => v !== '') };
    }
    return { key, values: [value] };
  });
  return { command, args };
}

/** describeCommandLine renders a block's command line back (for error messages). */
export function describeCommandLine(block: TestBlock): string {
  const args = block.args.map((a) => {
    if (a.key === '') return `(${a.values.join(' ')})`;
    if (a.values.length === 0) return a.key;
    return a.values.length === 1 ? `${a.key}=${a.values[0]}` : `${a.key}=(${a.values.join(',')})`;
  });
  return [block.command, ...args].join(' ');
}

function normalizeOutput(text: string): string {
  const lines = text.split('\n').map((l) => l.trimEnd());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  while (lines.length > 0 && lines[0] === '') lines.shift();
  return lines.join('\n');
}

/** formatBlock renders a block with `output` as its expected output, keeping the original command text. */
function formatBlock(block: TestBlock, output: string): string {
  const head = [block.text, ...block.input, SEPARATOR];
  if (output.split('\n').some((l) => l === '')) {
    return [...head, SEPARATOR, output, SEPARATOR, SEPARATOR].join('\n');
  }
  return output === '' ? head.join('\n') : [...head, output].join('\n');
}
