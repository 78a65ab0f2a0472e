import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteSlab } from './byte-slab.js';
import { MvccStore } from './mvcc-store.js';
import { b, str, unwrap } from './testing.js';

test('slab copies are independent of their input and packed into shared chunks', () => {
  const slab = new ByteSlab(16, 8);
  const input = b('abcd');
  const one = slab.copy(input);
  input[0] = 0x7a;
  const two = slab.copy(b('efgh'));
  assert.equal(str(one), 'abcd');
  assert.equal(str(two), 'efgh');
  assert.equal(one.buffer, two.buffer, 'small copies share a chunk');
  assert.equal(two.byteOffset, 4);
  const three = slab.copy(b('0123456789'));
  assert.notEqual(three.buffer, one.buffer, 'an input above the large bound gets its own buffer');
  assert.equal(three.buffer.byteLength, 10);
  const four = slab.copy(b('ijklmnop'));
  const five = slab.copy(b('q'));
  assert.notEqual(five.buffer, one.buffer, 'a full chunk is followed by a new one');
  assert.equal(four.buffer, one.buffer);
  assert.equal(slab.copy(new Uint8Array(0)).length, 0);
});

test('a chunk is sparse once three quarters of it are released, and never while it is being filled', () => {
  const slab = new ByteSlab(16, 8);
  const views = [slab.copy(b('aaaa')), slab.copy(b('bbbb')), slab.copy(b('cccc')), slab.copy(b('dddd'))];
  slab.release(views[0]!);
  slab.release(views[1]!);
  slab.release(views[2]!);
  assert.equal(slab.isSparse(views[3]!), false, 'the chunk being filled is never sparse');
  slab.copy(b('e'));
  assert.equal(slab.heldBytes(views[3]!), 4);
  assert.equal(slab.isSparse(views[3]!), true);
  const other = [slab.copy(b('ffff')), slab.copy(b('gggg')), slab.copy(b('hhhh')), slab.copy(b('iiii'))];
  slab.copy(b('j'));
  slab.release(other[0]!);
  slab.release(other[1]!);
  assert.equal(slab.isSparse(other[2]!), false, 'half held is not sparse');
});

test('compaction repacks surviving values out of mostly released chunks, keeping every byte', () => {
  const store = new MvccStore();
  const value = (i: number): Uint8Array => b(`value-${i}-`.padEnd(1000, String(i % 10)));
  // One cold key written first, then a hot key overwritten many times: after compaction only the
  // cold key's first chunk survives, held by a single value.
  unwrap(store.put({ key: b('cold'), value: value(0) }));
  for (let i = 1; i <= 200; i++) unwrap(store.put({ key: b('hot'), value: value(i) }));
  const coldBefore = unwrap(store.range({ key: b('cold') })).kvs[0]!;
  const chunkBefore = coldBefore.value.buffer;
  unwrap(store.compact({ revision: store.currentRevision }));
  const cold = unwrap(store.range({ key: b('cold') })).kvs[0]!;
  const hot = unwrap(store.range({ key: b('hot') })).kvs[0]!;
  assert.equal(str(cold.value), str(value(0)));
  assert.equal(str(hot.value), str(value(200)));
  assert.equal(str(cold.key), 'cold');
  assert.notEqual(cold.value.buffer, chunkBefore, 'the cold value moved out of its sparse chunk');
  assert.equal(cold.modRevision, coldBefore.modRevision);
  assert.equal(str(coldBefore.value), str(value(0)), 'a kv handed out earlier still reads the same bytes');
});
