import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseCommandLine, runDataDrivenFile, type TestBlock } from './datadriven.js';

function withFile(text: string, body: (file: string) => void): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'datadriven-'));
  const file = path.join(dir, 'script.txt');
  fs.writeFileSync(file, text);
  try {
    body(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function withRewrite(value: string | undefined, body: () => void): void {
  const saved = process.env['CONCORD_REWRITE'];
  if (value === undefined) delete process.env['CONCORD_REWRITE'];
  else process.env['CONCORD_REWRITE'] = value;
  try {
    body();
  } finally {
    if (saved === undefined) delete process.env['CONCORD_REWRITE'];
    else process.env['CONCORD_REWRITE'] = saved;
  }
}

const echo = (block: TestBlock): string =>
  [block.command, ...block.args.map((a) => `${a.key}=[${a.values.join('|')}]`), ...block.input].join('\n');

test('parseCommandLine splits keys, values, lists and groups', () => {
  const { command, args } = parseCommandLine('partition (1) (2 3) voters=(1,2, 3) index=5 prevote 7');
  assert.equal(command, 'partition');
  assert.deepEqual(args, [
    { key: '', values: ['1'] },
    { key: '', values: ['2', '3'] },
    { key: 'voters', values: ['1', '2', '3'] },
    { key: 'index', values: ['5'] },
    { key: 'prevote', values: [] },
    { key: '7', values: [] },
  ]);
  assert.throws(() => parseCommandLine('cmd a=(1,2'), /unbalanced/);
});

test('runDataDrivenFile passes on matching output and fails on a mismatch with its position', () => {
  const script = '# comment\ncmd k=(1,2)\nin\n----\ncmd\nk=[1|2]\nin\n\nother\n----\nwrong\n';
  withRewrite(undefined, () => withFile(script, (file) => {
    assert.throws(() => runDataDrivenFile(file, echo), (error: Error) => error.message.includes(`${file}:9`));
  }));
  withRewrite(undefined, () => withFile(script.replace('wrong', 'other'), (file) => {
    runDataDrivenFile(file, echo);
  }));
});

test('rewrite mode keeps comments and commands and replaces outputs, doubling the separator around blank lines', () => {
  withRewrite('1', () => withFile('# keep me\na 1\n----\nstale\n\nb\n----\n', (file) => {
    runDataDrivenFile(file, (block) => (block.command === 'a' ? 'fresh' : 'x\n\ny'));
    assert.equal(fs.readFileSync(file, 'utf8'), '# keep me\na 1\n----\nfresh\n\nb\n----\n----\nx\n\ny\n----\n----\n');
  }));
  withRewrite(undefined, () => withFile('b\n----\n----\nx\n\ny\n----\n----\n', (file) => {
    runDataDrivenFile(file, () => 'x\n\ny');
  }));
});
