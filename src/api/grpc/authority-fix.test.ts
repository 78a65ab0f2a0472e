import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { decodeEcho, echo, echoFrame, echoMethod, writeEchoProto, type EchoMessage } from './echo-fixture.js';
import { decodeHeaderBlock, HpackDynamicTable } from './hpack-decode.js';
import { h2Frame, TestHpackEncoder } from './hpack-fixture.js';
import { ClientPortServer, MethodRegistry } from './index.js';

const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const T = { data: 0x0, headers: 0x1, rstStream: 0x3, settings: 0x4, ping: 0x6, goaway: 0x7 };

function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = async (): Promise<void> => {
      if (await check()) return resolve();
      if (Date.now() > deadline) return reject(new Error('condition not reached'));
      setTimeout(() => void poll(), 10);
    };
    void poll();
  });
}

function connections(server: ClientPortServer): Promise<number> {
  return new Promise((resolve, reject) => server.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

/** h2Unary sends one Echo/Unary call on an open node:http2 client session. */
function h2Get(session: http2.ClientHttp2Session, authority: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'GET', ':path': path, ':authority': authority });
    let status = 0;
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('error', reject);
    stream.resume();
    stream.on('close', () => resolve(status));
  });
}

function h2Unary(session: http2.ClientHttp2Session, authority: string, m: EchoMessage): Promise<{ status: string | undefined; reply: EchoMessage }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': '/concord.test.Echo/Unary',
      ':authority': authority,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const chunks: Buffer[] = [];
    let status: string | undefined;
    stream.on('trailers', (t) => (status = t['grpc-status'] as string | undefined));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', reject);
    stream.on('close', () => {
      const data = Buffer.concat(chunks);
      if (data.length < 5) return reject(new Error(`no response message (rst code ${stream.rstCode})`));
      resolve({ status, reply: decodeEcho(data.subarray(5, 5 + data.readUInt32BE(1))) });
    });
    stream.end(echoFrame(m));
  });
}

/**
 * goLikeCall speaks HTTP/2 on a raw socket the way grpc-go does: preface + SETTINGS, then it
 * waits for the server's SETTINGS before sending anything else; meanwhile it PINGs. Then one
 * Echo/Unary call. Returns the trailers and the reply.
 */
async function goLikeCall(port: number, authority: string, m: EchoMessage): Promise<{ trailers: Map<string, string>; reply: EchoMessage; pingAcked: boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  let buffered = Buffer.alloc(0);
  const frames: Array<{ type: number; flags: number; stream: number; payload: Buffer }> = [];
  let notify = (): void => {};
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 9 && buffered.length >= 9 + buffered.readUIntBE(0, 3)) {
      const length = buffered.readUIntBE(0, 3);
      frames.push({ type: buffered[3]!, flags: buffered[4]!, stream: buffered.readUInt32BE(5), payload: buffered.subarray(9, 9 + length) });
      buffered = buffered.subarray(9 + length);
    }
    notify();
  });
  let read = 0;
  const next = (): Promise<(typeof frames)[number]> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no frame from the server')), 3000);
      const check = (): void => {
        if (read < frames.length) {
          clearTimeout(timer);
          resolve(frames[read++]!);
        }
      };
      notify = check;
      check();
    });
  try {
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(Buffer.concat([preface, h2Frame(T.settings, 0, 0)]));
    let frame = await next();
    assert.deepEqual([frame.type, frame.flags], [T.settings, 0], 'the server speaks first: SETTINGS');
    socket.write(h2Frame(T.ping, 0, 0, Buffer.from('keepaliv')));
    frame = await next();
    assert.deepEqual([frame.type, frame.flags, frame.payload.toString()], [T.ping, 1, 'keepaliv'], 'PING answered before the first request');
    const block = new TestHpackEncoder().encode([
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', '/concord.test.Echo/Unary'],
      [':authority', authority],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
    ]);
    socket.write(Buffer.concat([h2Frame(T.settings, 1, 0), h2Frame(T.headers, 0x4, 1, block), h2Frame(T.data, 0x1, 1, echoFrame(m))]));
    const responseTable = new HpackDynamicTable();
    const data: Buffer[] = [];
    for (;;) {
      frame = await next();
      assert.notEqual(frame.type, T.goaway, 'no GOAWAY');
      assert.notEqual(frame.type, T.rstStream, 'no RST_STREAM');
      if (frame.type === T.settings && (frame.flags & 1) === 0) socket.write(h2Frame(T.settings, 1, 0));
      if (frame.type === T.data && frame.stream === 1) data.push(frame.payload);
      if (frame.type === T.headers) {
        const fields = new Map(decodeHeaderBlock(frame.payload, responseTable));
        if (frame.flags & 1) {
          const body = Buffer.concat(data);
          return { trailers: fields, reply: decodeEcho(body.subarray(5, 5 + body.readUInt32BE(1))), pingAcked: true };
        }
      }
    }
  } finally {
    socket.destroy();
  }
}

