import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ClientFrameFilter } from './authority-fix-stream.js';
import { AuthorityFixError, headerBlockOf } from './authority-rewrite.js';
import { decodeHeaderBlock, HpackDynamicTable } from './hpack-decode.js';
import { h2Frame, TestHpackEncoder, type TestField } from './hpack-fixture.js';

const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const T = { data: 0x0, headers: 0x1, settings: 0x4, ping: 0x6, windowUpdate: 0x8, continuation: 0x9 };

function request(authority: string, path = '/etcdserverpb.Maintenance/Status'): TestField[] {
  return [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', authority, { huffman: true }],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
  ];
}

interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

function parseFrames(bytes: Buffer): Frame[] {
  assert.deepEqual(bytes.subarray(0, 24), preface);
  const frames: Frame[] = [];
  for (let o = 24; o < bytes.length; ) {
    const length = bytes.readUIntBE(o, 3);
    frames.push({ type: bytes[o + 3]!, flags: bytes[o + 4]!, stream: bytes.readUInt32BE(o + 5), payload: bytes.subarray(o + 9, o + 9 + length) });
    o += 9 + length;
  }
  return frames;
}

/** clientBytes is a grpc-go-like first flight and two requests, exercising padding, priority, CONTINUATION. */
function clientBytes(): Buffer {
  const enc = new TestHpackEncoder();
  const first = enc.encode(request('http://127.0.0.1:2379'));
  const second = enc.encode(request('http://127.0.0.1:2379', '/etcdserverpb.KV/Range'));
  const padded = Buffer.concat([Buffer.from([3]), Buffer.from([0, 0, 0, 0, 15]), first.subarray(0, 10), Buffer.alloc(3)]);
  return Buffer.concat([
    preface,
    h2Frame(T.settings, 0, 0, Buffer.from([0, 4, 0, 0, 0xff, 0xff])),
    h2Frame(T.windowUpdate, 0, 0, Buffer.from([0, 0, 0x10, 0])),
    h2Frame(T.settings, 0x1, 0), // answers the sniffer's SETTINGS
    h2Frame(T.headers, 0x8 | 0x20, 1, padded),
    h2Frame(T.continuation, 0, 1, first.subarray(10, 20)),
    h2Frame(T.continuation, 0x4, 1, first.subarray(20)),
    h2Frame(T.data, 0, 1, Buffer.alloc(20_000, 7)),
    h2Frame(T.data, 0x1, 1, Buffer.alloc(5, 1)),
    h2Frame(T.settings, 0x1, 0), // answers node's SETTINGS: kept
    h2Frame(T.ping, 0, 0, Buffer.alloc(8, 9)),
    h2Frame(T.headers, 0x4 | 0x1, 3, second),
  ]);
}

