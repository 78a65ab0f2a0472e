import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MvccStore, applyKvCommand, decodeKvCommand, type KvApplyResult, type KvCommand } from '../kv/index.js';
import { nullLogger } from '../lib/logger.js';
import { Lessor } from './lessor.js';

function setup() {
  const store = new MvccStore({ limits: { leaseTtlSecondsMin: 1 } });
  let nowMs = 1_000_000;
  const proposals: KvCommand[] = [];
  let lessor!: Lessor;
  const apply = (command: KvCommand): KvApplyResult => {
    const result = applyKvCommand(store, command);
    lessor.onApplied(command, result);
    return result;
  };
  const propose = async (bytes: Uint8Array): Promise<KvApplyResult> => {
    const command = decodeKvCommand(bytes);
    proposals.push(command);
    return apply(command);
  };
  lessor = new Lessor(() => store, () => nowMs, propose, nullLogger, { checkpointIntervalMs: 5_000, promoteGraceMs: 1_000 });
  const grant = (ttl: number): bigint => {
    const r = apply({ type: 'leaseGrant', request: { ttl } });
    assert.ok(r.ok && r.result.type === 'leaseGrant');
    return r.result.response.id;
  };
  return { store, lessor, proposals, apply, grant, advance: (ms: number) => { nowMs += ms; } };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('the leader revokes an expired lease; a follower never does', async () => {
  const { lessor, proposals, grant, advance, store } = setup();
  const id = grant(10);
  advance(11_000);
  lessor.tick();
  assert.equal(proposals.length, 0, 'not primary: nothing proposed');
  lessor.setPrimary(true);
  lessor.tick();
  // Promotion gives a grace period: not yet.
  assert.equal(proposals.filter((p) => p.type === 'leaseRevoke').length, 0);
  advance(1_500);
  lessor.tick();
  await settle();
  assert.equal(proposals.filter((p) => p.type === 'leaseRevoke').length, 1);
  assert.equal(store.leaseInfo(id), undefined);
});

test('keep-alive renews through the log and reports the TTL', async () => {
  const { lessor, grant, advance, proposals } = setup();
  lessor.setPrimary(true);
  const id = grant(10);
  advance(8_000);
  assert.equal(await lessor.keepAlive(id), 10);
  assert.equal(lessor.remainingTtlSeconds(id), 10);
  advance(8_000);
  lessor.tick();
  await settle();
  assert.equal(proposals.filter((p) => p.type === 'leaseRevoke').length, 0, 'renewed, so alive at 16 s');
  assert.equal(await lessor.keepAlive(12345n), 0, 'an unknown lease answers TTL 0');
});

test('a checkpoint applied after a keep-alive never shortens the lease', () => {
  const { lessor, grant, advance, apply } = setup();
  const id = grant(10);
  advance(9_000);
  // A periodic checkpoint computed now (1 s left) ...
  const stale: KvCommand = { type: 'leaseCheckpoint', request: { checkpoints: [{ id, remainingTtl: 1 }] } };
  // ... a keep-alive is applied first ...
  apply({ type: 'leaseCheckpoint', request: { checkpoints: [{ id, remainingTtl: 10 }] } });
  // ... then the stale checkpoint.
  apply(stale);
  assert.equal(lessor.remainingTtlSeconds(id), 10);
});

test('periodic checkpoints cover every lease, in bounded commands', async () => {
  const { lessor, grant, advance, proposals } = setup();
  const ids = Array.from({ length: 2_500 }, () => grant(60));
  lessor.setPrimary(true);
  advance(5_000);
  lessor.tick();
  await settle();
  const checkpoints = proposals.filter((p) => p.type === 'leaseCheckpoint');
  assert.equal(checkpoints.length, 3);
  const covered = new Set(checkpoints.flatMap((p) => (p.type === 'leaseCheckpoint' ? p.request.checkpoints.map((c) => c.id) : [])));
  assert.equal(covered.size, ids.length);
});
