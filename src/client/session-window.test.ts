import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClientErrorCode, ConcordClientError } from './errors.js';
import { SeqWindow } from './session-window.js';

/** Runs queued microtasks (resolved acquires) before looking at the window again. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('SeqWindow: seq numbering and the ack watermark of a session', () => {
  test('seqs count from 1; ack is the lowest open seq - 1, or the last seq when none is open', async () => {
    const w = new SeqWindow(8);
    assert.equal(w.ack, 0);
    const [a, b, c] = [await w.acquire(), await w.acquire(), await w.acquire()];
    assert.deepEqual([a, b, c], [1, 2, 3]);
    assert.equal(w.ack, 0);
    w.complete(2); // answered out of order: 1 is still open
    assert.equal(w.ack, 0);
    w.complete(1);
    assert.equal(w.ack, 2, '1 and 2 answered, 3 open');
    w.complete(3);
    assert.equal(w.ack, 3);
    assert.equal(await w.acquire(), 4);
    assert.equal(w.ack, 3, 'ack stays below every open seq');
  });

  test('ack is always below every open seq (random completion order)', async () => {
    const w = new SeqWindow(16);
    const open: number[] = [];
    let last = 0;
    let seed = 7;
    const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    for (let step = 0; step < 2_000; step++) {
      const room = last + 1 - w.ack <= 16; // the window bounds seqs above the ack, not the open count
      if (room && rand(2) === 0) open.push(last = await w.acquire());
      else if (open.length > 0) w.complete(open.splice(rand(open.length), 1)[0]!);
      for (const s of open) assert.ok(w.ack < s, `ack ${w.ack} < open seq ${s}`);
      assert.ok(last - w.ack <= 16, 'at most windowMax seqs above the ack');
      if (open.length > 0) assert.equal(w.ack, Math.min(...open) - 1);
    }
  });

  test('a full window queues acquires in order until the lowest open seq completes', async () => {
    const w = new SeqWindow(3);
    const first = [await w.acquire(), await w.acquire(), await w.acquire()];
    assert.deepEqual(first, [1, 2, 3]);
    const got: number[] = [];
    const waiting = [w.acquire().then((s) => got.push(s)), w.acquire().then((s) => got.push(s))];
    await settle();
    assert.deepEqual(got, [], 'seq 4 would put 4 seqs above ack 0');
    assert.equal(w.waiting, 2);
    w.complete(3); // not the lowest: the ack does not move
    await settle();
    assert.deepEqual(got, []);
    w.complete(1); // ack 1: room for seq 4 only
    await settle();
    assert.deepEqual(got, [4]);
    w.complete(2); // ack 3 (2 and 3 done): room for 5
    await Promise.all(waiting);
    assert.deepEqual(got, [4, 5]);
    assert.equal(w.ack, 3);
  });

  test('fail rejects queued and later acquires; completing an unknown seq is a programmer error', async () => {
    const w = new SeqWindow(1);
    const one = await w.acquire();
    const queued = w.acquire();
    const reason = new ConcordClientError(ClientErrorCode.SessionExpired, 'gone');
    w.fail(reason);
    await assert.rejects(queued, (e: unknown) => e === reason);
    await assert.rejects(w.acquire(), (e: unknown) => e === reason);
    w.complete(one);
    assert.throws(() => w.complete(one), /not open/);
    assert.throws(() => new SeqWindow(0), RangeError);
  });
});