describe('the :authority fix on a ClientPortServer', { timeout: 30_000 }, () => {
  const registry = new MethodRegistry();
  registry.unary(echoMethod('Unary'), async (req: EchoMessage) => echo(req.message, req.number + 1, req.payload));
  registry.serverStream(echoMethod('ServerStream'), async (req: EchoMessage, call) => {
    for (let i = 0; i < req.number; i++) await call.send(echo(req.message, i, req.payload));
  });
  let server: ClientPortServer;
  let port: number;
  before(async () => {
    server = new ClientPortServer({ registry, limits: { keepaliveIntervalMs: 0 } });
    ({ port } = await server.listen(0));
  });
  after(() => server.close(100));

  for (const firstRequest of ['grpc', 'http'] as const) {
    const via = firstRequest === 'grpc' ? "Concord's own HTTP/2 framing" : 'node:http2 through the rewriting filter';
    test(`a client sending :authority http://host:port gets gRPC responses, many calls on one connection (first request ${firstRequest}: ${via})`, async () => {
      const rewrittenBefore = server.stats.authorityRewrittenConnections;
      const ownBefore = server.stats.ownHttp2Connections;
      const session = http2.connect(`http://127.0.0.1:${port}`);
      try {
        const authority = `http://127.0.0.1:${port}`;
        if (firstRequest === 'http') assert.equal(await h2Get(session, authority, '/health'), 404);
        for (let i = 0; i < 5; i++) {
          const { status, reply } = await h2Unary(session, authority, echo(`seq ${i}`, i));
          assert.equal(status, '0');
          assert.deepEqual([reply.message, reply.number], [`seq ${i}`, i + 1]);
        }
        const concurrent = await Promise.all(Array.from({ length: 20 }, (_, i) => h2Unary(session, authority, echo(`par ${i}`, i))));
        assert.deepEqual(concurrent.map((r) => r.reply.message), Array.from({ length: 20 }, (_, i) => `par ${i}`));
        // Flow control and backpressure both ways: 1 MiB in, 1 MiB out.
        const big = Buffer.alloc(1024 * 1024, 0x5a);
        const { reply } = await h2Unary(session, authority, echo('big', 0, big));
        assert.equal(Buffer.compare(reply.payload, big), 0);
        const rewritten = firstRequest === 'http' ? 1 : 0;
        assert.equal(server.stats.authorityRewrittenConnections, rewrittenBefore + rewritten);
        assert.equal(server.stats.ownHttp2Connections, ownBefore + 1 - rewritten);
      } finally {
        session.destroy();
      }
      await waitFor(async () => (await connections(server)) === 0);
    });
  }

  test('a normal connection is handed over as the raw socket', async () => {
    const before = server.stats.authorityRewrittenConnections;
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const { status } = await h2Unary(session, `127.0.0.1:${port}`, echo('plain'));
      assert.equal(status, '0');
    } finally {
      session.destroy();
    }
    const packageDef = protoLoader.loadSync(writeEchoProto(), { keepCase: true, defaults: true });
    const EchoClient = (grpc.loadPackageDefinition(packageDef) as any).concord.test.Echo as typeof grpc.Client;
    const client = new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, any>;
    try {
      const res = await new Promise<any>((resolve, reject) => client.Unary({ message: 'grpc-js' }, (err: Error | null, r: any) => (err ? reject(err) : resolve(r))));
      assert.equal(res.message, 'grpc-js');
    } finally {
      client.close();
    }
    assert.equal(server.stats.authorityRewrittenConnections, before);
  });

  test('grpc-go style clients (waiting for the server SETTINGS) work with either authority', async () => {
    const before = server.stats.authorityRewrittenConnections;
    const ownBefore = server.stats.ownHttp2Connections;
    const good = await goLikeCall(port, `127.0.0.1:${port}`, echo('go plain', 1));
    assert.equal(good.trailers.get('grpc-status'), '0');
    assert.equal(good.reply.message, 'go plain');
    const bad = await goLikeCall(port, `http://127.0.0.1:${port}`, echo('go http', 2));
    assert.equal(bad.trailers.get('grpc-status'), '0');
    assert.deepEqual([bad.reply.message, bad.reply.number], ['go http', 3]);
    // Both are gRPC from their first request: Concord's own framing, which takes any authority.
    assert.equal(server.stats.authorityRewrittenConnections, before);
    assert.equal(server.stats.ownHttp2Connections, ownBefore + 2);
  });

  test('a wrapped connection: server streaming under backpressure, then close from the server side', async () => {
    const own = new ClientPortServer({ registry, limits: { keepaliveIntervalMs: 0 } });
    const { port: ownPort } = await own.listen(0);
    const session = http2.connect(`http://127.0.0.1:${ownPort}`);
    const closed = new Promise<void>((resolve) => session.once('close', resolve));
    session.on('error', () => {});
    // A first request that is not gRPC keeps the connection on node:http2 (through the filter).
    assert.equal(await h2Get(session, `http://127.0.0.1:${ownPort}/some/path`, '/health'), 404);
    const stream = session.request({
      ':method': 'POST',
      ':path': '/concord.test.Echo/ServerStream',
      ':authority': `http://127.0.0.1:${ownPort}/some/path`,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let trailers: http2.IncomingHttpHeaders = {};
    stream.on('trailers', (t) => (trailers = t));
    stream.end(echoFrame(echo('s', 64, Buffer.alloc(64 * 1024, 1))));
    stream.pause();
    await new Promise((r) => setTimeout(r, 100)); // the server's writes back up
    let bytes = 0;
    stream.on('data', (c: Buffer) => (bytes += c.length));
    stream.resume();
    await new Promise<void>((resolve, reject) => {
      stream.on('close', resolve);
      stream.on('error', reject);
    });
    assert.equal(trailers['grpc-status'], '0');
    assert.ok(bytes > 64 * 64 * 1024, `received ${bytes} bytes`);
    assert.equal(own.stats.authorityRewrittenConnections, 1);
    // The server's close (GOAWAY, then the socket) reaches the client through the wrapper.
    await own.close(50);
    await closed;
  });

  test('a connection that sends no request within sessionIdleMs gets GOAWAY and is closed', async () => {
    const own = new ClientPortServer({ registry, limits: { keepaliveIntervalMs: 0, sessionIdleMs: 200 } });
    const { port: ownPort } = await own.listen(0);
    const socket = net.connect(ownPort, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    socket.write(Buffer.concat([preface, h2Frame(T.settings, 0, 0)]));
    await new Promise<void>((resolve) => socket.once('end', resolve));
    const bytes = Buffer.concat(received);
    assert.deepEqual(bytes, Buffer.concat([h2Frame(T.settings, 0, 0), h2Frame(T.goaway, 0, 0, Buffer.alloc(8))]));
    assert.equal(own.stats.sessionsClosedIdle, 1);
    socket.destroy();
    await own.close(50);
  });
});
