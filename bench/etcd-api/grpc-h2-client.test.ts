import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { GRPC_CODE_TRANSPORT, GrpcCallError, GrpcEndpointClient } from './grpc-h2-client.js';

/**
 * The load generator's gRPC client against node:http2's server (an HTTP/2 implementation other
 * than ours) over real TCP: answers with trailers and trailers-only, flow control both ways past
 * the default windows and frame size, the server's concurrency limit, resets, streams, cancel,
 * and a server that goes away.
 */

function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** readBody collects a request's body. */
function readBody(stream: http2.ServerHttp2Stream): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

interface Server {
  port: number;
  server: http2.Http2Server;
  sessions: Set<http2.ServerHttp2Session>;
  close(): Promise<void>;
}

/**
 * startServer serves: /t/echo (answers the request message, with trailers), /t/big (answers
 * `n` bytes, n from the request's first 4 bytes), /t/fail (trailers-only grpc-status 5),
 * /t/reset (RST_STREAM), /t/slow (answers after 50 ms; counts streams open at once), /t/bidi
 * (echoes each message until the client ends or cancels).
 */
async function startServer(settings: http2.Settings = {}): Promise<Server & { maxOpen: () => number; cancelled: () => number }> {
  const server = http2.createServer({ settings });
  const sessions = new Set<http2.ServerHttp2Session>();
  let open = 0;
  let maxOpen = 0;
  let cancelled = 0;
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.on('stream', (stream, headers) => {
    const path = headers[':path'];
    stream.on('error', () => { /* resets are part of the tests */ });
    assert.equal(headers['content-type'], 'application/grpc');
    assert.equal(headers.te, 'trailers');
    const answer = (message: Uint8Array): void => {
      if (stream.destroyed) return;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(frame(message));
    };
    if (path === '/t/bidi') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.on('data', (c: Buffer) => stream.write(c));
      stream.on('end', () => stream.end());
      stream.on('aborted', () => cancelled++);
      stream.on('close', () => { if (stream.rstCode === http2.constants.NGHTTP2_CANCEL) cancelled++; });
      return;
    }
    void readBody(stream).then((body) => {
      const message = body.subarray(5);
      assert.equal(body.readUInt32BE(1), message.length);
      switch (path) {
        case '/t/echo': return answer(message);
        case '/t/big': return answer(Buffer.alloc(message.readUInt32BE(0), 0x61));
        case '/t/fail':
          stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'key%20not%20found' }, { endStream: true });
          return;
        case '/t/reset':
          stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
          return;
        case '/t/slow':
          open++;
          maxOpen = Math.max(maxOpen, open);
          setTimeout(() => { open--; answer(message); }, 50);
          return;
        default:
          stream.respond({ ':status': 404 }, { endStream: true });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port, server, sessions,
    maxOpen: () => maxOpen,
    cancelled: () => cancelled,
    close: () => new Promise<void>((resolve) => {
      for (const s of sessions) s.destroy();
      server.close(() => resolve());
    }),
  };
}

test('unary calls: answers, grpc-status errors, resets and HTTP errors', async () => {
  const s = await startServer();
  const client = await GrpcEndpointClient.connect('127.0.0.1', s.port, 2);
  try {
    const many = await Promise.all(Array.from({ length: 200 }, (_, i) => client.unary('/t/echo', frame(Buffer.from(`message ${i}`)))));
    many.forEach((answer, i) => assert.equal(Buffer.from(answer).toString(), `message ${i}`));

    const empty = await client.unary('/t/echo', frame(new Uint8Array(0)));
    assert.equal(empty.length, 0);

    await assert.rejects(client.unary('/t/fail', frame(Buffer.from('x'))), (e: unknown) =>
      e instanceof GrpcCallError && e.code === 5 && e.message === 'grpc 5: key not found');
    await assert.rejects(client.unary('/t/reset', frame(Buffer.from('x'))), (e: unknown) =>
      e instanceof GrpcCallError && e.code === GRPC_CODE_TRANSPORT && /reset by the server \(HTTP\/2 error 2\)/.test(e.message));
    await assert.rejects(client.unary('/t/none', frame(Buffer.from('x'))), (e: unknown) =>
      e instanceof GrpcCallError && e.code === GRPC_CODE_TRANSPORT);

    // The connection still serves after every failure above.
    assert.equal(Buffer.from(await client.unary('/t/echo', frame(Buffer.from('after')))).toString(), 'after');
  } finally {
    client.close();
    await s.close();
  }
});

test('flow control: requests and answers far past the default windows and frame size', async () => {
  // A small server window: the client must wait for WINDOW_UPDATEs to send a large request.
  const s = await startServer({ initialWindowSize: 16_384, maxFrameSize: 16_384 });
  const client = await GrpcEndpointClient.connect('127.0.0.1', s.port, 1);
  try {
    const request = Buffer.alloc(300_000);
    for (let i = 0; i < request.length; i++) request[i] = (i * 7) & 0xff;
    const echoed = await Promise.all(Array.from({ length: 4 }, () => client.unary('/t/echo', frame(request))));
    for (const e of echoed) assert.ok(Buffer.from(e).equals(request));

    // Answers of 3 MiB: past the client's stream window (1 MiB) and, together, its connection window (8 MiB).
    const size = Buffer.alloc(4);
    size.writeUInt32BE(3 << 20);
    const answers = await Promise.all(Array.from({ length: 4 }, () => client.unary('/t/big', frame(size))));
    for (const a of answers) {
      assert.equal(a.length, 3 << 20);
      assert.equal(a[0], 0x61);
      assert.equal(a[a.length - 1], 0x61);
    }
  } finally {
    client.close();
    await s.close();
  }
});

test('the server\'s SETTINGS_MAX_CONCURRENT_STREAMS is honoured by queueing calls', async () => {
  const s = await startServer({ maxConcurrentStreams: 3 });
  const client = await GrpcEndpointClient.connect('127.0.0.1', s.port, 1);
  try {
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => client.unary('/t/slow', frame(Buffer.from(String(i))))));
    answers.forEach((a, i) => assert.equal(Buffer.from(a).toString(), String(i)));
    assert.equal(s.maxOpen(), 3);
  } finally {
    client.close();
    await s.close();
  }
});

