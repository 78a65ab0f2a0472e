/** Tests of the method table and the gateway routes against etcd 3.4's service definitions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findGatewayRoute, findMethod, GATEWAY_ROUTES, METHODS, type MethodPath } from './index.js';

const EXPECTED_SERVICES: Record<string, string[]> = {
  'etcdserverpb.KV': ['Range', 'Put', 'DeleteRange', 'Txn', 'Compact'],
  'etcdserverpb.Watch': ['Watch'],
  'etcdserverpb.Lease': ['LeaseGrant', 'LeaseRevoke', 'LeaseKeepAlive', 'LeaseTimeToLive', 'LeaseLeases'],
  'etcdserverpb.Cluster': ['MemberAdd', 'MemberRemove', 'MemberUpdate', 'MemberList', 'MemberPromote'],
  'etcdserverpb.Maintenance': ['Alarm', 'Status', 'Defragment', 'Hash', 'HashKV', 'Snapshot', 'MoveLeader'],
  'etcdserverpb.Auth': [
    'AuthEnable', 'AuthDisable', 'Authenticate', 'UserAdd', 'UserGet', 'UserList', 'UserDelete', 'UserChangePassword',
    'UserGrantRole', 'UserRevokeRole', 'RoleAdd', 'RoleGet', 'RoleList', 'RoleDelete', 'RoleGrantPermission', 'RoleRevokePermission',
  ],
  'v3lockpb.Lock': ['Lock', 'Unlock'],
  'v3electionpb.Election': ['Campaign', 'Proclaim', 'Leader', 'Observe', 'Resign'],
  'grpc.health.v1.Health': ['Check', 'Watch'],
  // Concord's own extension (docs/sequencer.md).
  'concord.v1.Sequencer': ['Next'],
};

test('methods: every rpc of etcd 3.4, grpc.health.v1 and concord.v1 is in the table, in order', () => {
  const actual: Record<string, string[]> = {};
  for (const m of Object.values(METHODS)) (actual[m.service] ??= []).push(m.name);
  assert.deepStrictEqual(actual, EXPECTED_SERVICES);
  for (const [path, m] of Object.entries(METHODS)) assert.equal(path, `/${m.service}/${m.name}`);
});

test('methods: streaming kinds and codecs', () => {
  const kinds = Object.fromEntries(Object.values(METHODS).filter((m) => m.kind !== 'unary').map((m) => [m.path, m.kind]));
  assert.deepStrictEqual(kinds, {
    '/etcdserverpb.Watch/Watch': 'bidi',
    '/etcdserverpb.Lease/LeaseKeepAlive': 'bidi',
    '/etcdserverpb.Maintenance/Snapshot': 'server-stream',
    '/v3electionpb.Election/Observe': 'server-stream',
    '/grpc.health.v1.Health/Watch': 'server-stream',
  });
  const range = METHODS['/etcdserverpb.KV/Range'];
  assert.equal(range.request.typeName, 'etcdserverpb.RangeRequest');
  assert.equal(range.response.typeName, 'etcdserverpb.RangeResponse');
  const decoded = range.request.decode(new Uint8Array([0x0a, 0x01, 0x61, 0x18, 0x05]));
  assert.equal(decoded.limit, 5n); // typed: RangeRequest
  assert.equal(METHODS['/v3electionpb.Election/Observe'].request.typeName, 'v3electionpb.LeaderRequest');
  assert.equal(findMethod('/etcdserverpb.KV/Put'), METHODS['/etcdserverpb.KV/Put']);
  assert.equal(findMethod('/etcdserverpb.KV/Nope'), undefined);
  assert.equal(findMethod('toString'), undefined);
});

test('methods: gateway routes are etcd 3.4 paths, first registration wins, plus /v3/maintenance/hashkv', () => {
  const routes = Object.fromEntries(GATEWAY_ROUTES.map((r) => [r.httpPath, r.method.path]));
  const expected: Record<string, MethodPath> = {
    '/v3/concord/sequencer/next': '/concord.v1.Sequencer/Next',
    '/v3/kv/range': '/etcdserverpb.KV/Range',
    '/v3/kv/put': '/etcdserverpb.KV/Put',
    '/v3/kv/deleterange': '/etcdserverpb.KV/DeleteRange',
    '/v3/kv/txn': '/etcdserverpb.KV/Txn',
    '/v3/kv/compaction': '/etcdserverpb.KV/Compact',
    '/v3/watch': '/etcdserverpb.Watch/Watch',
    '/v3/lease/grant': '/etcdserverpb.Lease/LeaseGrant',
    '/v3/lease/revoke': '/etcdserverpb.Lease/LeaseRevoke',
    '/v3/kv/lease/revoke': '/etcdserverpb.Lease/LeaseRevoke',
    '/v3/lease/keepalive': '/etcdserverpb.Lease/LeaseKeepAlive',
    '/v3/lease/timetolive': '/etcdserverpb.Lease/LeaseTimeToLive',
    '/v3/kv/lease/timetolive': '/etcdserverpb.Lease/LeaseTimeToLive',
    '/v3/lease/leases': '/etcdserverpb.Lease/LeaseLeases',
    '/v3/kv/lease/leases': '/etcdserverpb.Lease/LeaseLeases',
    '/v3/cluster/member/add': '/etcdserverpb.Cluster/MemberAdd',
    '/v3/cluster/member/remove': '/etcdserverpb.Cluster/MemberRemove',
    '/v3/cluster/member/update': '/etcdserverpb.Cluster/MemberUpdate',
    '/v3/cluster/member/list': '/etcdserverpb.Cluster/MemberList',
    '/v3/cluster/member/promote': '/etcdserverpb.Cluster/MemberPromote',
    '/v3/maintenance/alarm': '/etcdserverpb.Maintenance/Alarm',
    '/v3/maintenance/status': '/etcdserverpb.Maintenance/Status',
    '/v3/maintenance/defragment': '/etcdserverpb.Maintenance/Defragment',
    '/v3/maintenance/hash': '/etcdserverpb.Maintenance/Hash',
    '/v3/maintenance/snapshot': '/etcdserverpb.Maintenance/Snapshot',
    '/v3/maintenance/transfer-leadership': '/etcdserverpb.Maintenance/MoveLeader',
    '/v3/auth/enable': '/etcdserverpb.Auth/AuthEnable',
    '/v3/auth/disable': '/etcdserverpb.Auth/AuthDisable',
    '/v3/auth/authenticate': '/etcdserverpb.Auth/Authenticate',
    '/v3/auth/user/add': '/etcdserverpb.Auth/UserAdd',
    '/v3/auth/user/get': '/etcdserverpb.Auth/UserGet',
    '/v3/auth/user/list': '/etcdserverpb.Auth/UserList',
    '/v3/auth/user/delete': '/etcdserverpb.Auth/UserDelete',
    '/v3/auth/user/changepw': '/etcdserverpb.Auth/UserChangePassword',
    '/v3/auth/user/grant': '/etcdserverpb.Auth/UserGrantRole',
    '/v3/auth/user/revoke': '/etcdserverpb.Auth/UserRevokeRole',
    '/v3/auth/role/add': '/etcdserverpb.Auth/RoleAdd',
    '/v3/auth/role/get': '/etcdserverpb.Auth/RoleGet',
    '/v3/auth/role/list': '/etcdserverpb.Auth/RoleList',
    '/v3/auth/role/delete': '/etcdserverpb.Auth/RoleDelete',
    '/v3/auth/role/grant': '/etcdserverpb.Auth/RoleGrantPermission',
    '/v3/auth/role/revoke': '/etcdserverpb.Auth/RoleRevokePermission',
    '/v3/lock/lock': '/v3lockpb.Lock/Lock',
    '/v3/lock/unlock': '/v3lockpb.Lock/Unlock',
    '/v3/election/campaign': '/v3electionpb.Election/Campaign',
    '/v3/election/proclaim': '/v3electionpb.Election/Proclaim',
    '/v3/election/leader': '/v3electionpb.Election/Leader',
    '/v3/election/observe': '/v3electionpb.Election/Observe',
    '/v3/election/resign': '/v3electionpb.Election/Resign',
    '/v3/maintenance/hashkv': '/etcdserverpb.Maintenance/HashKV',
  };
  assert.deepStrictEqual(routes, expected);
  assert.equal(findGatewayRoute('/v3/kv/put')?.method.request.typeName, 'etcdserverpb.PutRequest');
  assert.equal(findGatewayRoute('/v3/nope'), undefined);
});
