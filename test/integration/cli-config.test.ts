import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { MEMBER_FLAGS } from '../../src/server/config.js';

/**
 * `concord` as a real process: bad flags, environment and config files exit with code 2 and one
 * line on stderr; version and help work. No member starts in any of these runs.
 */

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const mainJs = path.join(root, 'dist/src/cli/main.js');
const tempDir = mkdtempSync(path.join(tmpdir(), 'concord-cli-config-'));
after(() => rmSync(tempDir, { recursive: true, force: true }));

/** A clean environment: no CONCORD_* variables from the developer's shell. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('CONCORD_')) env[key] = value;
  return { ...env, ...extra };
}

function concord(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [mainJs, ...args], { env: cleanEnv(env), encoding: 'utf8', timeout: 30_000, cwd: tempDir });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** usageError asserts exit code 2, nothing on stdout and exactly `concord: <message>` on stderr. */
function usageError(args: string[], message: string, env: NodeJS.ProcessEnv = {}): void {
  const result = concord(args, env);
  assert.equal(result.stderr, `concord: ${message}\n`);
  assert.equal(result.stdout, '');
  assert.equal(result.status, 2);
}

describe('concord start: bad configuration exits 2 with one line', () => {
  test('bad --initial-cluster-state', () => {
    usageError(['start', '--initial-cluster-state', 'neww'], 'invalid --initial-cluster-state "neww": expected "new" or "existing"');
  });
  test('--flag=value form', () => {
    usageError(['start', '--initial-cluster-state=neww'], 'invalid --initial-cluster-state "neww": expected "new" or "existing"');
  });
  test('unknown flag', () => {
    usageError(['start', '--enable-v2'], 'unknown flag --enable-v2 (see "concord help start")');
  });
  test('missing value', () => {
    usageError(['start', '--name'], 'missing value for --name (write --name=VALUE; a value may start with "-" only in that form)');
  });
  test('this member missing from --initial-cluster', () => {
    usageError(['start', '--name', 'm4', '--initial-cluster', 'm1=http://10.0.0.1:2380'],
      'invalid --initial-cluster "m1=http://10.0.0.1:2380": no entry for this member\'s --name "m4" (members: m1)');
  });
  test('bad environment variable', () => {
    usageError(['start'], 'invalid CONCORD_ELECTION_TIMEOUT "300": must be at least 5 x the heartbeat interval (100 ms), i.e. >= 500',
      { CONCORD_ELECTION_TIMEOUT: '300' });
  });
  test('a flag beats a bad environment variable', () => {
    usageError(['start', '--initial-cluster-state=existing', '--log-level=loud'],
      'invalid --log-level "loud": expected one of debug, info, warn, error',
      { CONCORD_INITIAL_CLUSTER_STATE: 'neww', CONCORD_LOG_LEVEL: 'debug' });
  });
  test('bad config file key', () => {
    const file = path.join(tempDir, 'etcd.yml');
    writeFileSync(file, 'name: m1\nenable-v2: true\n');
    usageError(['start', '--config-file', file],
      `unknown key "enable-v2" in config file "${file}" (supported: ${MEMBER_FLAGS.join(', ')})`);
  });
  test('bad config file value via CONCORD_CONFIG_FILE', () => {
    const file = path.join(tempDir, 'bad-url.yml');
    writeFileSync(file, 'listen-peer-urls: http://10.0.0.1\n');
    usageError(['start'], `invalid listen-peer-urls "http://10.0.0.1" in config file "${file}": URL must have a port, e.g. http://10.0.0.1:2380`,
      { CONCORD_CONFIG_FILE: file });
  });
});

describe('concord: commands', () => {
  test('unknown command exits 2', () => {
    usageError(['frobnicate'], 'unknown command "frobnicate" (see "concord help")');
  });
  test('dev: bad --base-port exits 2', () => {
    usageError(['dev', '--base-port', '40000'],
      'invalid --base-port "40000": expected an integer from 1 to 35534 (the members use it, +1, +20000, +20001, +30000 and +30001)');
  });
  test('dev: unknown flag exits 2', () => {
    usageError(['dev', '--members=5'], 'unknown flag --members (see "concord help dev")');
  });
  test('version', () => {
    const result = concord(['version']);
    assert.equal(result.status, 0);
    assert.match(result.stdout, /^concord \d+\.\d+\.\d+\n$/);
  });
  test('help lists the commands; help start lists every flag', () => {
    const main = concord(['help']);
    assert.equal(main.status, 0);
    for (const command of ['start', 'dev', 'version', 'help']) assert.match(main.stdout, new RegExp(`^  ${command} `, 'm'));
    const start = concord(['help', 'start']);
    assert.equal(start.status, 0);
    for (const flag of [...MEMBER_FLAGS, 'config-file']) assert.match(start.stdout, new RegExp(`^  --${flag} `, 'm'));
    assert.equal(concord(['start', '--help']).stdout, start.stdout);
    assert.equal(concord(['help', 'dev']).status, 0);
  });
});
