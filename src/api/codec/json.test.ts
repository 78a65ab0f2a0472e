/**
 * Golden JSON as etcd's gateway prints it (grpc-gateway v1, OrigName, no defaults) and the
 * request side as jsonpb accepts it, with the rejections of bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codecFor, fromJson, toJson, WireError, WireErrorCode, mvccpb, etcdserverpb } from './index.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const HEADER = { clusterId: 14841639068965178418n, memberId: 10276657743932975437n, revision: 3n, raftTerm: 2n };
const HEADER_JSON = '{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"3","raft_term":"2"}';

test('json: RangeResponse prints as the gateway does', () => {
  const response: etcdserverpb.RangeResponse = {
    header: HEADER,
    kvs: [{ key: utf8('foo'), createRevision: 2n, modRevision: 3n, version: 2n, value: utf8('bar'), lease: 0n }],
    more: false,
    count: 1n,
  };
  assert.equal(
    JSON.stringify(toJson('etcdserverpb.RangeResponse', response)),
    `{"header":${HEADER_JSON},"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"3","version":"2","value":"YmFy"}],"count":"1"}`,
  );
  // An empty range: no kvs, no count, no more.
  assert.equal(JSON.stringify(toJson('etcdserverpb.RangeResponse', { header: HEADER, kvs: [], more: false, count: 0n })), `{"header":${HEADER_JSON}}`);
});

test('json: WatchResponse prints PUT events without a type, DELETE events with it', () => {
  const created: etcdserverpb.WatchResponse = {
    header: HEADER, watchId: 0n, created: true, canceled: false, compactRevision: 0n, cancelReason: '', fragment: false, events: [],
  };
  assert.equal(JSON.stringify(toJson('etcdserverpb.WatchResponse', created)), `{"header":${HEADER_JSON},"created":true}`);
  const events: etcdserverpb.WatchResponse = {
    ...created,
    created: false,
    watchId: 1n,
    events: [
      { type: mvccpb.Event_EventType.PUT, kv: { key: utf8('foo'), createRevision: 2n, modRevision: 2n, version: 1n, value: utf8('bar'), lease: 0n } },
      { type: mvccpb.Event_EventType.DELETE, kv: { key: utf8('foo'), createRevision: 0n, modRevision: 3n, version: 0n, value: new Uint8Array(0), lease: 0n } },
    ],
  };
  assert.equal(
    JSON.stringify(toJson('etcdserverpb.WatchResponse', events)),
    `{"header":${HEADER_JSON},"watch_id":"1","events":[` +
      '{"kv":{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}},' +
      '{"type":"DELETE","kv":{"key":"Zm9v","mod_revision":"3"}}]}',
  );
  const compacted = { ...created, created: false, canceled: true, compactRevision: 5n, cancelReason: 'etcdserver: mvcc: required revision has been compacted' };
  assert.equal(
    JSON.stringify(toJson('etcdserverpb.WatchResponse', compacted)),
    `{"header":${HEADER_JSON},"canceled":true,"compact_revision":"5","cancel_reason":"etcdserver: mvcc: required revision has been compacted"}`,
  );
});

test('json: an expired lease keep-alive has no TTL; proto names keep their case', () => {
  assert.equal(
    JSON.stringify(toJson('etcdserverpb.LeaseKeepAliveResponse', { header: HEADER, ID: 7587862229845645311n, TTL: 0n })),
    `{"header":${HEADER_JSON},"ID":"7587862229845645311"}`,
  );
  assert.equal(
    JSON.stringify(toJson('etcdserverpb.LeaseTimeToLiveResponse', { header: HEADER, ID: 1n, TTL: 5n, grantedTTL: 10n, keys: [utf8('k')] })),
    `{"header":${HEADER_JSON},"ID":"1","TTL":"5","grantedTTL":"10","keys":["aw=="]}`,
  );
  const member = { ID: 10276657743932975437n, name: 'm1', peerURLs: ['http://127.0.0.1:2380'], clientURLs: [], isLearner: false };
  assert.equal(
    JSON.stringify(toJson('etcdserverpb.MemberListResponse', { header: HEADER, members: [member] })),
    `{"header":${HEADER_JSON},"members":[{"ID":"10276657743932975437","name":"m1","peerURLs":["http://127.0.0.1:2380"]}]}`,
  );
  // uint32 prints as a number; a present but empty submessage prints as {}.
  assert.equal(JSON.stringify(toJson('etcdserverpb.HashResponse', { header: { clusterId: 0n, memberId: 0n, revision: 0n, raftTerm: 0n }, hash: 4294967295 })), '{"header":{},"hash":4294967295}');
});

test('json: TxnResponse oneofs print under the member name; a zero oneof member still prints', () => {
  const response: etcdserverpb.TxnResponse = {
    header: HEADER,
    succeeded: true,
    responses: [{ response: { $case: 'responsePut', value: { header: { clusterId: 0n, memberId: 0n, revision: 4n, raftTerm: 0n } } } }],
  };
  assert.equal(
    JSON.stringify(toJson('etcdserverpb.TxnResponse', response)),
    `{"header":${HEADER_JSON},"succeeded":true,"responses":[{"response_put":{"header":{"revision":"4"}}}]}`,
  );
  const compare = { result: 0, target: 0, key: utf8('a'), targetUnion: { $case: 'version', value: 0n }, rangeEnd: new Uint8Array(0) } as const;
  assert.equal(JSON.stringify(toJson('etcdserverpb.Compare', compare)), '{"key":"YQ==","version":"0"}');
});

test('json: requests as etcd documents them (camelCase or proto names, strings or numbers, enum names or numbers)', () => {
  // etcd's api_grpc_gateway.md Txn example.
  const txn = fromJson('etcdserverpb.TxnRequest', JSON.parse(
    '{"compare":[{"target":"CREATE","key":"Zm9v","createRevision":"2"}],"success":[{"requestPut":{"key":"Zm9v","value":"YmFy"}}]}',
  ));
  assert.equal(txn.compare[0]?.target, etcdserverpb.Compare_CompareTarget.CREATE);
  assert.deepStrictEqual(txn.compare[0]?.targetUnion, { $case: 'createRevision', value: 2n });
  const op = txn.success[0]?.request;
  assert.equal(op?.$case, 'requestPut');
  assert.deepStrictEqual(op?.$case === 'requestPut' ? op.value.value : undefined, utf8('bar'));

  const range = fromJson('etcdserverpb.RangeRequest', { key: 'Zm9v', range_end: 'Zm9w', limit: 10, revision: '7', sort_order: 2, sort_target: 'MOD', keys_only: true });
  assert.deepStrictEqual(range, {
    ...codecFor('etcdserverpb.RangeRequest').create(),
    key: utf8('foo'), rangeEnd: utf8('fop'), limit: 10n, revision: 7n, sortOrder: 2, sortTarget: 3, keysOnly: true,
  });
  // 64-bit ids beyond 2^53 as strings are exact; URL-safe and unpadded base64 are accepted.
  const grant = fromJson('etcdserverpb.LeaseGrantRequest', { TTL: 60, ID: '9223372036854775807' });
  assert.deepStrictEqual(grant, { TTL: 60n, ID: 2n ** 63n - 1n });
  assert.deepStrictEqual(fromJson('etcdserverpb.PutRequest', { key: '-_8', value: 'YQ' }).key, new Uint8Array([0xfb, 0xff]));
  // Unknown fields are ignored; null is absent; the camelCase name wins over the proto name.
  const put = fromJson('etcdserverpb.PutRequest', { key: 'YQ==', nope: { deep: [1] }, lease: null, prev_kv: false, prevKv: true });
  assert.deepStrictEqual(put, { ...codecFor('etcdserverpb.PutRequest').create(), key: utf8('a'), prevKv: true });
  // A watch request body as the gateway receives it.
  const watch = fromJson('etcdserverpb.WatchRequest', { create_request: { key: 'Zm9v', start_revision: '4', filters: ['NODELETE'] } });
  assert.equal(watch.requestUnion?.$case, 'createRequest');
});

const BAD_JSON: readonly [string, string, unknown][] = [
  ['not an object', 'etcdserverpb.PutRequest', [1, 2]],
  ['string for a message', 'etcdserverpb.ResponseHeader', 'x'],
  ['bad base64', 'etcdserverpb.PutRequest', { key: 'Zm9v!' }],
  ['base64 of the wrong length', 'etcdserverpb.PutRequest', { key: 'Zm9vY' }],
  ['number for bytes', 'etcdserverpb.PutRequest', { key: 12 }],
  ['int64 beyond 2^63-1', 'etcdserverpb.PutRequest', { lease: '9223372036854775808' }],
  ['negative uint64', 'etcdserverpb.MemberRemoveRequest', { ID: '-1' }],
  ['unsafe integer as a JSON number', 'etcdserverpb.LeaseRevokeRequest', { ID: 7587862229845645311 }],
  ['fractional int64', 'etcdserverpb.PutRequest', { lease: 1.5 }],
  ['int64 text that is not decimal', 'etcdserverpb.PutRequest', { lease: '1e3' }],
  ['string for a bool', 'etcdserverpb.PutRequest', { prev_kv: 'true' }],
  ['unknown enum name', 'etcdserverpb.RangeRequest', { sort_order: 'SIDEWAYS' }],
  ['object for a list', 'etcdserverpb.TxnRequest', { compare: {} }],
  ['null in a list', 'etcdserverpb.TxnRequest', { success: [null] }],
  ['two members of one oneof', 'etcdserverpb.RequestOp', { request_put: {}, request_range: {} }],
  ['uint32 out of range', 'etcdserverpb.HashResponse', { hash: 4294967296 }],
];

test('json: bad input throws WireError naming the field', () => {
  for (const [what, typeName, json] of BAD_JSON) {
    assert.throws(
      () => fromJson(typeName as 'etcdserverpb.PutRequest', json),
      (e: unknown) => e instanceof WireError && e.code === WireErrorCode.BadJson && e.message.includes(typeName),
      what,
    );
  }
});

test('json: nesting deeper than JSON_DEPTH_MAX is refused', () => {
  let json: unknown = {};
  for (let i = 0; i < 150; i++) json = { success: [{ request_txn: json }] };
  assert.throws(() => fromJson('etcdserverpb.TxnRequest', json), WireError);
});
