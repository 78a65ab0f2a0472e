import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeKvCommand, encodeKvCommand, KV_COMMAND_SESSION_VERSION } from './command-codec.js';
import { applyKvCommand, type KvApplyResult, type KvCommand } from './kv-command.js';
import { KvErrorCode } from './kv-errors.js';
import { MvccStore } from './mvcc-store.js';
import { SESSION_RESULTS_MAX, type CommandSession } from './session-table.js';
import { encodeStoreSnapshot, restoreStoreSnapshot } from './store-snapshot.js';
import { b, plainKvs, str, unwrap } from './testing.js';
import { CompareResult } from './types.js';

const LEASE = 7n;

function storeWithLease(): MvccStore {
  const store = new MvccStore();
  unwrap(store.leaseGrant({ ttl: 60, id: LEASE }));
  return store;
}

function session(seq: number, ack = 0, clientId = 'client-a', lease = LEASE): CommandSession {
  return { clientId, lease, seq, ack };
}

/** casIncrement is the txn a counter client sends: if value == n then put n + 1. */
function casIncrement(n: number): KvCommand {
  return {
    type: 'txn',
    request: {
      compare: [{ result: CompareResult.Equal, key: b('counter'), target: 'value', value: b(String(n)) }],
      success: [{ type: 'put', request: { key: b('counter'), value: b(String(n + 1)) } }],
      failure: [{ type: 'range', request: { key: b('counter') } }],
    },
  };
}

function errorCode(r: KvApplyResult): string {
  assert.ok(!r.ok, 'expected an error');
  return r.error.code;
}

test('session: the same command applied twice with the same session/seq changes state once, same response', () => {
  const store = storeWithLease();
  unwrap(store.put({ key: b('counter'), value: b('0') }));
  const command = { ...casIncrement(0), session: session(1) };
  const first = applyKvCommand(store, command);
  assert.ok(first.ok && first.events.length === 1);
  const revision = store.currentRevision;
  const again = applyKvCommand(store, command);
  assert.ok(again.ok);
  assert.deepEqual(again.result, first.result, 'answered from the record');
  assert.deepEqual(again.events, [], 'no events the second time');
  assert.equal(store.currentRevision, revision, 'no new revision');
  assert.equal(str(unwrap(store.range({ key: b('counter') })).kvs[0]!.value), '1');
  // Without a session the same txn would now fail its compare: the record is what answered.
  const plain = applyKvCommand(store, casIncrement(0));
  assert.ok(plain.ok && plain.result.type === 'txn' && !plain.result.response.succeeded);
});

test('session: the record survives snapshot + restore (a retry after a restart is still answered once)', () => {
  const store = storeWithLease();
  const command: KvCommand = { type: 'put', request: { key: b('k'), value: b('v'), prevKv: true }, session: session(1) };
  const first = applyKvCommand(store, command);
  applyKvCommand(store, { type: 'put', request: { key: b('k'), value: b('w') } });
  applyKvCommand(store, { type: 'sequencerNext', request: { name: b('n'), count: 3 }, session: session(2) });
  applyKvCommand(store, { ...casIncrement(5), session: session(3) });
  applyKvCommand(store, { type: 'deleteRange', request: { key: b('k'), prevKv: true }, session: session(4) });
  applyKvCommand(store, { type: 'put', request: { key: b('x'), lease: 99n }, session: session(5) });
  const snapshot = encodeStoreSnapshot(store);
  const restored = restoreStoreSnapshot(snapshot);
  assert.deepEqual(encodeStoreSnapshot(restored), snapshot, 'canonical');
  assert.deepEqual(plainKvs(restored.sessions.export()), plainKvs(store.sessions.export()));
  const again = applyKvCommand(restored, command);
  assert.ok(first.ok && again.ok);
  assert.deepEqual(plainKvs(again.result), plainKvs(first.result));
  assert.equal(errorCode(applyKvCommand(restored, { type: 'put', request: { key: b('x'), lease: 99n }, session: session(5) })), KvErrorCode.LeaseNotFound);
});

test('session: a failed command is recorded too: its retry fails the same way even once it could succeed', () => {
  const store = storeWithLease();
  const command: KvCommand = { type: 'put', request: { key: b('k'), lease: 42n }, session: session(1) };
  assert.equal(errorCode(applyKvCommand(store, command)), KvErrorCode.LeaseNotFound);
  unwrap(store.leaseGrant({ ttl: 60, id: 42n }));
  assert.equal(errorCode(applyKvCommand(store, command)), KvErrorCode.LeaseNotFound);
  assert.equal(unwrap(store.range({ key: b('k') })).count, 0);
});

test('session: sequencer Next retried returns the same numbers and takes no more', () => {
  const store = storeWithLease();
  const command: KvCommand = { type: 'sequencerNext', request: { name: b('ids'), count: 10 }, session: session(1) };
  const first = applyKvCommand(store, command);
  const again = applyKvCommand(store, command);
  assert.ok(first.ok && again.ok);
  assert.deepEqual(again.result, first.result);
  assert.equal(store.sequencers.lastOf(b('ids')), 10);
});

