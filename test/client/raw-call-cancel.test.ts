import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners, setMaxListeners } from 'node:events';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { GrpcChannel } from '../../src/client/grpc-channel.js';

test('cancelling a streaming call stops listening on its abort signal at once', async () => {
  // A server that accepts streams and never answers them, like a member cut off mid-call.
  const server = http2.createServer();
  const held: http2.ServerHttp2Stream[] = [];
  server.on('stream', (stream) => held.push(stream));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const channel = new GrpcChannel(`http://127.0.0.1:${port}`, 2_000);
  const controller = new AbortController();
  setMaxListeners(0, controller.signal); // twelve calls share it on purpose
  try {
    const calls = [];
    for (let i = 0; i < 12; i++) calls.push(await channel.open('/etcdserverpb.Lease/LeaseKeepAlive', { signal: controller.signal }, false));
    assert.equal(getEventListeners(controller.signal, 'abort').length, 12);
    for (const call of calls) call.cancel();
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    for (const call of calls) await assert.rejects(call.next(), /canceled by the client/);
    // The signal still works for a call that was not cancelled.
    const live = await channel.open('/etcdserverpb.Lease/LeaseKeepAlive', { signal: controller.signal }, false);
    controller.abort(new Error('stop'));
    await assert.rejects(live.next(), /aborted/);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  } finally {
    channel.close();
    for (const s of held) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
