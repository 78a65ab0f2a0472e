/**
 * Property tests of the binary and JSON codecs over every message type: decode(encode(m)) is m,
 * fromJson(toJson(m)) is m (through JSON text), 64-bit edge values survive both, and arbitrary
 * bytes either decode or throw a WireError — never another error, never a hang.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  codecFor, directEncode, encodeRangeRecords, etcdserverpb, MESSAGE_SCHEMAS, WireError, WireErrorCode, type KeyValueRecord, type MessageTypeName, type RangeRecords,
} from './index.js';
import { messageArb } from './test-arbitraries.js';

const TYPE_NAMES = Object.keys(MESSAGE_SCHEMAS) as MessageTypeName[];
const MAIN_TYPES: MessageTypeName[] = [
  'etcdserverpb.PutRequest', 'etcdserverpb.PutResponse', 'etcdserverpb.RangeRequest', 'etcdserverpb.RangeResponse',
  'etcdserverpb.TxnRequest', 'etcdserverpb.TxnResponse', 'etcdserverpb.WatchRequest', 'etcdserverpb.WatchResponse',
  'etcdserverpb.LeaseGrantResponse', 'etcdserverpb.LeaseKeepAliveResponse', 'etcdserverpb.MemberListResponse',
  'etcdserverpb.StatusResponse', 'v3electionpb.CampaignResponse',
];

test('codec: every message type round-trips through protobuf bytes', () => {
  for (const typeName of TYPE_NAMES) {
    const codec = codecFor(typeName);
    fc.assert(fc.property(messageArb(typeName), (message) => {
      assert.deepStrictEqual(codec.decode(codec.encode(message)), message, typeName);
    }), { numRuns: MAIN_TYPES.includes(typeName) ? 300 : 40 });
  }
});

test('codec: every message type round-trips through gateway JSON text', () => {
  for (const typeName of TYPE_NAMES) {
    const codec = codecFor(typeName);
    fc.assert(fc.property(messageArb(typeName), (message) => {
      const text = JSON.stringify(codec.toJson(message));
      assert.deepStrictEqual(codec.fromJson(JSON.parse(text)), message, `${typeName}: ${text}`);
    }), { numRuns: MAIN_TYPES.includes(typeName) ? 300 : 40 });
  }
});

test('codec: encodeFrame is the gRPC length prefix followed by encode()', () => {
  const codec = codecFor('etcdserverpb.RangeResponse');
  fc.assert(fc.property(messageArb('etcdserverpb.RangeResponse'), (message) => {
    const body = codec.encode(message);
    const frame = codec.encodeFrame(message);
    assert.equal(frame[0], 0);
    assert.equal(new DataView(frame.buffer, frame.byteOffset).getUint32(1), body.length);
    assert.ok(Buffer.isBuffer(frame));
    assert.deepStrictEqual(Uint8Array.from(frame.subarray(5)), body);
  }), { numRuns: 100 });
});

const recordArb: fc.Arbitrary<KeyValueRecord> = fc.record({
  key: fc.uint8Array({ maxLength: 40 }),
  createRevision: fc.oneof(fc.nat(), fc.maxSafeNat(), fc.constantFrom(0, 127, 128, 2 ** 31, 2 ** 32, 2 ** 53 - 1)),
  modRevision: fc.oneof(fc.nat(), fc.maxSafeNat()),
  version: fc.oneof(fc.nat(300), fc.maxSafeNat()),
  value: fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(128, 16384, 70000).map((n) => new Uint8Array(n).fill(7))),
  lease: fc.oneof(fc.constantFrom(0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n), fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n)),
});

/**
 * placedRecordArb is a record as the store keeps it: its value a slice of a larger container
 * (valueBytes, valueStart, valueLength), and a `value` that throws, so the encoder is seen to copy
 * from the place without making a view per record.
 */
const placedRecordArb: fc.Arbitrary<KeyValueRecord> = fc.tuple(recordArb, fc.uint8Array({ maxLength: 50 }), fc.uint8Array({ maxLength: 50 }))
  .map(([rec, before, after]) => {
    const container = new Uint8Array(before.length + rec.value.length + after.length);
    container.set(before, 0);
    container.set(rec.value, before.length);
    container.set(after, before.length + rec.value.length);
    const { value: _value, ...rest } = rec;
    return Object.defineProperty({ ...rest, valueBytes: container, valueStart: before.length, valueLength: rec.value.length }, 'value', {
      get(): Uint8Array { throw new Error('the encoder read value'); },
    }) as KeyValueRecord;
  });

function valueOf(kv: KeyValueRecord): Uint8Array {
  return kv.valueBytes !== undefined ? kv.valueBytes.slice(kv.valueStart!, kv.valueStart! + kv.valueLength!) : kv.value;
}

function asMessage(r: RangeRecords): etcdserverpb.RangeResponse {
  return {
    header: r.header,
    kvs: r.kvs.map((kv) => ({
      key: kv.key, value: valueOf(kv), lease: kv.lease,
      createRevision: BigInt(kv.createRevision), modRevision: BigInt(kv.modRevision), version: BigInt(kv.version),
    })),
    more: r.more,
    count: BigInt(r.count),
  };
}

