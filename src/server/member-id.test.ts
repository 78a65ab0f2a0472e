import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MEMBER_ID_MAX, computeClusterId, computeMemberId, formatMemberId, initialClusterMemberIds } from './member-id.js';
import type { NodeId } from '../raft/types.js';

const urls = (...texts: string[]): URL[] => texts.map((text) => new URL(text));

test('computeMemberId is deterministic, order-free, token-dependent and in [1, 2^53)', () => {
  const a = computeMemberId(urls('http://10.0.0.1:2380', 'http://10.0.0.1:7001'), 'etcd-cluster');
  assert.equal(a, computeMemberId(urls('http://10.0.0.1:7001', 'http://10.0.0.1:2380/'), 'etcd-cluster'));
  assert.notEqual(a, computeMemberId(urls('http://10.0.0.1:2380', 'http://10.0.0.1:7001'), 'other'));
  assert.notEqual(a, computeMemberId(urls('http://10.0.0.1:2380'), 'etcd-cluster'));
  for (let i = 0; i < 1000; i++) {
    const id = computeMemberId(urls(`http://h${i}:2380`), 't');
    assert.ok(Number.isSafeInteger(id) && id >= 1 && id <= MEMBER_ID_MAX);
  }
});

test('ids are pinned (they are stored in WALs: changing the derivation breaks restarts)', () => {
  // Independently: python3 -c "import hashlib; d=hashlib.sha256(b'http://localhost:2380\\netcd-cluster').digest();
  //   print(int.from_bytes(d[:8],'big') % (2**53-1) + 1)"
  assert.equal(computeMemberId(urls('http://localhost:2380'), 'etcd-cluster'), 6761884799000362);
  assert.equal(formatMemberId(6761884799000362 as NodeId), '1805e5fd74df2a');
  assert.equal(computeClusterId([3 as NodeId, 1 as NodeId, 2 as NodeId], 'etcd-cluster'), '523fae6e68729c62');
});

test('computeClusterId is 16 hex chars, order-free, depends on members and token', () => {
  const ids = [5 as NodeId, 9 as NodeId, 1 as NodeId];
  const c = computeClusterId(ids, 't');
  assert.match(c, /^[0-9a-f]{16}$/);
  assert.equal(c, computeClusterId([9 as NodeId, 1 as NodeId, 5 as NodeId], 't'));
  assert.notEqual(c, computeClusterId(ids, 'u'));
  assert.notEqual(c, computeClusterId([5 as NodeId, 9 as NodeId], 't'));
  assert.throws(() => computeClusterId([1 as NodeId, 1 as NodeId], 't'), /duplicate member id/);
});

test('initialClusterMemberIds gives each founding member its id', () => {
  const cluster = new Map([['a', urls('http://h1:1')], ['b', urls('http://h2:1')]]);
  const ids = initialClusterMemberIds(cluster, 't');
  assert.equal(ids.get('a'), computeMemberId(urls('http://h1:1'), 't'));
  assert.equal(ids.size, 2);
  assert.notEqual(ids.get('a'), ids.get('b'));
});
