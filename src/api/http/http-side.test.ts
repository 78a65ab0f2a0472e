import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Registry } from 'prom-client';
import { MemoryLogger } from '../../lib/logger.js';
import { echo, echoMethod, writeEchoProto, type EchoMessage } from '../grpc/echo-fixture.js';
import { ClientPortServer, GrpcError, GrpcStatus, MethodRegistry, resolveServingLimits } from '../grpc/index.js';
import { HttpRouter, addEndpoints, addGatewayRoute, registerServingMetrics, type JsonCodec } from './index.js';

const echoJson: JsonCodec<EchoMessage, EchoMessage> = {
  decodeJson(text) {
    const o = JSON.parse(text) as { message?: unknown; count?: unknown };
    if (o.message !== undefined && typeof o.message !== 'string') throw new Error('message: want string');
    return echo((o.message as string | undefined) ?? '', Number(o.count ?? 0));
  },
  encodeJson(m) {
    return JSON.stringify({ message: m.message, index: String(m.number) });
  },
};

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(port: number, method: string, path: string, body?: string, agent?: http.Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ port, host: '127.0.0.1', method, path, ...(agent ? { agent } : {}) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe('HTTP side of the client port', () => {
  const methods = new MethodRegistry();
  const logger = new MemoryLogger();
  const limits = resolveServingLimits({ keepaliveIntervalMs: 0 });
  const metrics = new Registry();
  let healthy = true;
  let streamSignal: AbortSignal | undefined;
  const unary = methods.unary(echoMethod('Unary'), (req: EchoMessage) => {
    if (req.message === 'missing') throw new GrpcError(GrpcStatus.NOT_FOUND, 'etcdserver: requested lease not found');
    return echo(req.message, req.number + 1);
  });
  const stream = methods.serverStream(echoMethod('ServerStream'), async (req: EchoMessage, call) => {
    streamSignal = call.signal;
    for (let i = 0; i < req.number; i++) await call.send(echo(req.message, i));
    if (req.message === 'fail') throw new GrpcError(GrpcStatus.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted');
    if (req.message === 'forever') await new Promise((r) => call.signal.addEventListener('abort', r));
  });
  const bidi = methods.bidi(echoMethod('Bidi'), async (requests, call) => {
    let n = 0;
    for await (const r of requests) await call.send(echo(`created ${r.message}`, n++));
    // The request body ended (curl -d sends one object); a watch keeps going.
    await sleep(20);
    await call.send(echo('after-eof', n));
  });
  const router = new HttpRouter();
  const gw = { limits, logger };
  addGatewayRoute(router, '/v3/echo/unary', unary, echoJson, gw);
  addGatewayRoute(router, '/v3/echo/stream', stream, echoJson, gw);
  addGatewayRoute(router, '/v3/echo/bidi', bidi, echoJson, gw);
  addEndpoints(router, {
    health: () => (healthy ? { ok: true } : { ok: false, reason: 'no leader' }),
    versions: { etcdserver: '3.4.27', etcdcluster: '3.4.0' },
    metrics,
  });
  let server: ClientPortServer;
  let port: number;
  before(async () => {
    server = new ClientPortServer({ registry: methods, logger, limits, http: router.handle });
    registerServingMetrics(metrics, methods, server.stats);
    port = (await server.listen(0)).port;
  });
  after(() => server.close(100));

  test('unary gateway route: JSON in, JSON out', async () => {
    const r = await request(port, 'POST', '/v3/echo/unary', '{"message":"hi","count":"41"}');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(r.body), { message: 'hi', index: '42' });
    const empty = await request(port, 'POST', '/v3/echo/unary');
    assert.deepEqual(JSON.parse(empty.body), { message: '', index: '1' });
  });

  test("unary gateway errors use grpc-gateway v1's body and HTTP status", async () => {
    const r = await request(port, 'POST', '/v3/echo/unary', '{"message":"missing"}');
    assert.equal(r.status, 404);
    assert.equal(r.body, '{"error":"etcdserver: requested lease not found","code":5,"message":"etcdserver: requested lease not found"}');
    const bad = await request(port, 'POST', '/v3/echo/unary', '{"message":');
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.body).code, 3);
    const wrongType = await request(port, 'POST', '/v3/echo/unary', '{"message":7}');
    assert.equal(wrongType.status, 400);
    assert.equal(JSON.parse(wrongType.body).error, 'message: want string');
  });

  test('a body above the receive limit is refused with 429 / RESOURCE_EXHAUSTED', async () => {
    const body = `{"message":"${'x'.repeat(limits.receiveMessageBytesMax)}"}`;
    const r = await request(port, 'POST', '/v3/echo/unary', body);
    assert.equal(r.status, 429);
    assert.equal(JSON.parse(r.body).code, GrpcStatus.RESOURCE_EXHAUSTED);
  });

  test('server streaming is chunked HTTP/1.1, one {"result":...} per line', async () => {
    const r = await request(port, 'POST', '/v3/echo/stream', '{"message":"s","count":3}');
    assert.equal(r.status, 200);
    assert.equal(r.headers['transfer-encoding'], 'chunked');
    assert.equal(r.body, ['0', '1', '2'].map((i) => `{"result":{"message":"s","index":"${i}"}}\n`).join(''));
  });

  test('a stream error after messages is an {"error":{...}} line', async () => {
    const r = await request(port, 'POST', '/v3/echo/stream', '{"message":"fail","count":1}');
    assert.equal(r.status, 200);
    const lines = r.body.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.deepEqual(JSON.parse(lines[1]!), {
      error: { grpc_code: 11, http_code: 400, message: 'etcdserver: mvcc: required revision has been compacted', http_status: 'Bad Request' },
    });
  });

  test('bidi over the gateway: request objects from the body, responses continue after body EOF', async () => {
    const r = await request(port, 'POST', '/v3/echo/bidi', '{"message":"a"}\n{"message":"b"}');
    const lines = r.body.trim().split('\n').map((l) => JSON.parse(l).result.message);
    assert.deepEqual(lines, ['created a', 'created b', 'after-eof']);
  });

  test('a client that disconnects from a stream aborts the handler', async () => {
    streamSignal = undefined;
    await new Promise<void>((resolve) => {
      const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/v3/echo/stream' }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      req.end('{"message":"forever","count":1}');
    });
    const aborted = (): boolean => (streamSignal as AbortSignal | undefined)?.aborted === true;
    for (let i = 0; i < 50 && !aborted(); i++) await sleep(10);
    assert.equal(aborted(), true);
  });

  test('/health, /livez, /readyz, /version', async () => {
    healthy = true;
    assert.deepEqual(await request(port, 'GET', '/health').then((r) => [r.status, r.body]), [200, '{"health":"true"}']);
    assert.deepEqual(await request(port, 'GET', '/readyz').then((r) => [r.status, r.body]), [200, 'ok']);
    healthy = false;
    assert.deepEqual(await request(port, 'GET', '/health').then((r) => [r.status, r.body]), [503, '{"health":"false","reason":"no leader"}']);
    assert.equal((await request(port, 'GET', '/readyz')).status, 503);
    assert.deepEqual(await request(port, 'GET', '/livez').then((r) => [r.status, r.body]), [200, 'ok']);
    healthy = true;
    assert.equal((await request(port, 'GET', '/version')).body, '{"etcdserver":"3.4.27","etcdcluster":"3.4.0"}');
  });

  test('unknown paths are 404, wrong methods 405', async () => {
    const r = await request(port, 'GET', '/v3/nope');
    assert.deepEqual([r.status, r.body], [404, '404 page not found\n']);
    const m = await request(port, 'GET', '/v3/echo/unary');
    assert.equal(m.status, 405);
  });

  test('gRPC, HTTP/1.1 keep-alive and HTTP/2 share the port; /metrics counts the gRPC calls', async () => {
    const def = protoLoader.loadSync(writeEchoProto(), { keepCase: true, defaults: true });
    const Echo = (grpc.loadPackageDefinition(def) as any).concord.test.Echo as typeof grpc.Client;
    const client = new Echo(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as any;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await new Promise<any>((resolve, reject) => client.Unary({ message: `g${i}` }, (e: Error | null, r: any) => (e ? reject(e) : resolve(r))));
        assert.equal(res.message, `g${i}`);
        assert.equal((await request(port, 'GET', '/health', undefined, agent)).status, 200);
      }
      // HTTP/2 without a gRPC content-type reaches the same router.
      const session = http2.connect(`http://127.0.0.1:${port}`);
      const h2 = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const s = session.request({ ':path': '/version' });
        let status = 0;
        let body = '';
        s.on('response', (h) => (status = Number(h[':status'])));
        s.setEncoding('utf8');
        s.on('data', (d: string) => (body += d));
        s.on('end', () => resolve({ status, body }));
        s.on('error', reject);
        s.end();
      });
      session.close();
      assert.deepEqual(h2, { status: 200, body: '{"etcdserver":"3.4.27","etcdcluster":"3.4.0"}' });
      const text = (await request(port, 'GET', '/metrics')).body;
      assert.match(text, /grpc_server_handled_total\{grpc_type="unary",grpc_service="concord.test.Echo",grpc_method="Unary",grpc_code="OK"\} 3/);
      assert.match(text, /grpc_server_started_total\{grpc_type="unary",grpc_service="concord.test.Echo",grpc_method="Unary"\} 3/);
      // The handling-time histogram: cumulative buckets ending at the call count, a positive sum.
      const unary = 'grpc_type="unary",grpc_service="concord.test.Echo",grpc_method="Unary"';
      assert.match(text, new RegExp(`grpc_server_handling_seconds_count\\{${unary}\\} 3\n`));
      assert.match(text, new RegExp(`grpc_server_handling_seconds_bucket\\{${unary},le="\\+Inf"\\} 3\n`));
      const buckets = [...text.matchAll(new RegExp(`grpc_server_handling_seconds_bucket\\{${unary},le="([^"]+)"\\} (\\d+)`, 'g'))];
      assert.equal(buckets.length, 22);
      const counts = buckets.map((b) => Number(b[2]));
      assert.deepEqual(counts, [...counts].sort((x, y) => x - y), 'buckets are cumulative');
      const sum = Number(new RegExp(`grpc_server_handling_seconds_sum\\{${unary}\\} (\\S+)`).exec(text)?.[1]);
      assert.ok(sum > 0 && sum < 60, `sum ${sum}`);
      assert.doesNotMatch(text, /grpc_server_handling_seconds_count\{[^}]*grpc_method="Bidi"/, 'a method never called has no series');
    } finally {
      client.close();
      agent.destroy();
    }
  });
});
