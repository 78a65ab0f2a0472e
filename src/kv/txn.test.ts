import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MvccStore } from './mvcc-store.js';
import { b, brief, errorOf, str, unwrap } from './testing.js';
import { CompareResult, type Compare, type RequestOp, type TxnRequest } from './types.js';
import { checkTxnRequest } from './txn-validate.js';

const put = (key: string, value = 'v'): RequestOp => ({ type: 'put', request: { key: b(key), value: b(value) } });
const del = (key: string, rangeEnd?: string): RequestOp =>
  ({ type: 'deleteRange', request: rangeEnd === undefined ? { key: b(key) } : { key: b(key), rangeEnd: b(rangeEnd) } });
const get = (key: string): RequestOp => ({ type: 'range', request: { key: b(key) } });
const txn = (success: RequestOp[], failure: RequestOp[] = [], compare: Compare[] = []): RequestOp =>
  ({ type: 'txn', request: { compare, success, failure } });

function seeded(): MvccStore {
  const store = new MvccStore();
  unwrap(store.leaseGrant({ id: 5n, ttl: 60 }));
  unwrap(store.put({ key: b('a'), value: b('10') })); // 2
  unwrap(store.put({ key: b('a'), value: b('20'), lease: 5n })); // 3: a create 2 mod 3 version 2 lease 5
  unwrap(store.put({ key: b('b'), value: b('x') })); // 4
  return store;
}

function succeeds(store: MvccStore, compare: Compare): boolean {
  return unwrap(store.txn({ compare: [compare], success: [], failure: [] })).succeeded;
}

test('compares of every target and result against etcd semantics', () => {
  const store = seeded();
  const E = CompareResult.Equal, N = CompareResult.NotEqual, G = CompareResult.Greater, L = CompareResult.Less;
  const a = b('a');
  const cases: [Compare, boolean][] = [
    [{ key: a, result: E, target: 'value', value: b('20') }, true],
    [{ key: a, result: G, target: 'value', value: b('1') }, true],
    [{ key: a, result: L, target: 'value', value: b('3') }, true],
    [{ key: a, result: N, target: 'value', value: b('20') }, false],
    [{ key: a, result: E, target: 'version', version: 2 }, true],
    [{ key: a, result: G, target: 'version', version: 1 }, true],
    [{ key: a, result: L, target: 'version', version: 2 }, false],
    [{ key: a, result: E, target: 'create', createRevision: 2 }, true],
    [{ key: a, result: N, target: 'create', createRevision: 2 }, false],
    [{ key: a, result: E, target: 'mod', modRevision: 3 }, true],
    [{ key: a, result: L, target: 'mod', modRevision: 4 }, true],
    [{ key: a, result: E, target: 'lease', lease: 5n }, true],
    [{ key: a, result: G, target: 'lease', lease: 4n }, true],
    // missing key: zero values for every target but value, which always fails
    [{ key: b('zz'), result: E, target: 'create', createRevision: 0 }, true],
    [{ key: b('zz'), result: E, target: 'version', version: 0 }, true],
    [{ key: b('zz'), result: E, target: 'lease', lease: 0n }, true],
    [{ key: b('zz'), result: E, target: 'value', value: new Uint8Array(0) }, false],
    [{ key: b('zz'), result: N, target: 'value', value: b('q') }, false],
    // ranges: every key must satisfy the compare
    [{ key: b('a'), rangeEnd: b('c'), result: G, target: 'create', createRevision: 1 }, true],
    [{ key: b('a'), rangeEnd: b('c'), result: E, target: 'version', version: 2 }, false],
    [{ key: b('a'), rangeEnd: Uint8Array.of(0), result: G, target: 'mod', modRevision: 2 }, true],
  ];
  for (const [compare, expected] of cases) {
    assert.equal(succeeds(store, compare), expected, `${compare.target} ${compare.result} on ${str(compare.key)}`);
  }
});

test('a txn takes one revision for all its ops, with sub-revisions in op order', () => {
  const store = seeded();
  const r = unwrap(store.txn({
    compare: [{ key: b('a'), result: CompareResult.Equal, target: 'value', value: b('20') }],
    success: [put('c', '1'), get('c'), del('b'), put('d', '2')],
    failure: [put('never')],
  }));
  assert.equal(r.succeeded, true);
  assert.equal(r.header.revision, 5);
  assert.equal(store.currentRevision, 5);
  const inner = r.responses[1]!;
  assert.equal(inner.type, 'range');
  if (inner.type === 'range') assert.deepEqual(inner.response.kvs.map(brief), ['c=1@5/5/1'], 'reads see earlier ops');
  const events = unwrap(store.range({ key: b('a'), rangeEnd: b('z') })).kvs.map(brief);
  assert.deepEqual(events, ['a=20@2/3/2~5', 'c=1@5/5/1', 'd=2@5/5/1']);
});

