import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reconnectDelayMs } from './backoff.js';
import { parsePeerUrl } from './peer-url.js';
import { resolveTransportLimits } from './limits.js';

test('reconnect delay doubles from the minimum, is capped, and is jittered within [ceiling/2, ceiling]', () => {
  const low = (n: number): number => reconnectDelayMs(n, 50, 2000, () => 0);
  const high = (n: number): number => reconnectDelayMs(n, 50, 2000, () => 0.999999);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(low), [25, 50, 100, 200, 400, 800, 1000]);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(high), [50, 100, 200, 400, 800, 1600, 2000]);
  assert.equal(high(1000), 2000);
});

test('peer urls: http and tcp with a port; others refused with a stable code', () => {
  assert.deepEqual(parsePeerUrl('http://10.0.0.1:2380'), { host: '10.0.0.1', port: 2380 });
  assert.deepEqual(parsePeerUrl(new URL('tcp://[::1]:7000')), { host: '::1', port: 7000 });
  for (const bad of ['https://a:1', 'http://a', 'nonsense', 'unix:///tmp/x']) {
    assert.throws(() => parsePeerUrl(bad), (e: unknown) => (e as { code?: string }).code === 'TRANSPORT_BAD_PEER_URL', bad);
  }
});

test('limits: relationships are asserted', () => {
  assert.throws(() => resolveTransportLimits({ frameBytesMax: 1024 * 1024, snapshotChunkBytes: 1024 * 1024 }), /snapshot chunk must fit/);
  assert.throws(() => resolveTransportLimits({ reconnectBackoffMsMin: 10, reconnectBackoffMsMax: 5 }), /reconnectBackoffMsMin/);
  assert.throws(() => resolveTransportLimits({ peerQueueMessagesMax: 0 }), /positive integer/);
});
