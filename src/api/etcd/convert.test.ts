import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codecFor, etcdserverpb } from '../codec/index.js';
import { rangeResponseOut, txnResponseOut } from './convert.js';
import type * as kv from '../../kv/index.js';

const ctx = { clusterId: 2n ** 64n - 1n, memberId: 42n, raftTerm: () => 7 };
const records: kv.KeyValue[] = [
  { key: new Uint8Array([1, 2]), createRevision: 3, modRevision: 9, version: 2, value: new Uint8Array(300).fill(5), lease: 0n },
  { key: new Uint8Array([1, 3]), createRevision: 2 ** 40, modRevision: 2 ** 40 + 1, version: 1, value: new Uint8Array(0), lease: 2n ** 62n },
];
const answer: kv.RangeResponse = { header: { revision: 12 }, kvs: records, more: true, count: 5 };
const plain: etcdserverpb.RangeResponse = {
  header: { clusterId: 2n ** 64n - 1n, memberId: 42n, revision: 12n, raftTerm: 7n },
  kvs: records.map((r) => ({ ...r, createRevision: BigInt(r.createRevision), modRevision: BigInt(r.modRevision), version: BigInt(r.version) })),
  more: true,
  count: 5n,
};
const codec = codecFor('etcdserverpb.RangeResponse');
const generated = (m: etcdserverpb.RangeResponse): Uint8Array => etcdserverpb.RangeResponse.encode(m).finish();

test('convert: a Range answer from the store encodes straight from its records, and reads as the wire message', () => {
  const out = rangeResponseOut(ctx, answer);
  assert.deepStrictEqual(codec.encode(out), generated(plain));
  assert.deepStrictEqual({ header: out.header, kvs: out.kvs, more: out.more, count: out.count }, plain);
  assert.deepStrictEqual(codec.toJson(out), codec.toJson(plain), 'the gateway JSON reads the same fields');
  // Read (as the gateway and a Txn do), then encoded: the generated encoder, same bytes.
  assert.deepStrictEqual(codec.encode(out), generated(plain));
});

test('convert: a Range answer changed after it was built encodes what it reads as', () => {
  const out = rangeResponseOut(ctx, answer);
  out.kvs = out.kvs.slice(1);
  assert.deepStrictEqual(codec.encode(out), generated({ ...plain, kvs: plain.kvs.slice(1) }));
  const counted = rangeResponseOut(ctx, answer);
  counted.count = 99n;
  assert.deepStrictEqual(codec.encode(counted), generated({ ...plain, count: 99n }));
});

test('convert: a Range inside a Txn answer is encoded by the generated encoder from the same fields', () => {
  const txn: kv.TxnResponse = { header: { revision: 12 }, succeeded: true, responses: [{ type: 'range', response: answer }] };
  const out = txnResponseOut(ctx, txn);
  const expected: etcdserverpb.TxnResponse = {
    header: plain.header, succeeded: true, responses: [{ response: { $case: 'responseRange', value: plain } }],
  };
  assert.deepStrictEqual(codecFor('etcdserverpb.TxnResponse').encode(out), etcdserverpb.TxnResponse.encode(expected).finish());
});
