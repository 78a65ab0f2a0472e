/**
 * codec-bench: encode+decode speed of the serving path's messages (npm run bench:codec).
 * PutRequest (17-byte key, 256-byte value), PutResponse (header with 64-bit ids), a
 * RangeResponse of 10 KVs with 256-byte values, and a Range answer of 1,000 such KVs framed for
 * gRPC two ways: the generated encoder from mvccpb objects (made from the store's records, as
 * before) and the direct encoder from the records (kv-list-encode.ts); each case runs for `--ms`
 * milliseconds (default 1000) after a warm-up and prints ops/s and ns/op.
 */
import { codecFor, directEncode, encodeRangeRecords, type etcdserverpb, type KeyValueRecord, type mvccpb } from './index.js';

const msArg = process.argv.indexOf('--ms');
const runMs = msArg >= 0 ? Number(process.argv[msArg + 1]) : 1000;

const header: etcdserverpb.ResponseHeader = { clusterId: 14841639068965178418n, memberId: 10276657743932975437n, revision: 1234567n, raftTerm: 5n };
const value = new Uint8Array(256).fill(0x61);
const putRequest: etcdserverpb.PutRequest = {
  key: new TextEncoder().encode('/registry/pods/p1'), value, lease: 7587862229845645311n, prevKv: false, ignoreValue: false, ignoreLease: false,
};
const putResponse: etcdserverpb.PutResponse = { header };
const rangeResponse: etcdserverpb.RangeResponse = {
  header,
  kvs: Array.from({ length: 10 }, (_, i) => ({
    key: new TextEncoder().encode(`/registry/pods/p${i}`), createRevision: 1000n + BigInt(i), modRevision: 1200000n + BigInt(i), version: 3n, value, lease: 0n,
  })),
  more: false,
  count: 10n,
};

function bench(name: string, fn: () => void): void {
  const warmUntil = performance.now() + Math.min(300, runMs);
  while (performance.now() < warmUntil) for (let i = 0; i < 100; i++) fn();
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < runMs) {
    for (let i = 0; i < 100; i++) fn();
    ops += 100;
    now = performance.now();
  }
  const nsPerOp = ((now - start) * 1e6) / ops;
  console.log(`${name.padEnd(38)} ${Math.round(1e9 / nsPerOp).toString().padStart(10)} ops/s ${nsPerOp.toFixed(0).padStart(8)} ns/op`);
}

const put = codecFor('etcdserverpb.PutRequest');
const putResp = codecFor('etcdserverpb.PutResponse');
const range = codecFor('etcdserverpb.RangeResponse');
const putBytes = put.encode(putRequest);
const putRespBytes = putResp.encode(putResponse);
const rangeBytes = range.encode(rangeResponse);
let sink = 0;

bench('PutRequest encode+decode', () => { sink += put.decode(put.encode(putRequest)).key.length; });
bench('PutRequest decode', () => { sink += put.decode(putBytes).key.length; });
bench('PutResponse encode+decode', () => { sink += Number(putResp.decode(putResp.encode(putResponse)).header?.raftTerm ?? 0n); });
bench('PutResponse encodeFrame', () => { sink += putResp.encodeFrame(putResponse).length; });
bench(`RangeResponse 10x256B encode+decode`, () => { sink += range.decode(range.encode(rangeResponse)).kvs.length; });
bench(`RangeResponse 10x256B encode (${rangeBytes.length} B)`, () => { sink += range.encode(rangeResponse).length; });
bench('RangeResponse 10x256B decode', () => { sink += range.decode(rangeBytes).kvs.length; });
bench('RangeResponse 10x256B toJson+stringify', () => { sink += JSON.stringify(range.toJson(rangeResponse)).length; });

const records: KeyValueRecord[] = Array.from({ length: 1000 }, (_, i) => ({
  key: new TextEncoder().encode(`key${String(i).padStart(7, '0')}`), createRevision: 1000 + i, modRevision: 1200000 + i, version: 3, value, lease: 0n,
}));
const toMessage = (r: KeyValueRecord): mvccpb.KeyValue => ({
  key: r.key, createRevision: BigInt(r.createRevision), modRevision: BigInt(r.modRevision), version: BigInt(r.version), value: r.value, lease: r.lease,
});
bench('Range 1,000x256B: mvccpb + generated frame', () => {
  sink += range.encodeFrame({ header, kvs: records.map(toMessage), more: false, count: 1000n }).length;
});
bench('Range 1,000x256B: direct from records', () => {
  const answer = { header, kvs: [], more: false, count: 1000n, [directEncode]: (prefixBytes: number) => encodeRangeRecords({ header, kvs: records, more: false, count: 1000 }, prefixBytes) };
  sink += range.encodeFrame(answer).length;
});
if (sink === 0 || putRespBytes.length === 0) console.log('unreachable');
