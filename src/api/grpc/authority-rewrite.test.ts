import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { AuthorityRewriter, frameHeaderBlock, headerBlockOf, isAcceptableAuthority, rewriteAuthority } from './authority-rewrite.js';
import { decodeHeaderBlock, HpackDynamicTable, parseHeaderBlock, type HeaderRepresentation } from './hpack-decode.js';
import { h2Frame, TestHpackEncoder, type TestField } from './hpack-fixture.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('authority rules', () => {
  test('isAcceptableAuthority follows nghttp2_check_authority', () => {
    for (const ok of ['127.0.0.1:2379', 'localhost', '[::1]:2379', 'user@host:1', 'a%20b', "!$&'()*+,;=-._~", '']) {
      assert.equal(isAcceptableAuthority(b(ok)), true, ok);
    }
    for (const bad of ['http://127.0.0.1:2379', 'host/x', 'a b', 'host?x', 'host#x', 'h"x', 'h\x00', 'hé']) {
      assert.equal(isAcceptableAuthority(b(bad)), false, bad);
    }
  });

  test('rewriteAuthority keeps host:port, never grows, and is always acceptable', () => {
    const cases: Array<[string, string]> = [
      ['http://127.0.0.1:2379', '127.0.0.1:2379'],
      ['https://etcd.example:2379/', 'etcd.example:2379'],
      ['http://[::1]:2379/v3/kv?x#y', '[::1]:2379'],
      ['unix:///tmp/etcd.sock', ''],
      ['host:1/path', 'host:1'],
      ['a b:1', 'ab:1'],
    ];
    for (const [input, output] of cases) assert.equal(rewriteAuthority(b(input)).toString('latin1'), output, input);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const out = rewriteAuthority(bytes);
        assert.ok(out.length <= bytes.length);
        assert.ok(isAcceptableAuthority(out));
      }),
    );
  });
});

/** fixed maps a header list to what node must decode after the rewrite. */
function fixed(fields: readonly TestField[]): Array<[string, string]> {
  return fields.map(([name, value]) => {
    if ((name === ':authority' || name === 'host') && !isAcceptableAuthority(b(value))) return [name, rewriteAuthority(b(value)).toString('latin1')];
    return [name, value];
  });
}

function shape(r: HeaderRepresentation): string {
  if (r.type === 'indexed') return `indexed ${r.index}`;
  if (r.type === 'size-update') return `size ${r.maxBytes}`;
  return `literal ${r.indexing} ${r.nameIndex}`;
}

describe('AuthorityRewriter', () => {
  test('rewrites a literal :authority and leaves indexed references alone; node-side tables line up', () => {
    const client = new TestHpackEncoder();
    const rewriter = new AuthorityRewriter();
    const node = new HpackDynamicTable();
    const request: TestField[] = [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', '/etcdserverpb.Maintenance/Status'],
      [':authority', 'http://127.0.0.1:2379', { huffman: true }],
      ['content-type', 'application/grpc'],
      ['user-agent', 'grpc-go/1.26.0'],
      ['te', 'trailers'],
    ];
    const first = client.encode(request);
    const firstOut = rewriter.rewriteBlock(first);
    assert.notEqual(firstOut, first);
    assert.deepEqual(decodeHeaderBlock(firstOut, node), fixed(request));
    const second = client.encode(request);
    assert.equal(rewriter.rewriteBlock(second), second, 'the second request references the table: unchanged');
    assert.deepEqual(decodeHeaderBlock(second, node), fixed(request));
    assert.equal(rewriter.fieldsRewritten, 1);
  });

  test('random header lists with bad authorities, evictions and size updates: node decodes the fixed list', () => {
    const authority = fc.oneof(
      fc.constantFrom('http://127.0.0.1:2379', 'https://h.example:1/x/y', '127.0.0.1:2379', 'unix:///tmp/s', 'http://' + 'x'.repeat(300) + ':1'),
      fc.string({ maxLength: 30 }),
    );
    const choice = fc.record({
      indexed: fc.boolean(),
      indexing: fc.constantFrom('incremental' as const, 'without' as const, 'never' as const),
      nameIndex: fc.boolean(),
      huffman: fc.boolean(),
    });
    const field = fc.oneof(
      fc.tuple(fc.constantFrom(':authority', 'host'), authority, choice),
      fc.tuple(fc.constantFrom(':path', 'x-a', 'content-type'), fc.string({ maxLength: 60 }), choice),
    );
    fc.assert(
      fc.property(fc.array(fc.array(field, { maxLength: 10 }), { maxLength: 15 }), fc.integer({ min: 0, max: 700 }), (blocks, tableBytes) => {
        const client = new TestHpackEncoder();
        const rewriter = new AuthorityRewriter();
        const clientView = new HpackDynamicTable();
        const node = new HpackDynamicTable();
        for (const [i, fields] of blocks.entries()) {
          const block = client.encode(fields, i === 0 ? tableBytes : undefined);
          const out = rewriter.rewriteBlock(block);
          const seenByNode = parseHeaderBlock(out, node);
          const decoded = seenByNode.flatMap((r) => (r.type === 'size-update' ? [] : [[r.name.toString('latin1'), r.value.toString('latin1')]]));
          assert.deepEqual(decoded, fixed(fields));
          // Same representations, same order, same indexes.
          assert.deepEqual(seenByNode.map(shape), parseHeaderBlock(block, clientView).map(shape));
          // Node's table holds at least the client's entries, names in step.
          assert.ok(node.length >= clientView.length);
          const names = (t: HpackDynamicTable, n: number) => t.entriesNewestFirst().slice(0, n).map(([name]) => name);
          assert.deepEqual(names(node, clientView.length), names(clientView, clientView.length));
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('header block framing', () => {
  test('padding and priority are taken out; CONTINUATION fragments are joined', () => {
    const fragment = Buffer.from([0x82, 0x86, 0x84]);
    const padded = h2Frame(0x1, 0x8 | 0x20, 3, Buffer.concat([Buffer.from([2]), Buffer.from([0x80, 0, 0, 1, 15]), fragment.subarray(0, 1), Buffer.alloc(2)]));
    const cont = h2Frame(0x9, 0x4, 3, fragment.subarray(1));
    const h = headerBlockOf([padded, cont]);
    assert.deepEqual(h.block, fragment);
    assert.deepEqual(h.priority, Buffer.from([0x80, 0, 0, 1, 15]));
    assert.equal(h.endStream, false);
    assert.equal(h.streamId.readUInt32BE(0), 3);
  });

  test('a large block is re-framed as HEADERS + CONTINUATION within 16384-byte payloads', () => {
    const block = Buffer.alloc(40_000, 0x82);
    const h = { block, streamId: Buffer.from([0, 0, 0, 5]), endStream: true, priority: Buffer.from([0, 0, 0, 0, 7]) };
    const framed = frameHeaderBlock(h, block);
    const frames: Buffer[] = [];
    for (let o = 0; o < framed.length; ) {
      const length = framed.readUIntBE(o, 3);
      assert.ok(length <= 16_384);
      frames.push(framed.subarray(o, o + 9 + length));
      o += 9 + length;
    }
    assert.deepEqual(frames.map((f) => [f[3], f[4]]), [[0x1, 0x1 | 0x20], [0x9, 0], [0x9, 0x4]]);
    const back = headerBlockOf(frames);
    assert.deepEqual(back.block, block);
    assert.deepEqual(back.priority, h.priority);
    assert.equal(back.endStream, true);
  });
});