describe('ClientFrameFilter', () => {
  test('rewrites header blocks, drops the sniffer’s SETTINGS ACK, passes every other frame unchanged', () => {
    const filter = new ClientFrameFilter(1);
    const frames = parseFrames(filter.transform(clientBytes()));
    assert.deepEqual(frames.map((f) => [f.type, f.flags, f.stream]), [
      [T.settings, 0, 0],
      [T.windowUpdate, 0, 0],
      [T.headers, 0x4 | 0x20, 1],
      [T.data, 0, 1],
      [T.data, 0x1, 1],
      [T.settings, 0x1, 0],
      [T.ping, 0, 0],
      [T.headers, 0x4 | 0x1, 3],
    ]);
    assert.deepEqual(frames[0]!.payload, Buffer.from([0, 4, 0, 0, 0xff, 0xff]));
    assert.deepEqual(frames[3]!.payload, Buffer.alloc(20_000, 7));
    assert.deepEqual(frames[2]!.payload.subarray(0, 5), Buffer.from([0, 0, 0, 0, 15]), 'priority kept');
    const node = new HpackDynamicTable();
    const first = decodeHeaderBlock(frames[2]!.payload.subarray(5), node);
    const second = decodeHeaderBlock(frames[7]!.payload, node);
    assert.deepEqual(first.find(([n]) => n === ':authority'), [':authority', '127.0.0.1:2379']);
    assert.deepEqual(second.find(([n]) => n === ':authority'), [':authority', '127.0.0.1:2379']);
    assert.deepEqual(second.find(([n]) => n === ':path'), [':path', '/etcdserverpb.KV/Range']);
    assert.equal(filter.rewriter.fieldsRewritten, 1, 'the second block references the rewritten table entry');
  });

  test('any chunking of the input gives the same output', () => {
    const input = clientBytes();
    const whole = new ClientFrameFilter(1).transform(input);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: input.length - 1 }), { maxLength: 30 }), (cuts) => {
        const points = [...new Set(cuts)].sort((x, y) => x - y);
        const filter = new ClientFrameFilter(1);
        const out: Buffer[] = [];
        let from = 0;
        for (const p of [...points, input.length]) {
          out.push(filter.transform(Buffer.from(input.subarray(from, p))));
          from = p;
        }
        assert.deepEqual(Buffer.concat(out), whole);
      }),
      { numRuns: 300 },
    );
  });

  test('an unchanged chunk of whole frames is forwarded as the same buffer', () => {
    const enc = new TestHpackEncoder();
    const filter = new ClientFrameFilter(0);
    filter.transform(Buffer.concat([preface, h2Frame(T.settings, 0, 0)]));
    const chunk = Buffer.concat([h2Frame(T.headers, 0x4, 1, enc.encode(request('127.0.0.1:1'))), h2Frame(T.data, 0x1, 1, Buffer.alloc(100))]);
    assert.equal(filter.transform(chunk), chunk);
  });

  test('a header block above 64 KiB is refused', () => {
    const filter = new ClientFrameFilter(0);
    filter.transform(preface);
    filter.transform(h2Frame(T.headers, 0, 1, Buffer.alloc(16_000, 0x82)));
    for (let i = 0; i < 3; i++) filter.transform(h2Frame(T.continuation, 0, 1, Buffer.alloc(16_000, 0x82)));
    assert.throws(() => filter.transform(h2Frame(T.continuation, 0x4, 1, Buffer.alloc(16_000, 0x82))), AuthorityFixError);
  });

  test('after a framing error everything passes unchanged (node answers it)', () => {
    const filter = new ClientFrameFilter(0);
    const enc = new TestHpackEncoder();
    const block = enc.encode(request('http://h:1'));
    const headers = h2Frame(T.headers, 0, 1, block); // no END_HEADERS...
    const data = h2Frame(T.data, 0, 1, Buffer.alloc(3)); // ...then DATA: a connection error
    const rest = h2Frame(T.headers, 0x4, 3, block);
    const out = filter.transform(Buffer.concat([preface, headers, data, rest]));
    assert.deepEqual(out, Buffer.concat([preface, headers, data, rest]));
  });

  test('a rewritten block still decodes after re-framing when it started as HEADERS + CONTINUATION', () => {
    const filter = new ClientFrameFilter(0);
    const enc = new TestHpackEncoder();
    const fields: TestField[] = [...request('http://127.0.0.1:1'), ['x-big', 'v'.repeat(30_000)]];
    const block = enc.encode(fields);
    const input = Buffer.concat([
      preface,
      h2Frame(T.headers, 0x1, 1, block.subarray(0, 16_384)),
      h2Frame(T.continuation, 0, 1, block.subarray(16_384, 32_768)),
      h2Frame(T.continuation, 0x4, 1, block.subarray(32_768)),
    ]);
    const frames = parseFrames(filter.transform(input));
    const raw = frames.map((f) => h2Frame(f.type, f.flags, f.stream, f.payload));
    const h = headerBlockOf(raw);
    assert.equal(h.endStream, true);
    const decoded = decodeHeaderBlock(h.block, new HpackDynamicTable());
    assert.deepEqual(decoded.find(([n]) => n === ':authority'), [':authority', '127.0.0.1:1']);
    assert.equal(decoded.find(([n]) => n === 'x-big')?.[1].length, 30_000);
  });
});
