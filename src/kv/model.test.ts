import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MvccStore } from './mvcc-store.js';
import { b, str } from './testing.js';
import { CompareResult, type Compare, type RequestOp } from './types.js';

/**
 * Model test: the store against a naive reference (key -> list of versions, scanned linearly)
 * for put/delete/range/txn, over random command sequences. Compares every response and every
 * historical read.
 */
interface RefVersion { rev: number; value: string; create: number; version: number }
class Reference {
  rev = 1;
  readonly history = new Map<string, (RefVersion | null)[]>(); // null = tombstone at `revs`
  readonly revs = new Map<string, number[]>();

  at(key: string, rev: number): RefVersion | undefined {
    const hist = this.history.get(key) ?? [];
    const revs = this.revs.get(key) ?? [];
    let found: RefVersion | null | undefined;
    for (let i = 0; i < revs.length; i++) if (revs[i]! <= rev) found = hist[i];
    return found ?? undefined;
  }
  range(from: string, to: string | undefined, rev: number): [string, RefVersion][] {
    const keys = [...this.history.keys()].filter((k) => (to === undefined ? k === from : k >= from && k < to)).sort();
    return keys.flatMap((k) => { const v = this.at(k, rev); return v ? [[k, v] as [string, RefVersion]] : []; });
  }
  write(key: string, value: string | null, rev: number): void {
    const prev = this.at(key, rev);
    const entry = value === null ? null : { rev, value, create: prev?.create ?? rev, version: (prev?.version ?? 0) + 1 };
    if (!this.history.has(key)) { this.history.set(key, []); this.revs.set(key, []); }
    this.history.get(key)!.push(entry);
    this.revs.get(key)!.push(rev);
  }
  /** apply runs ops at revision rev+1; returns whether anything changed. */
  apply(ops: readonly Op[]): boolean {
    const next = this.rev + 1;
    let changed = false;
    for (const op of ops) {
      if (op.kind === 'put') { this.write(op.key, op.value, next); changed = true; }
      else if (op.kind === 'del') {
        for (const [k] of this.range(op.key, op.end, changed ? next : this.rev)) { this.write(k, null, next); changed = true; }
      }
    }
    if (changed) this.rev = next;
    return changed;
  }
}

type Op = { kind: 'put'; key: string; value: string } | { kind: 'del'; key: string; end: string | undefined };
type Step =
  | { kind: 'ops'; ops: Op[] }
  | { kind: 'txn'; key: string; version: number; success: Op[]; failure: Op[] };

const keyArb = fc.constantFrom('a', 'b', 'c', 'd');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('put' as const), key: keyArb, value: fc.constantFrom('x', 'y', 'z') }),
  fc.record({ kind: fc.constant('del' as const), key: keyArb, end: fc.option(fc.constantFrom('b', 'c', 'e'), { nil: undefined }) }),
);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('ops' as const), ops: fc.array(opArb, { minLength: 1, maxLength: 1 }) }),
  fc.record({
    kind: fc.constant('txn' as const), key: keyArb, version: fc.integer({ min: 0, max: 2 }),
    success: fc.array(opArb, { maxLength: 3 }), failure: fc.array(opArb, { maxLength: 3 }),
  }),
);

function toRequestOp(op: Op): RequestOp {
  if (op.kind === 'put') return { type: 'put', request: { key: b(op.key), value: b(op.value) } };
  return { type: 'deleteRange', request: op.end === undefined ? { key: b(op.key) } : { key: b(op.key), rangeEnd: b(op.end) } };
}

test('model: the store matches a naive reference for put/delete/range/txn at every revision', () => {
  fc.assert(fc.property(fc.array(stepArb, { maxLength: 40 }), (steps) => {
    const store = new MvccStore();
    const ref = new Reference();
    for (const step of steps) {
      if (step.kind === 'ops') {
        const op = step.ops[0]!;
        const r = op.kind === 'put'
          ? store.put({ key: b(op.key), value: b(op.value) })
          : store.deleteRange(toRequestOp(op).request as { key: Uint8Array });
        assert.ok(r.ok);
        ref.apply([op]);
      } else {
        const compare: Compare = { key: b(step.key), result: CompareResult.Equal, target: 'version', version: step.version };
        const r = store.txn({ compare: [compare], success: step.success.map(toRequestOp), failure: step.failure.map(toRequestOp) });
        if (!r.ok) {
          assert.equal(r.error.message, 'etcdserver: duplicate key given in txn request');
          continue;
        }
        const succeeded = (ref.at(step.key, ref.rev)?.version ?? 0) === step.version;
        assert.equal(r.response.succeeded, succeeded);
        ref.apply(succeeded ? step.success : step.failure);
        assert.equal(r.response.header.revision, ref.rev);
      }
      assert.equal(store.currentRevision, ref.rev);
    }
    for (let rev = 1; rev <= ref.rev; rev++) {
      for (const [from, to] of [['a', 'e'], ['b', 'd'], ['c', undefined]] as const) {
        const got = store.range(to === undefined ? { key: b(from), revision: rev } : { key: b(from), rangeEnd: b(to), revision: rev });
        assert.ok(got.ok);
        const expected = ref.range(from, to, rev).map(([k, v]) => `${k}=${v.value}@${v.create}/${v.rev}/${v.version}`);
        assert.deepEqual(got.response.kvs.map((kv) => `${str(kv.key)}=${str(kv.value)}@${kv.createRevision}/${kv.modRevision}/${kv.version}`), expected);
        assert.equal(got.response.count, expected.length);
      }
    }
  }), { numRuns: 300 });
});
