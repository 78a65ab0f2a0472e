/**
 * Tests of the purity lint (scripts/lint-purity.mjs) by running it: a probe file with one of each
 * banned construct placed under src/raft makes it exit 1 and name every violation with its
 * position; mentions in comments, strings and property names are not violations; test files are
 * exempt; and the tree as committed passes. Probe files get unique names and are always removed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** root is the project directory; this file runs as dist/test/lint/purity-lint.test.js. */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const script = path.join(root, 'scripts', 'lint-purity.mjs');

interface LintRun {
  readonly status: number | null;
  readonly output: string;
}

function runLint(): LintRun {
  const result = spawnSync(process.execPath, [script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** withProbe writes `text` to a uniquely named file under src/raft, runs `f`, and always removes it. */
function withProbe<T>(suffix: string, text: string, f: (relPath: string) => T): T {
  const name = `__lint_probe_${process.pid}_${Math.floor(Math.random() * 1e9)}${suffix}`;
  const relPath = path.join('src', 'raft', name);
  const absPath = path.join(root, relPath);
  assert.equal(fs.existsSync(absPath), false);
  try {
    fs.writeFileSync(absPath, text, { flag: 'wx' });
    return f(relPath);
  } finally {
    fs.rmSync(absPath, { force: true });
    assert.equal(fs.existsSync(absPath), false, `probe ${relPath} was not removed`);
  }
}

test('purity lint: the script exists where the test expects the project root', () => {
  assert.ok(fs.existsSync(script), `missing ${script}`);
});

test('purity lint: every banned construct in a pure folder is reported, with its position', () => {
  const probe = [
    "import fs from 'node:fs';",
    'Date.now();',
    'Math.random();',
    'setTimeout(() => {}, 1);',
    'async function f() {}',
    '',
  ].join('\n');
  withProbe('.ts', probe, (rel) => {
    const run = runLint();
    assert.equal(run.status, 1, run.output);
    const lines = run.output.split('\n').filter((l) => l.includes(rel));
    const expected: [string, RegExp][] = [
      [`${rel}:1:1`, /imports 'node:fs'/],
      [`${rel}:2:1`, /uses 'Date'/],
      [`${rel}:3:1`, /Math\.random/],
      [`${rel}:4:1`, /uses 'setTimeout'/],
      [`${rel}:5:1`, /async function/],
    ];
    for (const [where, what] of expected) {
      assert.ok(lines.some((l) => l.includes(where) && what.test(l)), `expected ${where} ${what} in:\n${run.output}`);
    }
    assert.equal(lines.length, expected.length, `exactly the five violations:\n${lines.join('\n')}`);
  });
});

test('purity lint: await, dynamic import, process, timers through globalThis and package imports are reported', () => {
  const probe = [
    "import ts from 'typescript';",
    'export function g(): unknown { return process.env; }',
    "export const h = () => import('./types.js');",
    'export const k = globalThis;',
    'export const p = Promise.resolve(1);',
    '',
  ].join('\n');
  withProbe('.ts', probe, (rel) => {
    const run = runLint();
    assert.equal(run.status, 1, run.output);
    for (const what of [/imports 'typescript'/, /uses 'process'/, /dynamic import/, /uses 'globalThis'/, /uses 'Promise'/]) {
      assert.ok(run.output.split('\n').some((l) => l.includes(rel) && what.test(l)), `expected ${what} in:\n${run.output}`);
    }
  });
});

test('purity lint: mentions in comments, strings and property names are not violations', () => {
  const probe = [
    '// Date.now() and Math.random() and setTimeout in a comment',
    "export const s = 'node:fs Date process setTimeout async';",
    'export const o = { Date: 1, process: 2 };',
    'export const d = o.Date + o.process;',
    'export interface I { setTimeout: number }',
    '',
  ].join('\n');
  withProbe('.ts', probe, (rel) => {
    const run = runLint();
    assert.ok(!run.output.includes(rel), `false positives:\n${run.output}`);
  });
});

test('purity lint: test files beside pure code are exempt', () => {
  withProbe('.test.ts', "import fs from 'node:fs';\nDate.now();\n", (rel) => {
    const run = runLint();
    assert.ok(!run.output.includes(rel), run.output);
  });
});

test('purity lint: the tree passes (exit 0)', () => {
  const run = runLint();
  assert.equal(run.status, 0, run.output);
  assert.match(run.output, /purity lint: ok/);
});