test('streams: messages split across frames, then cancel ends the call with CANCELLED on both sides', async () => {
  const s = await startServer();
  const client = await GrpcEndpointClient.connect('127.0.0.1', s.port, 1);
  try {
    const received: string[] = [];
    const ends: Array<GrpcCallError | undefined> = [];
    const gotAll = new Promise<void>((resolve) => {
      const stream = client.stream('/t/bidi', {
        onMessage(bytes) {
          received.push(Buffer.from(bytes).toString());
          if (received.length === 3) {
            stream.cancel();
            resolve();
          }
        },
        onEnd(error) {
          ends.push(error);
        },
      });
      const all = Buffer.concat([frame(Buffer.from('one')), frame(Buffer.from('two')), frame(Buffer.from('three'))]);
      // Sent in pieces that cut the messages' prefixes: the answers come back cut the same way.
      stream.write(all.subarray(0, 3));
      stream.write(all.subarray(3, 11));
      stream.write(all.subarray(11));
    });
    await gotAll;
    assert.deepEqual(received, ['one', 'two', 'three']);
    assert.equal(ends.length, 1);
    assert.ok(ends[0] instanceof GrpcCallError && ends[0].code === 1, `ended with ${String(ends[0])}`);
    const deadline = Date.now() + 5_000;
    while (s.cancelled() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(s.cancelled() > 0, 'the server saw the stream cancelled');
  } finally {
    client.close();
    await s.close();
  }
});

test('a server that goes away fails the calls in flight and every call after', async () => {
  const s = await startServer();
  const client = await GrpcEndpointClient.connect('127.0.0.1', s.port, 1);
  try {
    const inFlight = client.unary('/t/slow', frame(Buffer.from('x')));
    await new Promise((r) => setTimeout(r, 10));
    for (const session of s.sessions) session.destroy();
    await assert.rejects(inFlight, (e: unknown) => e instanceof GrpcCallError && e.code === GRPC_CODE_TRANSPORT);
    await assert.rejects(client.unary('/t/echo', frame(Buffer.from('y'))), (e: unknown) => e instanceof GrpcCallError && e.code === GRPC_CODE_TRANSPORT);
  } finally {
    client.close();
    await s.close();
  }
});

test('the server\'s PINGs are answered', async () => {
  const s = await startServer();
  const client = await GrpcEndpointClient.connect('127.0.0.1', s.port, 1);
  try {
    const session = [...s.sessions][0]!;
    const rtt = await new Promise<number>((resolve, reject) => {
      session.ping(Buffer.from('pingpong'), (error, duration, payload) => {
        if (error) reject(error);
        else {
          assert.equal(payload.toString(), 'pingpong');
          resolve(duration);
        }
      });
    });
    assert.ok(rtt >= 0);
  } finally {
    client.close();
    await s.close();
  }
});
