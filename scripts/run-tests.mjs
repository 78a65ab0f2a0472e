#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with the Node test runner.
//   node scripts/run-tests.mjs [--rewrite] [substring ...]
// --rewrite regenerates the expected traces of the interaction scripts (test/raft/testdata).
// Substrings select test files whose path contains one of them; without any, every test file
// except the opt-in suites under test/compat runs.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const args = process.argv.slice(2);
const rewrite = args.includes('--rewrite');
const filters = args.filter((a) => a !== '--rewrite');

function find(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? find(p) : e.name.endsWith('.test.js') ? [p] : [];
  });
}

// Suites that need outside programs (etcdctl) run only when asked for by name (npm run test:compat).
const optIn = ['/test/compat/'];
const files = find(path.join(root, 'dist'))
  .filter((f) => filters.length === 0 ? !optIn.some((o) => f.includes(o)) : filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files found under dist/ (did the build run?)');
  process.exit(1);
}
const env = { ...process.env, ...(rewrite ? { CONCORD_REWRITE: '1' } : {}) };
// A hung test fails (after TEST_TIMEOUT_MS) instead of holding the whole run.
const TEST_TIMEOUT_MS = 10 * 60 * 1000;
const result = spawnSync(process.execPath, ['--enable-source-maps', '--test', `--test-timeout=${TEST_TIMEOUT_MS}`, ...files], {
  stdio: 'inherit',
  env,
  cwd: root,
});
process.exit(result.status ?? 1);
