import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { MemoryLogger } from '../../lib/logger.js';
import { echo, echoMethod, writeEchoProto, type EchoMessage } from './echo-fixture.js';
import { ClientPortServer, GrpcError, GrpcStatus, MethodRegistry, type ServingLimits } from './index.js';

type Client = grpc.Client & Record<string, any>;
const protoFile = writeEchoProto();
const packageDef = protoLoader.loadSync(protoFile, { keepCase: true, defaults: true });
const EchoClient = (grpc.loadPackageDefinition(packageDef) as any).concord.test.Echo as typeof grpc.Client;

function unary(client: Client, req: object, options: { metadata?: grpc.Metadata; deadlineMs?: number } = {}): Promise<any> {
  return new Promise((resolve, reject) => {
    const callOptions = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
    client.Unary(req, options.metadata ?? new grpc.Metadata(), callOptions, (err: grpc.ServiceError | null, res: any) =>
      err ? reject(err) : resolve(res),
    );
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface Fixture {
  server: ClientPortServer;
  address: string;
  client: Client;
  logger: MemoryLogger;
  close(): Promise<void>;
}

async function start(registry: MethodRegistry, limits: Partial<ServingLimits> = {}, clientOptions: grpc.ChannelOptions = {}): Promise<Fixture> {
  const logger = new MemoryLogger();
  const server = new ClientPortServer({ registry, logger, limits });
  const { port } = await server.listen(0);
  const address = `127.0.0.1:${port}`;
  const client = new EchoClient(address, grpc.credentials.createInsecure(), clientOptions) as Client;
  return {
    server,
    address,
    client,
    logger,
    async close() {
      client.close();
      await server.close(100);
    },
  };
}

/** rawCall sends one request on a plain node:http2 client and returns response headers + trailers. */
async function rawCall(address: string, headers: http2.OutgoingHttpHeaders, body: Buffer | undefined, endStream = true): Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; data: Buffer }> {
  const session = http2.connect(`http://${address}`);
  try {
    return await new Promise((resolve, reject) => {
      const stream = session.request({ ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers', ...headers });
      let responseHeaders: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      stream.on('response', (h) => (responseHeaders = h));
      stream.on('trailers', (t) => (trailers = t));
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', reject);
      stream.on('close', () => resolve({ headers: responseHeaders, trailers, data: Buffer.concat(chunks) }));
      if (body !== undefined) stream.write(body);
      if (endStream) stream.end();
    });
  } finally {
    session.close();
  }
}

function frame(payload: Buffer, flag = 0): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out[0] = flag;
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, 5);
  return out;
}

describe('gRPC server with the grpc-js client', () => {
  const registry = new MethodRegistry();
  const seen = { lastSignal: undefined as AbortSignal | undefined, aborted: [] as GrpcError[], blockedSends: 0, metadata: {} as Record<string, unknown> };
  registry.unary(echoMethod('Unary'), async (req: EchoMessage, call) => {
    if (req.message.startsWith('fail:')) {
      const [, code, ...rest] = req.message.split(':');
      throw new GrpcError(Number(code) as never, rest.join(':'));
    }
    if (req.message === 'throw') throw new TypeError('handler bug');
    if (req.message === 'hang') {
      seen.lastSignal = call.signal;
      await new Promise<void>((resolve) => call.signal.addEventListener('abort', () => resolve(), { once: true }));
      seen.aborted.push(call.signal.reason as GrpcError);
      throw call.signal.reason;
    }
    if (req.message === 'metadata') {
      seen.metadata = { consistency: call.metadata['x-consistency'], bin: call.metadata['x-blob-bin'] };
      call.setHeader('x-served-by', 'concord-1');
      call.setTrailer('x-trailer', 'done');
    }
    return echo(req.message, req.number + 1, req.payload);
  });
  registry.serverStream(echoMethod('ServerStream'), async (req: EchoMessage, call) => {
    for (let i = 0; i < req.number; i++) {
      await call.send(echo(req.message, i));
    }
    if (req.message === 'wait-cancel') {
      await new Promise<void>((resolve) => call.signal.addEventListener('abort', () => resolve(), { once: true }));
      seen.aborted.push(call.signal.reason as GrpcError);
    }
  });
  registry.clientStream(echoMethod('ClientStream'), async (requests, call) => {
    let total = 0;
    let count = 0;
    for await (const r of requests) {
      total += r.number;
      count++;
    }
    void call;
    return echo(`received ${count}`, total);
  });
  registry.bidi(echoMethod('Bidi'), async (requests, call) => {
    let i = 0;
    for await (const r of requests) {
      if (r.message === 'slow-start' && i === 0) await sleep(100);
      if (r.message === 'flood') {
        // Send much more than the flow-control windows hold; count sends that had to wait.
        const payload = Buffer.alloc(64 * 1024, 7);
        for (let k = 0; k < r.number; k++) {
          let settled = false;
          const p = call.send(echo('f', k, payload)).then(() => (settled = true));
          await null;
          await null;
          if (!settled) seen.blockedSends++;
          await p;
        }
        continue;
      }
      await call.send(echo(r.message, i++));
    }
    await call.send(echo('end', i));
  });

  let f: Fixture;
  before(async () => {
    f = await start(registry, { keepaliveIntervalMs: 0 });
  });
  after(() => f.close());

  test('unary call round-trips a message', async () => {
    const res = await unary(f.client, { message: 'héllo', count: 41 });
    assert.equal(res.message, 'héllo');
    assert.equal(res.index, 42);
  });

  test('a GrpcError reaches the client as status and message, non-ASCII included', async () => {
    const message = 'ключ не найден: 100% 🙂\nnext line';
    await assert.rejects(unary(f.client, { message: `fail:5:${message}` }), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.NOT_FOUND);
      assert.equal(err.details, message);
      return true;
    });
  });

  test('any other error becomes UNKNOWN, is logged with its cause, and the server keeps serving', async () => {
    await assert.rejects(unary(f.client, { message: 'throw' }), (err: grpc.ServiceError) => err.code === grpc.status.UNKNOWN && err.details === 'handler bug');
    const line = f.logger.lines.find((l) => l.message === 'grpc handler failed');
    assert.ok(line, 'the failure is logged');
    assert.ok(line.fields?.['cause'] instanceof TypeError);
    assert.equal((await unary(f.client, { message: 'again' })).message, 'again');
  });

  test('a client deadline ends the call with DEADLINE_EXCEEDED and aborts the handler', async () => {
    seen.aborted.length = 0;
    const started = Date.now();
    await assert.rejects(unary(f.client, { message: 'hang' }, { deadlineMs: 150 }), (err: grpc.ServiceError) => err.code === grpc.status.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - started < 2000);
    await sleep(50);
    assert.equal(seen.lastSignal?.aborted, true, "the handler's signal fired");
    assert.equal(seen.aborted.length, 1);
    // Either the server's timer or the client's RST_STREAM got there first.
    assert.ok([GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.CANCELLED].includes(seen.aborted[0]!.code as never));
  });

  test('the server enforces grpc-timeout itself and sends DEADLINE_EXCEEDED', async () => {
    const body = frame(Buffer.from([0x0a, 4, ...Buffer.from('hang')]));
    const res = await rawCall(f.address, { ':path': '/concord.test.Echo/Unary', 'grpc-timeout': '80m' }, body);
    assert.equal(res.headers['grpc-status'] ?? res.trailers['grpc-status'], '4');
    assert.equal(res.headers['grpc-message'] ?? res.trailers['grpc-message'], 'context deadline exceeded');
  });

  test('a malformed grpc-timeout is refused with INTERNAL', async () => {
    const res = await rawCall(f.address, { ':path': '/concord.test.Echo/Unary', 'grpc-timeout': '12x' }, frame(Buffer.alloc(0)));
    assert.equal(res.headers['grpc-status'], '13');
  });

  test('client cancellation (RST_STREAM) aborts the handler with CANCELLED', async () => {
    seen.aborted.length = 0;
    const call = f.client.ServerStream({ message: 'wait-cancel', count: 1 });
    await new Promise<void>((resolve) => call.once('data', () => resolve()));
    call.on('error', () => {});
    call.cancel();
    for (let i = 0; i < 50 && seen.aborted.length === 0; i++) await sleep(10);
    assert.equal(seen.aborted.length, 1);
    assert.equal(seen.aborted[0]!.code, GrpcStatus.CANCELLED);
    assert.equal(seen.aborted[0]!.message, 'context canceled');
  });

  test('server streaming delivers every message in order, then OK', async () => {
    const call = f.client.ServerStream({ message: 's', count: 500 });
    const indexes: number[] = [];
    call.on('data', (m: any) => indexes.push(m.index));
    const status = await new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(indexes, Array.from({ length: 500 }, (_, i) => i));
  });

  test('client streaming reads every request', async () => {
    const res = await new Promise<any>((resolve, reject) => {
      const call = f.client.ClientStream((err: grpc.ServiceError | null, r: any) => (err ? reject(err) : resolve(r)));
      for (let i = 1; i <= 1000; i++) call.write({ message: 'x', count: i });
      call.end();
    });
    assert.equal(res.message, 'received 1000');
    assert.equal(res.index, 500500);
  });

  test('bidi streaming echoes many messages in order (request queue pauses and resumes)', async () => {
    const call = f.client.Bidi();
    const got: any[] = [];
    call.on('data', (m: any) => got.push(m));
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.write({ message: 'slow-start' });
    for (let i = 1; i < 5000; i++) call.write({ message: `m${i}` });
    call.end();
    assert.equal((await status).code, grpc.status.OK);
    assert.equal(got.length, 5001);
    assert.equal(got[0].message, 'slow-start');
    for (let i = 1; i < 5000; i++) assert.equal(got[i].index, i);
    assert.equal(got[5000].message, 'end');
  });

  test('bidi send() applies backpressure to a slow reader', async () => {
    seen.blockedSends = 0;
    const call = f.client.Bidi();
    let received = 0;
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.write({ message: 'flood', count: 400 }); // 400 × 64 KiB = 25 MiB
    call.end();
    call.pause();
    await sleep(200);
    call.on('data', () => received++);
    call.resume();
    assert.equal((await status).code, grpc.status.OK);
    assert.equal(received, 401);
    assert.ok(seen.blockedSends > 0, `some sends waited for drain (${seen.blockedSends})`);
  });

  test('metadata flows in (headers) and out (headers and trailers)', async () => {
    const md = new grpc.Metadata();
    md.set('x-consistency', 'serializable');
    md.set('x-blob-bin', Buffer.from([1, 2, 3]));
    const result = await new Promise<{ headers: grpc.Metadata; trailers: grpc.Metadata }>((resolve, reject) => {
      let headers: grpc.Metadata | undefined;
      const call = f.client.Unary({ message: 'metadata' }, md, (err: grpc.ServiceError | null) => err && reject(err));
      call.on('metadata', (h: grpc.Metadata) => (headers = h));
      call.on('status', (s: grpc.StatusObject) => resolve({ headers: headers!, trailers: s.metadata }));
    });
    assert.deepEqual(seen.metadata, { consistency: 'serializable', bin: Buffer.from([1, 2, 3]).toString('base64').replace(/=+$/, '') });
    assert.deepEqual(result.headers.get('x-served-by'), ['concord-1']);
    assert.deepEqual(result.trailers.get('x-trailer'), ['done']);
  });

  test('a message above the receive limit is refused with RESOURCE_EXHAUSTED; the server keeps serving', async () => {
    const payload = Buffer.alloc(f.server.limits.receiveMessageBytesMax + 10, 1);
    await assert.rejects(unary(f.client, { message: 'big', payload }), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.match(err.details, /^grpc: received message larger than max \(\d+ vs\. 2097152\)$/);
      return true;
    });
    // Just below the limit passes.
    const ok = await unary(f.client, { message: 'fits', payload: Buffer.alloc(f.server.limits.requestBytesMax, 2) });
    assert.equal(ok.payload.length, f.server.limits.requestBytesMax);
  });

  test('an unknown method is UNIMPLEMENTED', async () => {
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      f.client.makeUnaryRequest('/concord.test.Echo/Nope', (x: Buffer) => x, (x: Buffer) => x, Buffer.alloc(0), (e: grpc.ServiceError | null) => resolve(e!)),
    );
    assert.equal(err.code, grpc.status.UNIMPLEMENTED);
    assert.equal(err.details, 'unknown method Nope for service concord.test.Echo');
  });

  test('a gzip-compressed request is accepted', async () => {
    const before = f.server.stats.grpcCompressedMessages;
    const gz = new EchoClient(f.address, grpc.credentials.createInsecure(), { 'grpc.default_compression_algorithm': 2 }) as Client;
    try {
      const res = await unary(gz, { message: 'zipped', payload: Buffer.alloc(10_000, 3) });
      assert.equal(res.message, 'zipped');
      assert.equal(res.payload.length, 10_000);
      assert.ok(f.server.stats.grpcCompressedMessages > before, 'the request really was compressed');
    } finally {
      gz.close();
    }
  });

  test('malformed frames end the call with INTERNAL and the server keeps serving', async () => {
    const truncated = await rawCall(f.address, { ':path': '/concord.test.Echo/Unary' }, Buffer.from([0, 0, 0]));
    assert.equal(truncated.headers['grpc-status'], '13');
    const shortBody = await rawCall(f.address, { ':path': '/concord.test.Echo/Unary' }, Buffer.from([0, 0, 0, 0, 9, 1, 2]));
    assert.equal(shortBody.headers['grpc-status'], '13');
    const badFlag = await rawCall(f.address, { ':path': '/concord.test.Echo/Unary' }, frame(Buffer.alloc(1), 7));
    assert.equal(badFlag.headers['grpc-status'], '13');
    const badProto = await rawCall(f.address, { ':path': '/concord.test.Echo/Unary' }, frame(Buffer.from([0xff, 0xff])));
    assert.equal(badProto.headers['grpc-status'], '13');
    assert.match(decodeURIComponent(String(badProto.headers['grpc-message'])), /^grpc: error unmarshalling request/);
    const badEncoding = await rawCall(f.address, { ':path': '/concord.test.Echo/Unary', 'grpc-encoding': 'snappy' }, frame(Buffer.alloc(0)));
    assert.equal(badEncoding.headers['grpc-status'], '12');
    assert.equal((await unary(f.client, { message: 'still here' })).message, 'still here');
  });
});

