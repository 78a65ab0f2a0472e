import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  CONFIG_ERROR_CODE, ConfigError, MEMBER_FLAGS, envVarName, formatInitialCluster, formatUrls, parseMemberConfig, urlPort,
} from './config.js';
import { parseConfigFileText } from './config-file.js';
import type { MemberConfig } from './member-config.js';

const tempDir = mkdtempSync(join(tmpdir(), 'concord-config-test-'));
after(() => rmSync(tempDir, { recursive: true, force: true }));
let fileCount = 0;
function configFile(text: string): string {
  const path = join(tempDir, `c${fileCount++}.yml`);
  writeFileSync(path, text);
  return path;
}

/** rejects asserts parseMemberConfig throws a ConfigError with exactly `message` (one line). */
function rejects(argv: string[], message: string, env: NodeJS.ProcessEnv = {}): void {
  assert.throws(() => parseMemberConfig(argv, env), (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.code, CONFIG_ERROR_CODE);
    assert.equal(error.message, message);
    assert.ok(!error.message.includes('\n'), 'one line');
    return true;
  });
}

/** Plain view of a config for deepEqual (URLs and the map as text). */
function view(config: MemberConfig): Record<string, unknown> {
  return {
    ...config,
    listenClientUrls: formatUrls(config.listenClientUrls),
    advertiseClientUrls: formatUrls(config.advertiseClientUrls),
    listenPeerUrls: formatUrls(config.listenPeerUrls),
    initialAdvertisePeerUrls: formatUrls(config.initialAdvertisePeerUrls),
    initialCluster: formatInitialCluster(config.initialCluster),
  };
}

const THREE = 'm1=http://10.0.0.1:2380,m2=http://10.0.0.2:2380,m3=http://10.0.0.3:2380';
const M1_FLAGS = [
  '--name', 'm1', '--initial-advertise-peer-urls', 'http://10.0.0.1:2380', '--initial-cluster', THREE,
];

describe('defaults', () => {
  test('no flags gives etcd defaults', () => {
    assert.deepEqual(view(parseMemberConfig([], {})), {
      name: 'default',
      dataDir: 'default.concord',
      listenClientUrls: 'http://localhost:2379',
      advertiseClientUrls: 'http://localhost:2379',
      listenPeerUrls: 'http://localhost:2380',
      initialAdvertisePeerUrls: 'http://localhost:2380',
      initialCluster: 'default=http://localhost:2380',
      initialClusterState: 'new',
      initialClusterToken: 'etcd-cluster',
      heartbeatIntervalMs: 100,
      electionTimeoutMs: 1000,
      snapshotCount: 100000,
      logLevel: 'info',
      autoCompactionMode: 'periodic',
      autoCompactionRetention: 0,
      quotaBackendBytes: 2 * 1024 * 1024 * 1024,
      maxTxnOps: 128,
      maxRequestBytes: 1.5 * 1024 * 1024,
    });
  });

  test('--name alone derives data-dir and initial-cluster from it, as etcd does', () => {
    const config = parseMemberConfig(['--name', 'infra0'], {});
    assert.equal(config.dataDir, 'infra0.concord');
    assert.equal(formatInitialCluster(config.initialCluster), 'infra0=http://localhost:2380');
  });

  test('--initial-cluster defaults from the advertised peer URLs', () => {
    const config = parseMemberConfig(['--name=a', '--initial-advertise-peer-urls=http://h1:7001,http://h2:7001'], {});
    assert.equal(formatInitialCluster(config.initialCluster), 'a=http://h1:7001,a=http://h2:7001');
  });
});

