import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageDeframer, frameMessage } from './deframer.js';
import { RequestQueue } from './request-queue.js';
import { GrpcStatus, decodeGrpcMessage, encodeGrpcMessage } from './status.js';
import { parseGrpcTimeout } from './timeout.js';

test('encodeGrpcMessage percent-encodes non-printable bytes and %, leaves plain ASCII alone', () => {
  const plain = 'etcdserver: key not found';
  assert.equal(encodeGrpcMessage(plain), plain);
  assert.equal(encodeGrpcMessage('100% é\n'), '100%25 %C3%A9%0A');
  for (const s of ['ключ', '🙂 % %zz', '']) assert.equal(decodeGrpcMessage(encodeGrpcMessage(s)), s);
  assert.equal(decodeGrpcMessage('bad %zz %4'), 'bad %zz %4');
});

test('parseGrpcTimeout accepts every unit and rejects malformed values', () => {
  assert.equal(parseGrpcTimeout('1H'), 3_600_000);
  assert.equal(parseGrpcTimeout('2M'), 120_000);
  assert.equal(parseGrpcTimeout('3S'), 3000);
  assert.equal(parseGrpcTimeout('40m'), 40);
  assert.equal(parseGrpcTimeout('1500u'), 2);
  assert.equal(parseGrpcTimeout('1n'), 1);
  assert.equal(parseGrpcTimeout('99999999H'), 2 ** 31 - 1);
  for (const bad of ['', 'S', '10', '1x', '-1S', '123456789S', '1.5S']) assert.equal(parseGrpcTimeout(bad), undefined, bad);
});

test('MessageDeframer reassembles messages split at every byte boundary', () => {
  const messages = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(300, 9), Buffer.from('last')];
  const wire = Buffer.concat(messages.map((m) => frameMessage(m)));
  for (let step = 1; step <= wire.length; step++) {
    const got: Buffer[] = [];
    const d = new MessageDeframer(1000);
    for (let o = 0; o < wire.length; o += step) {
      assert.equal(d.push(wire.subarray(o, o + step), { onMessage: (_c, b) => got.push(Buffer.from(b)) }), undefined);
    }
    assert.deepEqual(got, messages, `step ${step}`);
    assert.equal(d.midMessage, false);
  }
});

test('MessageDeframer refuses oversized messages before allocating, and bad flags', () => {
  const d = new MessageDeframer(10);
  const big = Buffer.from([0, 0, 0, 0, 11]);
  assert.equal(d.push(big, { onMessage: () => assert.fail() })?.code, GrpcStatus.RESOURCE_EXHAUSTED);
  const e = new MessageDeframer(10);
  assert.equal(e.push(Buffer.from([2, 0, 0, 0, 0]), { onMessage: () => assert.fail() })?.code, GrpcStatus.INTERNAL);
  const t = new MessageDeframer(10);
  t.push(Buffer.from([0, 0, 0]), { onMessage: () => assert.fail() });
  assert.equal(t.midMessage, true, 'a truncated prefix is detectable at end of stream');
});

test('RequestQueue delivers in order, pauses at capacity, resumes at half, fails pending reads', async () => {
  const pressure: boolean[] = [];
  const q = new RequestQueue<number>(4, (p) => pressure.push(p));
  for (let i = 0; i < 6; i++) q.push(i);
  assert.deepEqual(pressure, [true]);
  const got: number[] = [];
  for (let i = 0; i < 4; i++) got.push((await q.next()).value as number);
  assert.deepEqual(pressure, [true, false]);
  q.close();
  for await (const v of q) got.push(v);
  assert.deepEqual(got, [0, 1, 2, 3, 4, 5]);

  const r = new RequestQueue<number>(4, () => {});
  const pending = r.next();
  r.fail(new Error('cancelled'));
  await assert.rejects(pending, /cancelled/);
  await assert.rejects(r.next(), /cancelled/);
});
