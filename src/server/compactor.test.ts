import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MvccStore, applyKvCommand, decodeKvCommand, type KvApplyResult } from '../kv/index.js';
import { nullLogger } from '../lib/logger.js';
import { Compactor } from './compactor.js';

const text = new TextEncoder();

function setup(mode: 'periodic' | 'revision', retention: number, intervalMs?: number) {
  const store = new MvccStore();
  let nowMs = 0;
  const proposed: number[] = [];
  const propose = async (command: Uint8Array): Promise<KvApplyResult> => {
    const decoded = decodeKvCommand(command);
    if (decoded.type === 'compact') proposed.push(decoded.request.revision);
    return applyKvCommand(store, decoded);
  };
  const compactor = new Compactor(mode, retention, () => store, propose, () => nowMs, nullLogger, intervalMs);
  const write = (n: number): void => {
    for (let i = 0; i < n; i++) store.put({ key: text.encode(`k${i % 7}`), value: text.encode('v') });
  };
  return { store, compactor, proposed, write, advance: (ms: number) => { nowMs += ms; } };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('revision mode keeps the last N revisions, only on the leader', async () => {
  const { store, compactor, proposed, write, advance } = setup('revision', 10, 1000);
  write(50);
  compactor.setLeader(false);
  advance(5000);
  compactor.tick();
  assert.deepEqual(proposed, [], 'a follower never compacts');
  compactor.setLeader(true);
  advance(1000);
  compactor.tick();
  await settle();
  assert.deepEqual(proposed, [store.currentRevision - 10]);
  assert.equal(store.compactRevision, store.currentRevision - 10);
  advance(1000);
  compactor.tick();
  await settle();
  assert.equal(proposed.length, 1, 'nothing new to compact');
});

test('periodic mode compacts to the revision of one retention ago', async () => {
  const { store, compactor, proposed, write, advance } = setup('periodic', 10_000);
  compactor.setLeader(true);
  const revisions: number[] = [];
  for (let second = 0; second <= 25; second++) {
    write(3);
    revisions[second] = store.currentRevision;
    compactor.tick();
    await settle();
    advance(1000);
  }
  assert.ok(proposed.length >= 2, `compacted ${proposed.length} times`);
  // Every compaction target is a revision sampled at least 10 s before it was proposed.
  const last = proposed[proposed.length - 1]!;
  assert.ok(last <= revisions[15]!, `kept at least 10 s of history: ${last} vs ${revisions[15]}`);
  assert.ok(last >= revisions[10]!, `but no more than about a retention and an interval: ${last} vs ${revisions[10]}`);
});

test('retention 0 turns auto compaction off', async () => {
  const { compactor, proposed, write, advance } = setup('revision', 0, 1);
  compactor.setLeader(true);
  write(100);
  advance(10_000);
  compactor.tick();
  await settle();
  assert.deepEqual(proposed, []);
});
