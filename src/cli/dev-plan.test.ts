import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseMemberConfig, formatInitialCluster } from '../server/config.js';
import { DEV_BASE_PORT_MAX, parseBasePort, planDevCluster } from './dev-plan.js';

test('planDevCluster: etcd ports, 127.0.0.1, one data dir per member', () => {
  const plan = planDevCluster(2379, '/d');
  assert.deepEqual(plan.map((m) => [m.name, m.clientUrl, m.peerUrl, m.dataDir]), [
    ['m1', 'http://127.0.0.1:2379', 'http://127.0.0.1:2380', '/d/m1'],
    ['m2', 'http://127.0.0.1:22379', 'http://127.0.0.1:22380', '/d/m2'],
    ['m3', 'http://127.0.0.1:32379', 'http://127.0.0.1:32380', '/d/m3'],
  ]);
});

test('planDevCluster: each member\'s flags are a valid config for that member, with the same cluster', () => {
  for (const member of planDevCluster(3000, '/d', 'debug')) {
    const config = parseMemberConfig(member.startArgs, {});
    assert.equal(config.name, member.name);
    assert.equal(config.dataDir, member.dataDir);
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.initialClusterToken, 'concord-dev');
    assert.equal(formatInitialCluster(config.initialCluster),
      'm1=http://127.0.0.1:3001,m2=http://127.0.0.1:23001,m3=http://127.0.0.1:33001');
  }
  assert.ok(!planDevCluster(3000, '/d')[0]!.startArgs.some((arg) => arg.startsWith('--log-level')));
});

test('parseBasePort keeps every port in range', () => {
  assert.equal(parseBasePort('1'), 1);
  assert.equal(parseBasePort(String(DEV_BASE_PORT_MAX)), DEV_BASE_PORT_MAX);
  assert.equal(DEV_BASE_PORT_MAX + 30_001, 65_535);
  for (const bad of ['0', String(DEV_BASE_PORT_MAX + 1), '2379.5', 'x', '']) {
    assert.throws(() => parseBasePort(bad), ConfigError);
  }
});
