import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyHistory, type KeyWrite } from './key-history.js';
import { RevisionLog } from './revision-log.js';
import { b } from './testing.js';

const write = (main: number, sub: number): KeyWrite => ({ main, sub, kv: null });

test('the revision log finds revisions by bisection and drops a compacted prefix', () => {
  const log = new RevisionLog();
  const a = new KeyHistory(b('a'), 'a');
  const c = new KeyHistory(b('c'), 'c');
  log.append(a, write(2, 0));
  log.append(a, write(4, 0));
  log.append(c, write(4, 1));
  log.append(c, write(7, 0));
  assert.deepEqual([1, 2, 3, 4, 5, 7, 8].map((main) => log.firstAtOrAbove(main)), [0, 0, 1, 1, 3, 3, 4]);
  assert.equal(log.historyAt(2), c);
  assert.deepEqual(log.writeAt(2), write(4, 1));
  log.dropBelow(4);
  assert.equal(log.length, 3);
  assert.deepEqual(log.writeAt(0), write(4, 0));
  assert.equal(log.historyAt(0), a);
  log.dropBelow(8);
  assert.equal(log.length, 0);
});

test('the revision log refuses a write out of revision order', () => {
  const log = new RevisionLog();
  const a = new KeyHistory(b('a'), 'a');
  log.append(a, write(5, 1));
  assert.throws(() => log.append(a, write(5, 1)));
  assert.throws(() => log.append(a, write(4, 9)));
  log.append(a, write(5, 2));
  assert.equal(log.length, 2);
});