describe('every flag, both spellings', () => {
  const full = [
    ['name', 'm1'],
    ['data-dir', '/var/lib/concord/m1'],
    ['listen-client-urls', 'http://0.0.0.0:2379,https://127.0.0.1:12379'],
    ['advertise-client-urls', 'http://10.0.0.1:2379'],
    ['listen-peer-urls', 'http://0.0.0.0:2380'],
    ['initial-advertise-peer-urls', 'http://10.0.0.1:2380'],
    ['initial-cluster', THREE],
    ['initial-cluster-state', 'existing'],
    ['initial-cluster-token', 'prod-1'],
    ['heartbeat-interval', '50'],
    ['election-timeout', '600'],
    ['snapshot-count', '5000'],
    ['log-level', 'debug'],
    ['auto-compaction-mode', 'revision'],
    ['auto-compaction-retention', '1000'],
    ['quota-backend-bytes', '8589934592'],
    ['max-txn-ops', '256'],
    ['max-request-bytes', '10485760'],
  ] as const;
  const expected = {
    name: 'm1',
    dataDir: '/var/lib/concord/m1',
    listenClientUrls: 'http://0.0.0.0:2379,https://127.0.0.1:12379',
    advertiseClientUrls: 'http://10.0.0.1:2379',
    listenPeerUrls: 'http://0.0.0.0:2380',
    initialAdvertisePeerUrls: 'http://10.0.0.1:2380',
    initialCluster: THREE,
    initialClusterState: 'existing',
    initialClusterToken: 'prod-1',
    heartbeatIntervalMs: 50,
    electionTimeoutMs: 600,
    snapshotCount: 5000,
    logLevel: 'debug',
    autoCompactionMode: 'revision',
    autoCompactionRetention: 1000,
    quotaBackendBytes: 8589934592,
    maxTxnOps: 256,
    maxRequestBytes: 10485760,
  };

  test('the table covers every flag', () => {
    assert.deepEqual(full.map(([flag]) => flag).sort(), [...MEMBER_FLAGS].sort());
  });
  test('--flag value', () => {
    assert.deepEqual(view(parseMemberConfig(full.flatMap(([flag, value]) => [`--${flag}`, value]), {})), expected);
  });
  test('--flag=value', () => {
    assert.deepEqual(view(parseMemberConfig(full.map(([flag, value]) => `--${flag}=${value}`), {})), expected);
  });
  test('CONCORD_* environment variables', () => {
    const env = Object.fromEntries(full.map(([flag, value]) => [envVarName(flag), value]));
    assert.equal(env['CONCORD_INITIAL_CLUSTER'], THREE);
    assert.deepEqual(view(parseMemberConfig([], env)), expected);
  });
  test('config file with etcd keys', () => {
    const path = configFile(full.map(([flag, value]) => `${flag}: '${value}'`).join('\n'));
    assert.deepEqual(view(parseMemberConfig(['--config-file', path], {})), expected);
    assert.deepEqual(view(parseMemberConfig([], { CONCORD_CONFIG_FILE: path })), expected);
  });

  test('periodic retention: a duration or a number of hours, in milliseconds', () => {
    assert.equal(parseMemberConfig(['--auto-compaction-retention=30m'], {}).autoCompactionRetention, 30 * 60_000);
    assert.equal(parseMemberConfig(['--auto-compaction-retention=2'], {}).autoCompactionRetention, 2 * 3_600_000);
    assert.equal(parseMemberConfig(['--auto-compaction-retention=1.5h'], {}).autoCompactionRetention, 5_400_000);
  });
  test('a repeated flag: the last one wins (as with etcd)', () => {
    assert.equal(parseMemberConfig(['--name', 'a', '--name=b'], {}).name, 'b');
  });
  test('a value may start with "-" in the --flag=value form', () => {
    assert.equal(parseMemberConfig(['--data-dir=-odd'], {}).dataDir, '-odd');
  });
  test('URLs keep the port even when it is the scheme default', () => {
    const config = parseMemberConfig(['--listen-client-urls=http://a:80', '--advertise-client-urls=https://a:443'], {});
    assert.equal(formatUrls(config.listenClientUrls), 'http://a:80');
    assert.equal(urlPort(config.advertiseClientUrls[0]!), 443);
  });
  test('IPv6 hosts and a trailing slash are accepted', () => {
    const config = parseMemberConfig(['--listen-client-urls=http://[::1]:2379/', '--advertise-client-urls=http://[::1]:2379'], {});
    assert.equal(formatUrls(config.listenClientUrls), 'http://[::1]:2379');
  });
  test('a member may have several peer URLs, in any order', () => {
    const config = parseMemberConfig(['--name=a', '--initial-advertise-peer-urls=http://h2:1,http://h1:1',
      '--initial-cluster=a=http://h1:1,b=http://h3:1,a=http://h2:1'], {});
    assert.deepEqual([...config.initialCluster.keys()], ['a', 'b']);
    assert.equal(formatUrls(config.initialCluster.get('a')!), 'http://h1:1,http://h2:1');
  });
});