test('session: requests at or below the acknowledged seq get a clear error, never a second apply', () => {
  const store = storeWithLease();
  unwrap(store.put({ key: b('counter'), value: b('0') }));
  assert.ok(applyKvCommand(store, { ...casIncrement(0), session: session(1) }).ok);
  assert.ok(applyKvCommand(store, { ...casIncrement(1), session: session(3, 1) }).ok, 'out of order seqs are fine');
  assert.ok(applyKvCommand(store, { ...casIncrement(2), session: session(2, 1) }).ok);
  const revision = store.currentRevision;
  assert.equal(errorCode(applyKvCommand(store, { ...casIncrement(0), session: session(1, 0) })), KvErrorCode.SessionSeqTooOld);
  assert.ok(applyKvCommand(store, { ...casIncrement(1), session: session(3, 1) }).ok, 'seq 3 > ack is still answered');
  assert.equal(store.currentRevision, revision);
  assert.equal(store.sessions.export()[0]!.floor, 1);
  assert.deepEqual(store.sessions.export()[0]!.results.map((r) => r.seq), [2, 3]);
});

test('session: bound to an existing lease; dropped in the apply that revokes it', () => {
  const store = storeWithLease();
  const put = (seq: number, lease = LEASE): KvApplyResult =>
    applyKvCommand(store, { type: 'put', request: { key: b('k'), value: b(String(seq)) }, session: session(seq, 0, 'client-a', lease) });
  assert.equal(errorCode(put(1, 8n)), KvErrorCode.SessionLeaseNotFound);
  assert.equal(store.sessions.size, 0);
  assert.ok(put(1).ok);
  assert.equal(errorCode(put(2, 9n)), KvErrorCode.SessionLeaseMismatch, 'one lease per client id');
  const revision = store.currentRevision;
  unwrap(store.leaseRevoke({ id: LEASE }));
  assert.equal(store.sessions.has('client-a'), false);
  assert.equal(store.sessions.size, 0);
  assert.equal(errorCode(put(1)), KvErrorCode.SessionLeaseNotFound, 'a retry after expiry is refused, not applied again');
  assert.equal(store.currentRevision, revision);
  // Revoking through the replicated command (what the leader proposes on expiry) does the same.
  unwrap(store.leaseGrant({ ttl: 60, id: LEASE }));
  assert.ok(put(1).ok);
  assert.ok(applyKvCommand(store, { type: 'leaseRevoke', request: { id: LEASE } }).ok);
  assert.equal(store.sessions.size, 0);
});

test('session: bounded: past SESSION_RESULTS_MAX unacknowledged results the lowest seq is evicted', () => {
  const store = storeWithLease();
  const total = SESSION_RESULTS_MAX + 10;
  for (let seq = 1; seq <= total; seq++) {
    assert.ok(applyKvCommand(store, { type: 'put', request: { key: b('k'), value: b(String(seq)) }, session: session(seq) }).ok);
  }
  const state = store.sessions.export()[0]!;
  assert.equal(state.results.length, SESSION_RESULTS_MAX);
  assert.equal(state.floor, 10);
  const revision = store.currentRevision;
  assert.equal(errorCode(applyKvCommand(store, { type: 'put', request: { key: b('k'), value: b('1') }, session: session(1) })), KvErrorCode.SessionSeqTooOld);
  assert.ok(applyKvCommand(store, { type: 'put', request: { key: b('k'), value: b('11') }, session: session(11) }).ok);
  assert.equal(store.currentRevision, revision, 'evicted and retained retries both leave the state alone');
  // Acknowledging shrinks the record.
  assert.ok(applyKvCommand(store, { type: 'put', request: { key: b('k'), value: b('x') }, session: session(total + 1, total) }).ok);
  assert.equal(store.sessions.export()[0]!.results.length, 1);
});

test('session: plain commands (no session) are unaffected and never touch the table', () => {
  const store = storeWithLease();
  const command: KvCommand = { type: 'put', request: { key: b('k'), value: b('v') } };
  applyKvCommand(store, command);
  applyKvCommand(store, command);
  assert.equal(unwrap(store.range({ key: b('k') })).kvs[0]!.version, 2);
  assert.equal(store.sessions.size, 0);
});

test('session: sessioned commands round-trip through the codec (layout version 2)', () => {
  const commands: KvCommand[] = [
    { type: 'put', request: { key: b('k'), value: b('v') }, session: session(1) },
    { ...casIncrement(3), session: { clientId: 'ünïcode-id', lease: (1n << 62n) + 5n, seq: Number.MAX_SAFE_INTEGER, ack: 17 } },
    { type: 'sequencerNext', request: { name: b('n'), count: 0 }, session: session(9, 8), revision: 12 },
    { type: 'compact', request: { revision: 3 }, session: session(2) },
    { type: 'deleteRange', request: { key: b('a'), rangeEnd: b('b') }, session: session(4, 2) },
  ];
  for (const command of commands) {
    const bytes = encodeKvCommand(command);
    assert.equal(bytes[0], KV_COMMAND_SESSION_VERSION);
    assert.deepEqual(decodeKvCommand(bytes), command);
  }
});
