import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { IdTable } from './id-table.js';
import { Xoshiro128 } from './prng.js';

function expectSame(table: IdTable<string>, model: Map<number, string>, context: string): void {
  assert.equal(table.size, model.size, `${context}: size`);
  const sorted = [...model.entries()].sort((a, b) => a[0] - b[0]);
  assert.deepEqual(table.entries(), sorted, `${context}: entries`);
  assert.deepEqual(table.values(), sorted.map(([, v]) => v), `${context}: values`);
}

test('IdTable behaves as a Map over random runs of rising ids, out-of-order ids, deletes and clears', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const rng = new Xoshiro128(seed);
    const table = new IdTable<string>();
    const model = new Map<number, string>();
    let next = 1;
    for (let step = 0; step < 400; step++) {
      const r = rng.nextUint32() % 100;
      const context = `seed ${seed} step ${step}`;
      if (r < 45) {
        const id = next;
        next += 1 + (rng.nextUint32() % 3);
        table.set(id, `v${id}.${step}`);
        model.set(id, `v${id}.${step}`);
      } else if (r < 52) {
        // An id at or below the highest: a replacement or an insertion in the middle.
        const id = rng.nextUint32() % (next + 1);
        table.set(id, `w${id}.${step}`);
        model.set(id, `w${id}.${step}`);
      } else if (r < 92) {
        // Mostly the oldest entries, as streams and proposals finish.
        const keys = [...model.keys()].sort((a, b) => a - b);
        const id = keys.length > 0 && rng.nextUint32() % 4 !== 0
          ? keys[rng.nextUint32() % Math.min(keys.length, 3)]!
          : rng.nextUint32() % (next + 1);
        assert.equal(table.delete(id), model.delete(id), `${context}: delete ${id}`);
      } else if (r < 93) {
        table.clear();
        model.clear();
      } else {
        const id = rng.nextUint32() % (next + 1);
        assert.equal(table.get(id), model.get(id), `${context}: get ${id}`);
        assert.equal(table.has(id), model.has(id), `${context}: has ${id}`);
      }
      if (step % 25 === 0) expectSame(table, model, context);
    }
    expectSame(table, model, `seed ${seed} end`);
  }
});

test('IdTable keeps working through many thousands of ids with a few long-lived entries', () => {
  const table = new IdTable<string>();
  table.set(1, 'long-lived');
  for (let id = 2; id < 50_000; id++) {
    table.set(id, `v${id}`);
    if (id > 20) assert.equal(table.delete(id - 19), true);
  }
  assert.equal(table.get(1), 'long-lived');
  assert.equal(table.size, 1 + 19);
  assert.equal(table.get(49_999), 'v49999');
  assert.equal(table.get(49_980), undefined);
  assert.equal(table.delete(1), true);
  assert.equal(table.size, 19);
});

test('IdTable refuses undefined values', () => {
  assert.throws(() => new IdTable<string | undefined>().set(1, undefined));
});

test('IdTable holds no reference to a deleted or cleared value (checked with a real collection)', () => {
  // A child process with --expose-gc: after delete() and clear(), the values must be collectable
  // while the table itself is still alive.
  const script = `
    import { IdTable } from ${JSON.stringify(new URL('./id-table.js', import.meta.url).href)};
    const table = new IdTable();
    const refs = [];
    function fill() {
      for (let id = 1; id <= 200; id++) {
        const value = { id, payload: new Array(8).fill(id) };
        refs.push(new WeakRef(value));
        table.set(id, value);
      }
    }
    fill();
    for (let id = 1; id <= 150; id++) table.delete(id);
    await new Promise((r) => setTimeout(r, 0));
    globalThis.gc();
    const afterDelete = refs.slice(0, 150).filter((r) => r.deref() !== undefined).length;
    const kept = refs.slice(150).filter((r) => r.deref() !== undefined).length;
    table.clear();
    await new Promise((r) => setTimeout(r, 0));
    globalThis.gc();
    const afterClear = refs.filter((r) => r.deref() !== undefined).length;
    console.log(JSON.stringify({ afterDelete, kept, afterClear, size: table.size }));
  `;
  const run = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), { afterDelete: 0, kept: 50, afterClear: 0, size: 0 });
});