describe('precedence: flags > environment > config file > defaults', () => {
  test('a flag beats the environment, which beats the file', () => {
    const path = configFile('name: from-file\ndata-dir: /file\nlog-level: warn\nsnapshot-count: 7\n');
    const env = { CONCORD_NAME: 'from-env', CONCORD_DATA_DIR: '/env', CONCORD_CONFIG_FILE: path };
    const config = parseMemberConfig(['--name', 'from-flag'], env);
    assert.equal(config.name, 'from-flag');
    assert.equal(config.dataDir, '/env');
    assert.equal(config.logLevel, 'warn');
    assert.equal(config.snapshotCount, 7);
  });
  test('--config-file beats CONCORD_CONFIG_FILE', () => {
    const a = configFile('name: a\n');
    const b = configFile('name: b\n');
    assert.equal(parseMemberConfig([`--config-file=${a}`], { CONCORD_CONFIG_FILE: b }).name, 'a');
  });
  test('an empty environment variable counts as unset', () => {
    assert.equal(parseMemberConfig([], { CONCORD_NAME: '' }).name, 'default');
  });
  test('the data-dir default follows the winning name', () => {
    const path = configFile('name: filed\n');
    assert.equal(parseMemberConfig(['--config-file', path], {}).dataDir, 'filed.concord');
  });
  test('other CONCORD_* variables are ignored', () => {
    assert.equal(parseMemberConfig([], { CONCORD_REWRITE: '1' }).name, 'default');
  });
});

describe('config file shapes', () => {
  test('numbers, sequences and empty (null) keys as in etcd\'s sample file', () => {
    const path = configFile([
      'name: 7', 'heartbeat-interval: 20', 'election-timeout: 200',
      'listen-client-urls:', '  - http://127.0.0.1:1', '  - http://127.0.0.1:2',
      'advertise-client-urls: http://127.0.0.1:1', 'initial-cluster-token:', '',
    ].join('\n'));
    const config = parseMemberConfig(['--config-file', path], {});
    assert.equal(config.name, '7');
    assert.equal(config.heartbeatIntervalMs, 20);
    assert.equal(formatUrls(config.listenClientUrls), 'http://127.0.0.1:1,http://127.0.0.1:2');
    assert.equal(config.initialClusterToken, 'etcd-cluster');
  });
  test('an empty file sets nothing', () => {
    assert.equal(parseMemberConfig(['--config-file', configFile('')], {}).name, 'default');
  });
  test('parseConfigFileText keeps only set keys, as text', () => {
    const values = parseConfigFileText('name: a\nsnapshot-count: 10\ndata-dir: ~\n', 'x.yml', MEMBER_FLAGS).values;
    assert.deepEqual([...values], [['name', 'a'], ['snapshot-count', '10']]);
  });
});

