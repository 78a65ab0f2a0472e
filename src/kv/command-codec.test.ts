import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CodecError } from '../lib/binary.js';
import { decodeKvCommand, encodeKvCommand } from './command-codec.js';
import { applyKvCommand, type KvCommand } from './kv-command.js';
import { MvccStore } from './mvcc-store.js';
import { b } from './testing.js';
import { CompareResult } from './types.js';

const commands: KvCommand[] = [
  { type: 'put', request: { key: b('k'), value: b('value-1') } },
  { type: 'put', request: { key: b('k'), value: b('v'), lease: -5n, prevKv: true }, revision: 9 },
  { type: 'put', request: { key: b('k'), ignoreValue: true, ignoreLease: true },
    session: { clientId: 'c', lease: 1n, seq: 3, ack: 2 } },
  { type: 'deleteRange', request: { key: b('a'), rangeEnd: b('z'), prevKv: false } },
  { type: 'range', request: { key: b('a'), rangeEnd: Uint8Array.of(0), limit: 3, revision: -1 } },
  { type: 'txn', request: {
    compare: [{ result: CompareResult.Equal, target: 'value', key: b('k'), value: b('old') }],
    success: [{ type: 'put', request: { key: b('k'), value: b('new') } }],
    failure: [{ type: 'range', request: { key: b('k') } }],
  } },
];

test('a command decoded as views of its bytes equals the copying decode', () => {
  for (const command of commands) {
    const bytes = encodeKvCommand(command);
    assert.deepEqual(decodeKvCommand(bytes, { share: true }), decodeKvCommand(bytes));
    assert.deepEqual(decodeKvCommand(bytes, { share: true }), structuredClone(command));
  }
});

test('the copying decode owns its bytes; the sharing decode views the input', () => {
  const bytes = encodeKvCommand({ type: 'put', request: { key: b('key'), value: b('value') } });
  const copied = decodeKvCommand(bytes);
  const shared = decodeKvCommand(bytes, { share: true });
  bytes.fill(0x21);
  assert.ok(copied.type === 'put' && shared.type === 'put');
  assert.deepEqual(copied.request.key, b('key'));
  assert.deepEqual(copied.request.value, b('value'));
  assert.deepEqual(shared.request.key, b('!!!'));
});

test('a put applied from shared bytes survives reuse of the source buffer', () => {
  const store = new MvccStore();
  const bytes = encodeKvCommand({ type: 'put', request: { key: b('key'), value: b('value') } });
  const result = applyKvCommand(store, decodeKvCommand(bytes, { share: true }));
  assert.ok(result.ok);
  const events = result.events;
  bytes.fill(0x21);
  const read = store.range({ key: b('key') });
  assert.ok(read.ok);
  assert.deepEqual(read.response.kvs.map((kv) => [kv.key, kv.value]), [[b('key'), b('value')]]);
  assert.deepEqual(events.map((e) => [e.kv.key, e.kv.value]), [[b('key'), b('value')]]);
  // A second put to the same key (the key history exists) keeps its own copy of the new value too.
  const again = encodeKvCommand({ type: 'put', request: { key: b('key'), value: b('value-2') } });
  assert.ok(applyKvCommand(store, decodeKvCommand(again, { share: true })).ok);
  again.fill(0x21);
  const reread = store.range({ key: b('key') });
  assert.ok(reread.ok);
  assert.deepEqual(reread.response.kvs.map((kv) => kv.value), [b('value-2')]);
});

test('truncated and invalid fields are named in the error', () => {
  const bytes = encodeKvCommand({ type: 'put', request: { key: b('k'), value: b('v'), lease: 7n } });
  const messageAt = (input: Uint8Array): string => {
    try {
      decodeKvCommand(input);
    } catch (error) {
      assert.ok(error instanceof CodecError);
      return error.message;
    }
    return 'decoded';
  };
  // version, kind, revision presence (1), key length (4) + 'k', value presence (1), length (4) + 'v'.
  const leasePresenceAt = 1 + 1 + 1 + 4 + 1 + 1 + 4 + 1;
  assert.match(messageAt(bytes.subarray(0, 2)), /^truncated revision presence: need 1 bytes/);
  assert.match(messageAt(bytes.subarray(0, 4)), /^truncated key length: need 4 bytes/);
  assert.match(messageAt(bytes.subarray(0, leasePresenceAt)), /^truncated lease presence: need 1 bytes/);
  assert.match(messageAt(bytes.subarray(0, leasePresenceAt + 3)), /^truncated lease high: need 4 bytes/);
  assert.match(messageAt(bytes.subarray(0, leasePresenceAt + 5)), /^truncated lease low: need 4 bytes/);
  const corrupt = bytes.slice();
  corrupt[leasePresenceAt] = 2;
  assert.match(messageAt(corrupt), /^invalid lease presence: 2 \(at byte 14\)/);
});