test('failure branch, read-only txns and write txns that change nothing consume no revision', () => {
  const store = seeded();
  const readOnly = unwrap(store.txn({ compare: [], success: [get('a')], failure: [] }));
  assert.equal(readOnly.header.revision, 4);
  const noChange = unwrap(store.txn({ compare: [], success: [del('missing')], failure: [] }));
  assert.equal(noChange.header.revision, 4);
  assert.equal(store.currentRevision, 4);
  const failed = unwrap(store.txn({
    compare: [{ key: b('a'), result: CompareResult.Equal, target: 'version', version: 9 }],
    success: [put('s')], failure: [put('f')],
  }));
  assert.equal(failed.succeeded, false);
  assert.equal(failed.header.revision, 5);
  assert.equal(unwrap(store.range({ key: b('f') })).count, 1);
  assert.equal(unwrap(store.range({ key: b('s') })).count, 0);
});

test('nested txns: compares are all evaluated on the state before the txn', () => {
  const store = seeded();
  const r = unwrap(store.txn({
    compare: [],
    success: [
      put('n', 'first'),
      txn([put('inner-then')], [put('inner-else')],
        [{ key: b('n'), result: CompareResult.Equal, target: 'version', version: 0 }]),
    ],
    failure: [],
  }));
  const nested = r.responses[1]!;
  assert.equal(nested.type, 'txn');
  if (nested.type === 'txn') assert.equal(nested.response.succeeded, true, 'n did not exist before the txn');
  assert.equal(unwrap(store.range({ key: b('inner-then') })).kvs[0]!.modRevision, 5);
});

test('txn checks of the chosen path: lease, ignore flags, range revisions', () => {
  const store = seeded();
  const lease = (id: bigint): RequestOp => ({ type: 'put', request: { key: b('q'), lease: id } });
  assert.equal(errorOf(store.txn({ compare: [], success: [lease(99n)], failure: [] })), 'etcdserver: requested lease not found');
  assert.equal(unwrap(store.txn({ compare: [], success: [], failure: [lease(99n)] })).succeeded, true, 'unchosen branch is not checked');
  const ignore: RequestOp = { type: 'put', request: { key: b('missing'), ignoreValue: true } };
  assert.equal(errorOf(store.txn({ compare: [], success: [ignore], failure: [] })), 'etcdserver: key not found');
  const future: RequestOp = { type: 'range', request: { key: b('a'), revision: 100 } };
  assert.equal(errorOf(store.txn({ compare: [], success: [future], failure: [] })), 'etcdserver: mvcc: required revision is a future revision');
  assert.equal(store.currentRevision, 4);
});

test('too many operations: the longest of compare/success/failure, with nested budgets', () => {
  const limit = 3;
  const many = (n: number): RequestOp[] => Array.from({ length: n }, (_, i) => get('k' + i));
  const check = (r: TxnRequest): string | undefined => checkTxnRequest(r, limit)?.message;
  assert.equal(check({ compare: [], success: many(3), failure: many(3) }), undefined);
  assert.equal(check({ compare: [], success: many(4), failure: [] }), 'etcdserver: too many operations in txn request');
  assert.equal(check({ compare: [], success: [txn(many(1))], failure: many(2) }), undefined);
  assert.equal(check({ compare: [], success: [txn(many(2))], failure: many(2) }), 'etcdserver: too many operations in txn request');
  const store = new MvccStore({ limits: { txnOpsMax: 2 } });
  assert.equal(errorOf(store.txn({ compare: [], success: many(3), failure: [] })), 'etcdserver: too many operations in txn request');
  assert.equal(check({ compare: [{ key: new Uint8Array(0), result: 0, target: 'version', version: 0 }], success: [], failure: [] }),
    'etcdserver: key is not provided');
});

test('duplicate keys: etcd rules for puts and deletes across levels and branches', () => {
  const dup = 'etcdserver: duplicate key given in txn request';
  const check = (success: RequestOp[], failure: RequestOp[] = []): string | undefined =>
    checkTxnRequest({ compare: [], success, failure }, 128)?.message;
  assert.equal(check([put('a'), put('a')]), dup);
  assert.equal(check([put('a'), del('a')]), dup);
  assert.equal(check([put('b'), del('a', 'c')]), dup, 'put inside a deleted range');
  assert.equal(check([put('c'), del('a', 'c')]), undefined, 'range end is exclusive');
  assert.equal(check([put('a')], [put('a')]), undefined, 'success and failure are separate paths');
  assert.equal(check([del('a'), del('a')]), undefined, 'deletes may overlap');
  assert.equal(check([txn([put('a')], [put('a')])]), undefined, 'a key in both branches of a nested txn');
  assert.equal(check([put('a'), txn([put('a')])]), dup, 'a nested put of a key put by the parent');
  assert.equal(check([txn([put('a')]), txn([], [put('a')])]), dup, 'two nested txns putting one key');
  assert.equal(check([del('a'), txn([put('a')])]), dup, 'nested put under a parent delete');
  assert.equal(check([txn([del('a')]), put('a')]), dup, 'parent put under a nested delete');
  assert.equal(check([txn([put('a')]), txn([del('a')])]), undefined, 'etcd does not check an earlier nested put against a later nested delete');
  assert.equal(check([put('b'), del('a', '\0')]), undefined, 'etcd compares a "\\0" range end literally here');
  const store = seeded();
  assert.equal(errorOf(store.txn({ compare: [], success: [put('x'), put('x')], failure: [] })), dup);
});