describe('gRPC server connection management', () => {
  test('client keepalive PINGs are answered and counted', async () => {
    const registry = new MethodRegistry();
    registry.unary(echoMethod('Unary'), (req: EchoMessage) => req);
    const f = await start(registry, {}, {
      'grpc.keepalive_time_ms': 100,
      'grpc.keepalive_timeout_ms': 1000,
      'grpc.keepalive_permit_without_calls': 1,
    });
    try {
      await unary(f.client, { message: 'a' });
      await sleep(450);
      assert.ok(f.server.stats.pingsReceived >= 2, `pings: ${f.server.stats.pingsReceived}`);
      assert.equal((await unary(f.client, { message: 'b' })).message, 'b');
      assert.equal(f.server.stats.sessionsOpened, 1, 'the connection survived');
    } finally {
      await f.close();
    }
  });

  test('idle connections are closed; the client reconnects transparently', async () => {
    const registry = new MethodRegistry();
    registry.unary(echoMethod('Unary'), (req: EchoMessage) => req);
    const f = await start(registry, { sessionIdleMs: 100 });
    try {
      await unary(f.client, { message: 'a' });
      await sleep(350);
      assert.equal(f.server.stats.sessionsClosedIdle, 1);
      assert.equal((await unary(f.client, { message: 'b' })).message, 'b');
      assert.equal(f.server.stats.sessionsOpened, 2);
    } finally {
      await f.close();
    }
  });

  test('max concurrent streams bounds the calls running on one connection', async () => {
    const registry = new MethodRegistry();
    let running = 0;
    let peak = 0;
    registry.unary(echoMethod('Unary'), async (req: EchoMessage) => {
      running++;
      peak = Math.max(peak, running);
      await sleep(30);
      running--;
      return req;
    });
    const f = await start(registry, { concurrentStreamsMax: 2 });
    try {
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => unary(f.client, { message: `c${i}` })));
      assert.equal(results.length, 8);
      assert.equal(peak, 2);
    } finally {
      await f.close();
    }
  });

  test('close() lets running calls finish (GOAWAY) within the grace period', async () => {
    const registry = new MethodRegistry();
    registry.unary(echoMethod('Unary'), async (req: EchoMessage) => {
      await sleep(100);
      return req;
    });
    const f = await start(registry);
    const pending = unary(f.client, { message: 'late' });
    await sleep(20);
    await f.server.close(1000);
    assert.equal((await pending).message, 'late');
    f.client.close();
  });
});
