import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { TestCluster, sleep } from './cluster.js';

/**
 * The JSON gateway as etcd serves it (what curl, Patroni and other HTTP clients use): base64
 * bytes, 64-bit integers as strings, zero values omitted, enums as names, streams as chunked
 * HTTP/1.1 with one {"result": ...} object per message, etcd's error bodies.
 */
const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('the JSON gateway on the client port', { concurrency: false }, () => {
  let cluster: TestCluster;
  let port: number;
  before(async () => {
    cluster = await TestCluster.create(1, { extraFlags: ['--heartbeat-interval=50', '--election-timeout=500'] });
    cluster.startAll();
    await cluster.waitForLeader(20_000);
    port = cluster.members[0]!.clientPort;
  });
  after(async () => {
    await cluster?.destroy();
  });

  const post = async (path: string, body: unknown): Promise<{ status: number; json: Record<string, any> }> => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as Record<string, any> };
  };

  test('put and range with etcd JSON conventions', async () => {
    const put = await post('/v3/kv/put', { key: b64('gw/a'), value: b64('1') });
    assert.equal(put.status, 200);
    assert.equal(typeof put.json.header.revision, 'string', '64-bit integers are strings');
    assert.match(put.json.header.cluster_id, /^\d+$/);
    const range = await post('/v3/kv/range', { key: b64('gw/a') });
    assert.equal(range.status, 200);
    const kv = range.json.kvs[0];
    assert.equal(Buffer.from(kv.key, 'base64').toString(), 'gw/a');
    assert.equal(Buffer.from(kv.value, 'base64').toString(), '1');
    assert.equal(kv.version, '1');
    assert.equal(kv.lease, undefined, 'zero values are omitted');
    assert.equal(range.json.count, '1');
    assert.equal(range.json.more, undefined);
    const missing = await post('/v3/kv/range', { key: b64('gw/none') });
    assert.equal(missing.json.kvs, undefined);
    assert.equal(missing.json.count, undefined);
  });

  test('errors carry etcd messages and codes', async () => {
    const r = await post('/v3/kv/range', { key: b64('gw/a'), revision: '999999' });
    assert.notEqual(r.status, 200);
    assert.equal(r.json.error, 'etcdserver: mvcc: required revision is a future revision');
    assert.equal(r.json.code, 11);
    const empty = await post('/v3/kv/put', { value: b64('x') });
    assert.equal(empty.json.error, 'etcdserver: key is not provided');
    assert.equal(empty.json.code, 3);
  });

  test('watch streams chunked {"result": ...} lines with event types as names', async () => {
    const lines: any[] = [];
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v3/watch' });
    let buffer = '';
    req.on('response', (res) => {
      assert.equal(res.headers['transfer-encoding'], 'chunked');
      res.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line) lines.push(JSON.parse(line));
        }
      });
    });
    req.write(JSON.stringify({ create_request: { key: b64('gw/w'), prev_kv: true } }));
    try {
      await cluster.waitFor('the created response', 5_000, async () => lines.length >= 1);
      assert.equal(lines[0].result.created, true);
      await post('/v3/kv/put', { key: b64('gw/w'), value: b64('v1') });
      await post('/v3/kv/deleterange', { key: b64('gw/w') });
      await cluster.waitFor('two events', 5_000, async () => lines.filter((l) => l.result?.events).length >= 2);
      const events = lines.filter((l) => l.result?.events).flatMap((l) => l.result.events);
      assert.equal(events[0].type, undefined, 'PUT is the zero enum value: omitted, as grpc-gateway prints it');
      assert.equal(events[1].type, 'DELETE');
      assert.equal(Buffer.from(events[1].prev_kv.value, 'base64').toString(), 'v1');
    } finally {
      req.destroy();
    }
  });

  test('lease grant, keep-alive of a live lease and of an expired one (no TTL field)', async () => {
    const grant = await post('/v3/lease/grant', { TTL: '2' });
    assert.equal(grant.json.TTL, '2');
    const id = grant.json.ID as string;
    const keep = await post('/v3/lease/keepalive', { ID: id });
    assert.equal(keep.json.result.TTL, '2');
    await post('/v3/lease/revoke', { ID: id });
    await sleep(200);
    const dead = await post('/v3/lease/keepalive', { ID: id });
    assert.equal(dead.json.result.TTL, undefined, 'an expired lease keep-alive has no TTL field');
  });

  test('health, version and metrics share the port', async () => {
    assert.deepEqual(await (await fetch(`http://127.0.0.1:${port}/health`)).json(), { health: 'true' });
    assert.equal(((await (await fetch(`http://127.0.0.1:${port}/version`)).json()) as { etcdserver: string }).etcdserver, '3.4.0');
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /etcd_server_has_leader 1/);
    const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
    assert.ok(value('process_resident_memory_bytes') > 10 * 1024 * 1024, 'resident memory, as etcd serves it');
    assert.ok(value('nodejs_heap_size_used_bytes') > 0);
    assert.ok(value('nodejs_heap_size_used_bytes') <= value('nodejs_heap_size_total_bytes'));
  });

  test('WAL fdatasyncs are a histogram under etcd\'s name, with etcd\'s bucket bounds', async () => {
    const series = async (): Promise<Map<string, number>> => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const out = new Map<string, number>();
      for (const line of text.split('\n')) {
        const m = /^etcd_disk_wal_fsync_duration_seconds_(bucket\{le="([^"]+)"\}|count|sum) (\S+)$/.exec(line);
        if (m) out.set(m[2] ?? m[1]!, Number(m[3]));
      }
      return out;
    };
    const before = await series();
    for (let i = 0; i < 5; i++) assert.equal((await post('/v3/kv/put', { key: b64(`gw/fsync/${i}`), value: b64('v') })).status, 200);
    const after = await series();
    assert.ok(after.get('count')! >= before.get('count')! + 5, 'each acknowledged put was fdatasynced at least once');
    assert.equal(after.get('+Inf'), after.get('count'));
    assert.ok(after.get('sum')! > before.get('sum')!);
    for (const le of ['0.001', '0.002', '0.004', '0.008', '1.024', '8.192']) assert.ok(after.has(le), `etcd's bound ${le}`);
    const bounds = [...after.keys()].filter((k) => k !== 'count' && k !== 'sum' && k !== '+Inf').map(Number);
    assert.deepEqual(bounds, [...bounds].sort((a, b) => a - b));
    let last = 0;
    for (const b of bounds) {
      assert.ok(after.get(String(b))! >= last, 'cumulative');
      last = after.get(String(b))!;
    }
  });
});
