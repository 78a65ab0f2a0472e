import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MALLOC_TUNABLES, hasMallocTunables, memberProcessEnv } from './member-process-env.js';

const ours = Object.entries(MALLOC_TUNABLES).map(([k, v]) => `${k}=${v}`).join(':');

test('member process env: the malloc tunables are added to an environment without them', () => {
  const env = memberProcessEnv({ PATH: '/bin' });
  assert.equal(env['GLIBC_TUNABLES'], ours);
  assert.equal(env['PATH'], '/bin');
  assert.ok(hasMallocTunables(env));
  assert.ok(!hasMallocTunables({ PATH: '/bin' }));
});

test('member process env: the operator\'s tunables stay, theirs win for the same name', () => {
  const env = memberProcessEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=1048576' });
  const items = env['GLIBC_TUNABLES']!.split(':');
  assert.ok(items.includes('glibc.malloc.arena_max=2'));
  assert.ok(items.includes('glibc.malloc.trim_threshold=1048576'), 'the operator chose the trim threshold');
  assert.equal(items.filter((i) => i.startsWith('glibc.malloc.trim_threshold=')).length, 1);
  assert.ok(items.includes(`glibc.malloc.mmap_threshold=${MALLOC_TUNABLES['glibc.malloc.mmap_threshold']}`));
  assert.ok(!hasMallocTunables({ GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=1' }), 'one of two is not all');
});

test('member process env: CONCORD_MALLOC_TUNABLES=off leaves the environment as it is', () => {
  const env = { CONCORD_MALLOC_TUNABLES: 'off', PATH: '/bin' };
  assert.deepEqual(memberProcessEnv(env), env);
});
