/**
 * Byte vectors written by hand from the protobuf encoding rules (tag = field << 3 | wire type;
 * varints little-endian base 128; negative int64 as ten-byte two's complement), standing in for
 * a reference encoder: the codecs must decode them, and encode the canonical ones to the same
 * bytes. Then the malformed cases: each must throw a WireError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codecFor, mvccpb, WireError, WireErrorCode, etcdserverpb } from './index.js';

function hex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

test('vectors: PutRequest{key "foo", value "bar"} is 0a03666f6f 1203626172', () => {
  const codec = codecFor('etcdserverpb.PutRequest');
  const bytes = hex('0a 03 66 6f 6f  12 03 62 61 72');
  const message = codec.decode(bytes);
  assert.deepStrictEqual(message, { ...codec.create(), key: utf8('foo'), value: utf8('bar') });
  assert.deepStrictEqual(codec.encode(message), bytes);
});

test('vectors: int64 lease 2^63-1 is nine bytes, -1 is ten bytes', () => {
  const codec = codecFor('etcdserverpb.PutRequest');
  const max = hex('18 ff ff ff ff ff ff ff ff 7f');
  assert.equal(codec.decode(max).lease, 2n ** 63n - 1n);
  assert.deepStrictEqual(codec.encode({ ...codec.create(), lease: 2n ** 63n - 1n }), max);
  const minusOne = hex('18 ff ff ff ff ff ff ff ff ff 01');
  assert.equal(codec.decode(minusOne).lease, -1n);
  assert.deepStrictEqual(codec.encode({ ...codec.create(), lease: -1n }), minusOne);
});

test('vectors: ResponseHeader with uint64 ids 2^64-1 and 2^53+1', () => {
  const codec = codecFor('etcdserverpb.ResponseHeader');
  // cluster_id (1) = 2^64-1: ten bytes; member_id (2) = 2^53+1: bit 0 -> 0x81, six empty groups,
  // bit 53 = group 7 bit 4 -> 0x10; revision (3) = 300 -> ac 02; raft_term (4) = 2.
  const bytes = hex('08 ff ff ff ff ff ff ff ff ff 01  10 81 80 80 80 80 80 80 10  18 ac 02  20 02');
  const header = codec.decode(bytes);
  assert.deepStrictEqual(header, { clusterId: 2n ** 64n - 1n, memberId: 2n ** 53n + 1n, revision: 300n, raftTerm: 2n });
  assert.deepStrictEqual(codec.encode(header), bytes);
});

test('vectors: RangeResponse with a KeyValue, more and count; unknown fields are skipped', () => {
  const codec = codecFor('etcdserverpb.RangeResponse');
  // kv: key "a" (0a 01 61), create_revision 2 (10 02), mod_revision 5 (18 05), version 3 (20 03),
  // value "xy" (2a 02 78 79), lease 7 (30 07): 17 bytes.
  const kv = '0a 01 61 10 02 18 05 20 03 2a 02 78 79 30 07';
  const canonical = hex(`0a 02 18 09  12 0f ${kv}  18 01  20 01`);
  const expected = {
    header: { clusterId: 0n, memberId: 0n, revision: 9n, raftTerm: 0n },
    kvs: [{ key: utf8('a'), createRevision: 2n, modRevision: 5n, version: 3n, value: utf8('xy'), lease: 7n }],
    more: true,
    count: 1n,
  };
  assert.deepStrictEqual(codec.decode(canonical), expected);
  assert.deepStrictEqual(codec.encode(expected), canonical);
  // The same with unknown fields of every wire type mixed in: varint field 99 (f8 06 2a), fixed64
  // field 100 (a1 06 + 8 bytes), length-delimited field 101 (aa 06 02 ff ff), fixed32 field 102
  // (b5 06 + 4 bytes); inside the KeyValue too (field 15 varint: 78 01).
  const withUnknown = hex(`f8 06 2a  0a 02 18 09  a1 06 01 02 03 04 05 06 07 08  12 11 ${kv} 78 01  aa 06 02 ff ff  18 01  b5 06 01 02 03 04  20 01`);
  assert.deepStrictEqual(codec.decode(withUnknown), expected);
});

test('vectors: Event DELETE and Compare with a zero oneof member still on the wire', () => {
  const event = codecFor('mvccpb.Event');
  const deleted = event.decode(hex('08 01 12 05 0a 01 6b 18 07'));
  assert.equal(deleted.type, mvccpb.Event_EventType.DELETE);
  assert.deepStrictEqual(deleted.kv?.key, utf8('k'));
  assert.equal(deleted.kv?.modRevision, 7n);

  const txn = codecFor('etcdserverpb.TxnRequest');
  // compare {result EQUAL (absent), target VERSION (absent), key "a", version = 0 (oneof: 20 00)}
  const bytes = hex('0a 05 1a 01 61 20 00');
  const message = txn.decode(bytes);
  assert.deepStrictEqual(message.compare[0]?.targetUnion, { $case: 'version', value: 0n });
  assert.equal(message.compare[0]?.target, etcdserverpb.Compare_CompareTarget.VERSION);
  assert.deepStrictEqual(txn.encode(message), bytes);
});

test('vectors: repeated enum filters decode packed and unpacked', () => {
  const codec = codecFor('etcdserverpb.WatchCreateRequest');
  const filters = [etcdserverpb.WatchCreateRequest_FilterType.NOPUT, etcdserverpb.WatchCreateRequest_FilterType.NODELETE];
  assert.deepStrictEqual(codec.decode(hex('2a 02 00 01')).filters, filters); // packed (proto3 default)
  assert.deepStrictEqual(codec.decode(hex('28 00 28 01')).filters, filters); // unpacked
  assert.deepStrictEqual(codec.encode({ ...codec.create(), filters }), hex('2a 02 00 01'));
});

test('vectors: WatchRequest oneof create_request and LeaseKeepAliveResponse without TTL', () => {
  const watch = codecFor('etcdserverpb.WatchRequest');
  // create_request (1) {key "f", range_end "g", prev_kv (6) true}
  const request = watch.decode(hex('0a 08 0a 01 66 12 01 67 30 01'));
  assert.deepStrictEqual(request.requestUnion, {
    $case: 'createRequest',
    value: { ...codecFor('etcdserverpb.WatchCreateRequest').create(), key: utf8('f'), rangeEnd: utf8('g'), prevKv: true },
  });
  const keepAlive = codecFor('etcdserverpb.LeaseKeepAliveResponse');
  const expired = keepAlive.decode(hex('10 ff ff ff ff ff ff ff ff 7f'));
  assert.equal(expired.ID, 2n ** 63n - 1n);
  assert.equal(expired.TTL, 0n);
});

const MALFORMED: readonly [string, string][] = [
  ['truncated varint', '18 ff'],
  ['varint longer than ten bytes', '18 ff ff ff ff ff ff ff ff ff ff 01'],
  ['length prefix past the end', '0a 05 61 62'],
  ['field number 0', '00 01'],
  ['wire type 7', '0f 01'],
  ['end-group without start', '0c'],
  ['start-group never closed', '0b 08 01'],
  ['fixed64 cut short', 'a1 06 01 02 03'],
  ['submessage whose last field overruns its length', '12 02 0a 05 61 62 63 64 65'],
];

test('vectors: malformed input throws WireError (no crash, no silent partial message)', () => {
  const codecs = [codecFor('etcdserverpb.PutRequest'), codecFor('etcdserverpb.RangeResponse')];
  for (const [what, bytes] of MALFORMED) {
    for (const codec of codecs) {
      assert.throws(
        () => codec.decode(hex(bytes)),
        (e: unknown) => e instanceof WireError && e.code === WireErrorCode.Malformed && e.message.includes(codec.typeName),
        `${what} as ${codec.typeName}`,
      );
    }
  }
});