test('codec: a Range answer encoded from store records is byte for byte the generated encoding', () => {
  const generated = (m: etcdserverpb.RangeResponse): Uint8Array => etcdserverpb.RangeResponse.encode(m).finish();
  const codec = codecFor('etcdserverpb.RangeResponse');
  fc.assert(fc.property(
    fc.option(messageArb('etcdserverpb.ResponseHeader'), { nil: undefined }), fc.array(fc.oneof(recordArb, placedRecordArb), { maxLength: 40 }), fc.boolean(), fc.maxSafeNat(),
    (header, kvs, more, count) => {
      const records: RangeRecords = { header, kvs, more, count };
      const expected = generated(asMessage(records));
      assert.deepStrictEqual(new Uint8Array(encodeRangeRecords(records, 0)), expected);
      // Through the codec, as the serving layer sends it: a message carrying its own encoder.
      const carrying = { ...asMessage(records), [directEncode]: (prefixBytes: number) => encodeRangeRecords(records, prefixBytes) };
      const frame = codec.encodeFrame(carrying);
      assert.equal(frame.readUInt32BE(1), expected.length);
      assert.deepStrictEqual(new Uint8Array(frame.subarray(5)), expected);
      assert.deepStrictEqual(codec.encode(carrying), expected);
    }), { numRuns: 300 });
});

test('codec: a message whose own encoder declines, or fails, gets the generated encoder or a WireError', () => {
  const codec = codecFor('etcdserverpb.RangeResponse');
  const plain = { ...codec.create(), more: true, count: 3n };
  const declining = { ...plain, [directEncode]: () => undefined };
  assert.deepStrictEqual(codec.encode(declining), codec.encode(plain));
  const record = { key: new Uint8Array([1]), createRevision: 1, modRevision: 2, version: 1, value: new Uint8Array(0), lease: 0n };
  const failing = (r: RangeRecords) => ({ ...plain, [directEncode]: (prefixBytes: number) => encodeRangeRecords(r, prefixBytes) });
  assert.throws(() => codec.encodeFrame(failing({ header: undefined, kvs: [{ ...record, modRevision: -1 }], more: false, count: 1 })),
    (e: unknown) => e instanceof WireError && e.code === WireErrorCode.Malformed && /modRevision/.test(e.message));
  assert.throws(() => codec.encode(failing({ header: undefined, kvs: [{ ...record, version: 2 ** 53 }], more: false, count: 1 })),
    (e: unknown) => e instanceof WireError && /version/.test(e.message));
  const badHeader = { clusterId: -1n, memberId: 0n, revision: 0n, raftTerm: 0n };
  assert.throws(() => codec.encodeFrame(failing({ header: badHeader, kvs: [], more: false, count: 0 })),
    (e: unknown) => e instanceof WireError && /clusterId/.test(e.message));
  const badLease = { ...record, lease: 2n ** 63n };
  assert.throws(() => codec.encodeFrame(failing({ header: undefined, kvs: [badLease], more: false, count: 1 })),
    (e: unknown) => e instanceof WireError && /lease/.test(e.message));
});

test('codec: 64-bit ids above 2^53 are exact (bigint end to end)', () => {
  const header = { clusterId: 2n ** 64n - 1n, memberId: 2n ** 53n + 1n, revision: 2n ** 63n - 1n, raftTerm: 2n ** 53n + 3n };
  const codec = codecFor('etcdserverpb.ResponseHeader');
  assert.deepStrictEqual(codec.decode(codec.encode(header)), header);
  assert.deepStrictEqual(codec.toJson(header), {
    cluster_id: '18446744073709551615', member_id: '9007199254740993', revision: '9223372036854775807', raft_term: '9007199254740995',
  });
  const lease = codecFor('etcdserverpb.LeaseGrantRequest');
  assert.deepStrictEqual(lease.decode(lease.encode({ TTL: -1n, ID: -(2n ** 63n) })), { TTL: -1n, ID: -(2n ** 63n) });
});

test('codec: an int64 outside the 64-bit range is refused by encode with a WireError', () => {
  const codec = codecFor('etcdserverpb.PutRequest');
  const message = { ...codec.create(), lease: 2n ** 63n };
  assert.throws(() => codec.encode(message), (e: unknown) => e instanceof WireError && e.code === WireErrorCode.Malformed);
  // The shared writer recovers: the next encode is clean.
  assert.deepStrictEqual([...codec.encode({ ...codec.create(), lease: 1n })], [0x18, 0x01]);
});

test('codec: arbitrary bytes decode or throw WireError, for every message type', () => {
  for (const typeName of TYPE_NAMES) {
    const codec = codecFor(typeName);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        codec.decode(bytes);
      } catch (error) {
        assert.ok(error instanceof WireError, `${typeName}: ${String(error)}`);
        assert.equal(error.code, WireErrorCode.Malformed);
      }
    }), { numRuns: 200 });
  }
});

test('codec: mutated valid messages decode or throw WireError', () => {
  const codec = codecFor('etcdserverpb.TxnRequest');
  fc.assert(fc.property(messageArb('etcdserverpb.TxnRequest'), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(), (message, at, byte, cut) => {
    const bytes = codec.encode(message);
    if (bytes.length === 0) return;
    const mutated = bytes.slice(0, bytes.length - (cut % Math.min(bytes.length, 4)));
    if (mutated.length > 0) mutated[at % mutated.length] = byte;
    try {
      codec.decode(mutated);
    } catch (error) {
      assert.ok(error instanceof WireError, String(error));
    }
  }), { numRuns: 500 });
});

test('codec: nesting deeper than the recursion limit is refused, not a stack overflow', () => {
  // TxnRequest{success: [RequestOp{request_txn: TxnRequest{...}}]}, 200 levels deep.
  let bytes = new Uint8Array(0);
  for (let i = 0; i < 200; i++) {
    const op = new Uint8Array([0x22, ...varint(bytes.length), ...bytes]); // RequestOp.request_txn = 4
    bytes = new Uint8Array([0x12, ...varint(op.length), ...op]); // TxnRequest.success = 2
  }
  assert.throws(() => codecFor('etcdserverpb.TxnRequest').decode(bytes), WireError);
});

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
