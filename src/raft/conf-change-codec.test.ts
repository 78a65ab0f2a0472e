/**
 * Tests of the ConfChange codec (the data of conf-change entries): the documented layout, round
 * trips as a property (including node ids up to 2^53 - 1 and views into larger buffers), and
 * that corrupt input never decodes silently: any byte string either throws or re-encodes to
 * exactly itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AssertionError } from '../lib/assert.js';
import { CONF_CHANGE_CHANGES_MAX, decodeConfChange, encodeConfChange } from './conf-change-codec.js';
import {
  ConfChangeTransition, ConfChangeType,
  type ConfChange, type ConfChangeSingle, type NodeId,
} from './types.js';

const confChangeArb: fc.Arbitrary<ConfChange> = fc.record({
  transition: fc.constantFrom(...Object.values(ConfChangeTransition)),
  changes: fc.array(fc.record({
    type: fc.constantFrom(...Object.values(ConfChangeType)),
    nodeId: fc.oneof(fc.integer({ min: 1, max: 10 }), fc.maxSafeNat().filter((n) => n > 0)).map((n) => n as NodeId),
  }), { maxLength: 20 }),
  context: fc.uint8Array({ maxLength: 64 }),
});

function normalize(cc: ConfChange): unknown {
  return { transition: cc.transition, changes: cc.changes.map((c) => ({ ...c })), context: [...cc.context] };
}

test('conf-change-codec: layout is version, transition, count, 9 bytes per change, context length, context', () => {
  const cc: ConfChange = {
    transition: ConfChangeTransition.JointExplicit,
    changes: [{ type: ConfChangeType.RemoveNode, nodeId: 3 as NodeId }],
    context: new Uint8Array([0xaa, 0xbb]),
  };
  const bytes = encodeConfChange(cc);
  assert.equal(bytes.byteLength, 4 + 9 + 4 + 2);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(view.getUint8(0), 1, 'version');
  assert.equal(view.getUint8(1), 2, 'joint-explicit is the third transition');
  assert.equal(view.getUint16(2, true), 1);
  assert.equal(view.getUint8(4), 2, 'remove-node is the third type');
  assert.equal(view.getFloat64(5, true), 3);
  assert.equal(view.getUint32(13, true), 2);
  assert.deepEqual([...bytes.subarray(17)], [0xaa, 0xbb]);
});

test('conf-change-codec: the empty (leave-joint) change round-trips', () => {
  const leave: ConfChange = { transition: ConfChangeTransition.Auto, changes: [], context: new Uint8Array() };
  const bytes = encodeConfChange(leave);
  assert.equal(bytes.byteLength, 8);
  assert.deepEqual(normalize(decodeConfChange(bytes)), normalize(leave));
});

test('conf-change-codec: property: decode(encode(cc)) equals cc', () => {
  fc.assert(fc.property(confChangeArb, (cc) => {
    assert.deepEqual(normalize(decodeConfChange(encodeConfChange(cc))), normalize(cc));
  }), { numRuns: 1000 });
});

test('conf-change-codec: property: decoding a view inside a larger buffer, and the context is a copy', () => {
  fc.assert(fc.property(confChangeArb, fc.uint8Array({ maxLength: 9 }), fc.uint8Array({ maxLength: 9 }), (cc, before, after) => {
    const encoded = encodeConfChange(cc);
    const buffer = new Uint8Array(before.length + encoded.length + after.length);
    buffer.set(before, 0);
    buffer.set(encoded, before.length);
    buffer.set(after, before.length + encoded.length);
    const view = buffer.subarray(before.length, before.length + encoded.length);
    const decoded = decodeConfChange(view);
    assert.deepEqual(normalize(decoded), normalize(cc));
    if (decoded.context.length > 0) {
      view.fill(0);
      assert.deepEqual([...decoded.context], [...cc.context], 'the decoded context must not alias the entry data');
    }
  }), { numRuns: 300 });
});

test('conf-change-codec: corrupt data fails an assertion', () => {
  const good = encodeConfChange({
    transition: ConfChangeTransition.Auto,
    changes: [{ type: ConfChangeType.AddVoter, nodeId: 2 as NodeId }],
    context: new Uint8Array([1, 2, 3]),
  });
  const corrupt = (at: number, value: number): Uint8Array => {
    const copy = good.slice();
    copy[at] = value;
    return copy;
  };
  assert.throws(() => decodeConfChange(good.subarray(0, 7)), AssertionError, 'too short');
  assert.throws(() => decodeConfChange(corrupt(0, 2)), AssertionError, 'unknown version');
  assert.throws(() => decodeConfChange(corrupt(1, 3)), AssertionError, 'bad transition');
  assert.throws(() => decodeConfChange(corrupt(4, 3)), AssertionError, 'bad change type');
  assert.throws(() => decodeConfChange(corrupt(2, 5)), AssertionError, 'count beyond the data');
  assert.throws(() => decodeConfChange(good.subarray(0, good.length - 1)), AssertionError, 'context truncated');
  const longer = new Uint8Array(good.length + 1);
  longer.set(good);
  assert.throws(() => decodeConfChange(longer), AssertionError, 'trailing bytes');
  // A node id that is not a positive safe integer.
  const badId = good.slice();
  new DataView(badId.buffer).setFloat64(5, 0.5, true);
  assert.throws(() => decodeConfChange(badId));
});

test('conf-change-codec: more than CONF_CHANGE_CHANGES_MAX changes cannot be encoded', () => {
  const change: ConfChangeSingle = { type: ConfChangeType.AddLearner, nodeId: 1 as NodeId };
  const at = (n: number): ConfChange => ({ transition: ConfChangeTransition.Auto, changes: new Array<ConfChangeSingle>(n).fill(change), context: new Uint8Array() });
  const max = decodeConfChange(encodeConfChange(at(CONF_CHANGE_CHANGES_MAX)));
  assert.equal(max.changes.length, CONF_CHANGE_CHANGES_MAX);
  assert.throws(() => encodeConfChange(at(CONF_CHANGE_CHANGES_MAX + 1)), AssertionError);
});

test('conf-change-codec: property: any bytes either fail to decode or re-encode to themselves', () => {
  const nearlyValid = fc.tuple(confChangeArb, fc.array(fc.tuple(fc.nat(200), fc.nat(255)), { maxLength: 3 }), fc.nat(3))
    .map(([cc, flips, cut]) => {
      const bytes = encodeConfChange(cc).slice();
      for (const [at, value] of flips) if (at < bytes.length) bytes[at] = value;
      return cut === 0 ? bytes.subarray(0, Math.max(0, bytes.length - 1)) : bytes;
    });
  fc.assert(fc.property(fc.oneof(nearlyValid, fc.uint8Array({ maxLength: 40 })), (bytes) => {
    let decoded: ConfChange;
    try {
      decoded = decodeConfChange(bytes);
    } catch {
      return;
    }
    assert.deepEqual([...encodeConfChange(decoded)], [...bytes]);
  }), { numRuns: 2000 });
});
