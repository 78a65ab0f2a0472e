import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { BinaryReader, BinaryWriter, CodecError } from '../lib/binary.js';
import { decodeMessage, encodeMessage, readEntry, readHardState, writeEntry, writeHardState } from './wire-codec.js';
import { EntryType, type Entry, type Message, type NodeId } from './types.js';

/** plain copies fast-check's null-prototype records into ordinary objects for deepEqual. */
function plain<T>(value: T): T {
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(plain) as T;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)])) as T;
}

const id = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }).map((n) => n as NodeId);
const n = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const bytes = fc.uint8Array({ maxLength: 64 });
const entry: fc.Arbitrary<Entry> = fc.record({
  term: n, index: n, type: fc.constantFrom(EntryType.Normal, EntryType.ConfChange), data: bytes,
});
const confState = fc.record({
  voters: fc.array(id, { maxLength: 5 }), votersOutgoing: fc.array(id, { maxLength: 5 }),
  learners: fc.array(id, { maxLength: 5 }), learnersNext: fc.array(id, { maxLength: 5 }), autoLeave: fc.boolean(),
});
const base = { from: id, to: id, term: n };
const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant('MsgApp' as const), ...base, logTerm: n, index: n, commit: n, commitOnly: fc.boolean(), entries: fc.array(entry, { maxLength: 4 }) }),
  fc.record({ type: fc.constant('MsgAppResp' as const), ...base, index: n, reject: fc.boolean(), rejectHint: n, logTerm: n }),
  fc.record({ type: fc.constantFrom('MsgVote' as const, 'MsgPreVote' as const), ...base, logTerm: n, index: n, transfer: fc.boolean() }),
  fc.record({ type: fc.constantFrom('MsgVoteResp' as const, 'MsgPreVoteResp' as const), ...base, reject: fc.boolean() }),
  fc.record({ type: fc.constant('MsgHeartbeat' as const), ...base, commit: n, context: fc.string(), sentTick: n }),
  fc.record({ type: fc.constant('MsgHeartbeatResp' as const), ...base, context: fc.string(), sentTick: n }),
  fc.record({ type: fc.constant('MsgSnap' as const), ...base, snapshot: fc.record({ metadata: fc.record({ index: n, term: n, confState }), data: bytes }) }),
  fc.record({ type: fc.constant('MsgProp' as const), ...base, entries: fc.array(entry, { maxLength: 4 }) }),
  fc.record({ type: fc.constant('MsgReadIndex' as const), ...base, context: fc.string() }),
  fc.record({ type: fc.constant('MsgReadIndexResp' as const), ...base, index: n, context: fc.string() }),
  fc.record({ type: fc.constant('MsgTimeoutNow' as const), ...base }),
  fc.record({ type: fc.constant('MsgTransferLeader' as const), ...base, target: id }),
);

test('every message survives an encode/decode round trip', () => {
  fc.assert(fc.property(message, (m) => {
    assert.deepEqual(decodeMessage(encodeMessage(m)), plain(m));
  }), { numRuns: 2000 });
});

test('entries and hard states round trip', () => {
  fc.assert(fc.property(entry, n, n, n, (e, term, vote, commit) => {
    const w = new BinaryWriter(8);
    writeEntry(w, e);
    writeHardState(w, { term, vote: vote as NodeId, commit });
    const r = new BinaryReader(w.finish());
    assert.deepEqual(readEntry(r), plain(e));
    assert.deepEqual(readHardState(r), { term, vote, commit });
    r.end();
  }));
});

test('every truncation of a message is rejected with a CodecError, never a crash or a wrong message', () => {
  fc.assert(fc.property(message, fc.nat(), (m, cut) => {
    const encoded = encodeMessage(m);
    const at = cut % encoded.byteLength;
    assert.throws(() => decodeMessage(encoded.subarray(0, at)), CodecError);
  }), { numRuns: 500 });
});

test('trailing bytes, unknown types and invalid integers are rejected', () => {
  const m: Message = { type: 'MsgTimeoutNow', from: 1 as NodeId, to: 2 as NodeId, term: 3 };
  const encoded = encodeMessage(m);
  assert.throws(() => decodeMessage(new Uint8Array([...encoded, 0])), /trailing bytes/);
  const unknown = encoded.slice();
  unknown[0] = 200;
  assert.throws(() => decodeMessage(unknown), /unknown message type 200/);
  const negative = encoded.slice();
  new DataView(negative.buffer).setFloat64(17, -1, true);
  assert.throws(() => decodeMessage(negative), /invalid term/);
  const fractional = encoded.slice();
  new DataView(fractional.buffer).setFloat64(1, 1.5, true);
  assert.throws(() => decodeMessage(fractional), /invalid from/);
});

test('random bytes never decode into a message with out-of-range fields', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => {
    try {
      const m = decodeMessage(junk);
      assert.ok(Number.isSafeInteger(m.term) && m.term >= 0);
      assert.ok(m.from > 0 && m.to > 0);
    } catch (error) {
      assert.ok(error instanceof CodecError, String(error));
    }
  }), { numRuns: 2000 });
});