describe('each validation error is one clear line', () => {
  const cases: Array<[string, string[], string, NodeJS.ProcessEnv?]> = [
    ['initial-cluster-state', ['--initial-cluster-state', 'neww'],
      'invalid --initial-cluster-state "neww": expected "new" or "existing"'],
    ['state from env', [], 'invalid CONCORD_INITIAL_CLUSTER_STATE "old": expected "new" or "existing"',
      { CONCORD_INITIAL_CLUSTER_STATE: 'old' }],
    ['unknown flag', ['--enable-v2=true'], 'unknown flag --enable-v2 (see "concord help start")'],
    ['bad compaction mode', ['--auto-compaction-mode=hourly'], 'invalid --auto-compaction-mode "hourly": expected "periodic" or "revision"'],
    ['bad periodic retention', ['--auto-compaction-retention=1 day'],
      'invalid --auto-compaction-retention "1 day": expected a duration such as 30m, 1h or a number of hours'],
    ['bad revision retention', ['--auto-compaction-mode=revision', '--auto-compaction-retention=1h'],
      'invalid --auto-compaction-retention "1h": expected a number of revisions in revision mode'],
    ['short flag', ['-n', 'x'], 'unknown flag -n (see "concord help start")'],
    ['positional', ['m1'], 'unexpected argument "m1" (flags look like --name=value)'],
    ['missing value at the end', ['--name'],
      'missing value for --name (write --name=VALUE; a value may start with "-" only in that form)'],
    ['missing value before a flag', ['--data-dir', '--name', 'x'],
      'missing value for --data-dir (write --data-dir=VALUE; a value may start with "-" only in that form)'],
    ['empty name', ['--name='], 'invalid --name "": expected a non-empty name'],
    ['name with "="', ['--name=a=b'], 'invalid --name "a=b": a name cannot contain spaces, "=", "," or control characters'],
    ['empty data-dir', ['--data-dir='], 'invalid --data-dir "": expected a directory path'],
    ['empty config-file', ['--config-file='], 'invalid --config-file "": expected a file path'],
    ['not a URL', ['--listen-peer-urls', 'localhost:2380'],
      'invalid --listen-peer-urls "localhost:2380": expected a URL like http://10.0.0.1:2380'],
    ['bad scheme', ['--listen-peer-urls', 'unix://x:1'],
      'invalid --listen-peer-urls "unix://x:1": URL scheme must be http or https, not "unix"'],
    ['no port', ['--initial-advertise-peer-urls', 'http://10.0.0.1'],
      'invalid --initial-advertise-peer-urls "http://10.0.0.1": URL must have a port, e.g. http://10.0.0.1:2380'],
    ['port out of range', ['--listen-peer-urls', 'http://h:70000'],
      'invalid --listen-peer-urls "http://h:70000": port 70000 is out of range 1-65535'],
    ['port 0', ['--listen-peer-urls', 'http://h:0'],
      'invalid --listen-peer-urls "http://h:0": port 0 is out of range 1-65535'],
    ['path', ['--listen-peer-urls', 'http://h:1/raft'],
      'invalid --listen-peer-urls "http://h:1/raft": URL must be scheme://host:port with no path, query or credentials'],
    ['credentials', ['--listen-peer-urls', 'http://u:p@h:1'],
      'invalid --listen-peer-urls "http://u:p@h:1": URL must be scheme://host:port with no path, query or credentials'],
    ['empty list element', ['--listen-peer-urls', 'http://h:1,'],
      'invalid --listen-peer-urls "http://h:1,": empty URL (expected e.g. http://10.0.0.1:2380)'],
    ['which URL of a list', ['--listen-peer-urls', 'http://h:1,http://h'],
      'invalid --listen-peer-urls "http://h:1,http://h": "http://h": URL must have a port, e.g. http://10.0.0.1:2380'],
    ['duplicate URL', ['--listen-peer-urls', 'http://h:1,http://H:1'],
      'invalid --listen-peer-urls "http://h:1,http://H:1": http://h:1 is listed twice'],
    ['advertise 0.0.0.0', ['--listen-client-urls=http://0.0.0.0:2379', '--advertise-client-urls=http://0.0.0.0:2379'],
      'invalid --advertise-client-urls "http://0.0.0.0:2379": 0.0.0.0 is not an address others can reach ' +
      '(advertise a host name or IP; only listen URLs may use 0.0.0.0)'],
    ['listen without advertise', ['--listen-client-urls=http://0.0.0.0:2379'],
      '--advertise-client-urls is required when --listen-client-urls is set (etcd\'s rule): give the client URLs as clients reach them'],
    ['listen (env) without advertise', [],
      '--advertise-client-urls is required when CONCORD_LISTEN_CLIENT_URLS is set (etcd\'s rule): give the client URLs as clients reach them',
      { CONCORD_LISTEN_CLIENT_URLS: 'http://0.0.0.0:2379' }],
    ['client and peer on one port', ['--listen-peer-urls=http://localhost:2379'],
      '--listen-client-urls and --listen-peer-urls both use localhost:2379; give them different ports'],
    ['initial-cluster without this member', ['--name', 'm4', '--initial-cluster', THREE],
      `invalid --initial-cluster "${THREE}": no entry for this member's --name "m4" (members: m1, m2, m3)`],
    ['initial-cluster not name=url', ['--initial-cluster', 'http://10.0.0.1:2380'],
      'invalid --initial-cluster "http://10.0.0.1:2380": "http://10.0.0.1:2380" is not name=url ' +
      '(expected e.g. m1=http://10.0.0.1:2380,m2=http://10.0.0.2:2380)'],
    ['initial-cluster bad URL', ['--initial-cluster', 'default=http://localhost'],
      'invalid --initial-cluster "default=http://localhost": member default: URL must have a port, e.g. http://10.0.0.1:2380'],
    ['initial-cluster bad name', ['--initial-cluster', 'a b=http://h:1'],
      'invalid --initial-cluster "a b=http://h:1": member name "a b": a name cannot contain spaces, "=", "," or control characters'],
    ['initial-cluster shared URL', ['--initial-cluster', 'default=http://localhost:2380,b=http://localhost:2380'],
      'invalid --initial-cluster "default=http://localhost:2380,b=http://localhost:2380": peer URL http://localhost:2380 ' +
      'is given for both default and b'],
    ['initial-cluster 0.0.0.0', ['--initial-cluster', 'default=http://0.0.0.0:2380'],
      'invalid --initial-cluster "default=http://0.0.0.0:2380": member default: 0.0.0.0 is not an address peers can reach'],
    ['advertise peer URLs do not match', [...M1_FLAGS.slice(0, 2), '--initial-advertise-peer-urls', 'http://10.0.0.9:2380',
      '--initial-cluster', THREE],
      '--initial-advertise-peer-urls "http://10.0.0.9:2380" does not match m1\'s entry "http://10.0.0.1:2380" in --initial-cluster'],
    ['advertise peer URLs defaulted', ['--name', 'm1', '--initial-cluster', THREE],
      '--initial-advertise-peer-urls "http://localhost:2380" (it was not set; etcd\'s default is used) does not match ' +
      'm1\'s entry "http://10.0.0.1:2380" in --initial-cluster'],
    ['empty token', ['--initial-cluster-token='], 'invalid --initial-cluster-token "": expected a non-empty token'],
    ['heartbeat not a number', ['--heartbeat-interval', '100ms'],
      'invalid --heartbeat-interval "100ms": expected a positive integer (milliseconds)'],
    ['heartbeat zero', ['--heartbeat-interval', '0'], 'invalid --heartbeat-interval "0": expected a positive integer (milliseconds)'],
    ['election negative', ['--election-timeout=-1'], 'invalid --election-timeout "-1": expected a positive integer (milliseconds)'],
    ['election fraction', ['--election-timeout=1000.5'],
      'invalid --election-timeout "1000.5": expected a positive integer (milliseconds)'],
    ['election < 5 x heartbeat', ['--heartbeat-interval', '100', '--election-timeout', '400'],
      'invalid --election-timeout "400": must be at least 5 x the heartbeat interval (100 ms), i.e. >= 500'],
    ['election too long', ['--election-timeout', '50001'], 'invalid --election-timeout "50001": must be at most 50000 milliseconds'],
    ['snapshot-count', ['--snapshot-count', '1e5'], 'invalid --snapshot-count "1e5": expected a positive integer (entries)'],
    ['log-level', ['--log-level', 'trace'], 'invalid --log-level "trace": expected one of debug, info, warn, error'],
  ];
  for (const [title, argv, message, env] of cases) {
    test(title, () => rejects(argv, message, env));
  }

  test('a bad value in the config file names the key and the file', () => {
    const path = configFile('initial-cluster-state: neww\n');
    rejects(['--config-file', path], `invalid initial-cluster-state "neww" in config file "${path}": expected "new" or "existing"`);
  });
  test('a flag overriding a bad file value hides it', () => {
    const path = configFile('initial-cluster-state: neww\n');
    assert.equal(parseMemberConfig(['--config-file', path, '--initial-cluster-state=existing'], {}).initialClusterState, 'existing');
  });
  test('a default that breaks a rule with a given value says it is the default', () => {
    rejects(['--heartbeat-interval', '300'],
      'invalid --election-timeout "1000" (the default): must be at least 5 x the heartbeat interval (300 ms), i.e. >= 1500');
  });
  test('the file named in the error of a cross-field rule', () => {
    const path = configFile('listen-client-urls: http://0.0.0.0:2379\n');
    rejects(['--config-file', path], `--advertise-client-urls is required when listen-client-urls in config file "${path}" ` +
      'is set (etcd\'s rule): give the client URLs as clients reach them');
  });
  test('unknown config file key', () => {
    const path = configFile('enable-v2: true\n');
    rejects(['--config-file', path], `unknown key "enable-v2" in config file "${path}" (supported: ${MEMBER_FLAGS.join(', ')})`);
  });
  test('config file value of the wrong type', () => {
    const path = configFile('name:\n  first: a\n');
    rejects(['--config-file', path], `invalid name in config file "${path}": expected a string or a number, not a mapping`);
  });
  test('config file that is not a mapping', () => {
    const path = configFile('- name\n');
    rejects(['--config-file', path], `invalid config file "${path}": expected a mapping of etcd keys (name: m1, data-dir: ...)`);
  });
  test('config file that is not YAML', () => {
    const path = configFile('name: a\nname: b\n');
    rejects(['--config-file', path], `invalid config file "${path}": Map keys must be unique at line 2, column 1`);
  });
  test('missing config file', () => {
    const path = join(tempDir, 'missing.yml');
    rejects([`--config-file=${path}`], `cannot read config file "${path}": ENOENT`);
  });
});
