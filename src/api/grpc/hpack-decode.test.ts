import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeHeaderBlock, HpackDynamicTable, HpackError, parseHeaderBlock, representedFields } from './hpack-decode.js';
import { TestHpackEncoder } from './hpack-fixture.js';
import { huffmanDecode, HuffmanError, huffmanEncode } from './hpack-huffman.js';

function dehex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

interface Step {
  readonly block: string;
  readonly fields: Array<[string, string]>;
  readonly table: Array<[string, string]>;
  readonly sizeBytes: number;
}

function decodeSeries(tableBytes: number, steps: Step[]): void {
  const table = new HpackDynamicTable(tableBytes);
  const twin = new HpackDynamicTable(tableBytes); // for parseHeaderBlock, the representations the rewriter uses
  for (const [i, step] of steps.entries()) {
    assert.deepEqual(decodeHeaderBlock(dehex(step.block), table), step.fields, `step ${i}: fields`);
    assert.deepEqual(representedFields(parseHeaderBlock(dehex(step.block), twin)), step.fields, `step ${i}: representations`);
    assert.deepEqual(twin.entriesNewestFirst(), step.table, `step ${i}: dynamic table (representations)`);
    assert.deepEqual(table.entriesNewestFirst(), step.table, `step ${i}: dynamic table`);
    assert.equal(table.size, step.sizeBytes, `step ${i}: table size`);
  }
}

const c5Responses: Array<Omit<Step, 'block'>> = [
  {
    fields: [[':status', '302'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['location', 'https://www.example.com']],
    table: [['location', 'https://www.example.com'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['cache-control', 'private'], [':status', '302']],
    sizeBytes: 222,
  },
  {
    fields: [[':status', '307'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['location', 'https://www.example.com']],
    table: [[':status', '307'], ['location', 'https://www.example.com'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['cache-control', 'private']],
    sizeBytes: 222,
  },
  {
    fields: [
      [':status', '200'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
      ['location', 'https://www.example.com'],
      ['content-encoding', 'gzip'],
      ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
    ],
    table: [['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'], ['content-encoding', 'gzip'], ['date', 'Mon, 21 Oct 2013 20:13:22 GMT']],
    sizeBytes: 215,
  },
];

const c3Requests: Array<Omit<Step, 'block'>> = [
  { fields: [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']], table: [[':authority', 'www.example.com']], sizeBytes: 57 },
  {
    fields: [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']],
    table: [['cache-control', 'no-cache'], [':authority', 'www.example.com']],
    sizeBytes: 110,
  },
  {
    fields: [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']],
    table: [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']],
    sizeBytes: 164,
  },
];

describe('HPACK decoding (RFC 7541 Appendix C)', () => {
  test('C.2: literal with indexing, without indexing, never indexed; indexed', () => {
    const cases: Array<[string, Array<[string, string]>, Array<[string, string]>]> = [
      ['400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572', [['custom-key', 'custom-header']], [['custom-key', 'custom-header']]],
      ['040c 2f73 616d 706c 652f 7061 7468', [[':path', '/sample/path']], []],
      ['1008 7061 7373 776f 7264 0673 6563 7265 74', [['password', 'secret']], []],
      ['82', [[':method', 'GET']], []],
    ];
    for (const [hex, fields, tableAfter] of cases) {
      const table = new HpackDynamicTable();
      assert.deepEqual(decodeHeaderBlock(dehex(hex), table), fields);
      assert.deepEqual(table.entriesNewestFirst(), tableAfter);
    }
    const kinds = parseHeaderBlock(dehex('1008 7061 7373 776f 7264 0673 6563 7265 74'), new HpackDynamicTable());
    assert.equal(kinds[0]?.type === 'literal' && kinds[0].indexing, 'never');
  });

  test('C.3: requests without Huffman coding, one table', () => {
    const blocks = ['8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', '8286 84be 5808 6e6f 2d63 6163 6865', '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'];
    decodeSeries(4096, c3Requests.map((s, i) => ({ ...s, block: blocks[i]! })));
  });

  test('C.4: requests with Huffman coding, one table', () => {
    const blocks = ['8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', '8286 84be 5886 a8eb 1064 9cbf', '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'];
    decodeSeries(4096, c3Requests.map((s, i) => ({ ...s, block: blocks[i]! })));
  });

  test('C.5: responses without Huffman coding, 256-byte table with evictions', () => {
    const blocks = [
      `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768
       7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`,
      '4803 3330 37c1 c0bf',
      `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153
       444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31`,
    ];
    decodeSeries(256, c5Responses.map((s, i) => ({ ...s, block: blocks[i]! })));
  });

  test('C.6: responses with Huffman coding, 256-byte table with evictions', () => {
    const blocks = [
      `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8
       e9ae 82ae 43d3`,
      '4883 640e ffc1 c0bf',
      `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b
       3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
    ];
    decodeSeries(256, c5Responses.map((s, i) => ({ ...s, block: blocks[i]! })));
  });
});

describe('HPACK decoding errors and edge cases', () => {
  test('Huffman: EOS, over-long padding and zero-bit padding are errors', () => {
    assert.throws(() => huffmanDecode(Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 4), HuffmanError); // EOS (30 ones)
    assert.throws(() => huffmanDecode(Buffer.from([0xff]), 0, 1), HuffmanError); // 8 bits of padding
    assert.throws(() => huffmanDecode(Buffer.from([0x00]), 0, 1), HuffmanError); // '0' (5 bits) + '000' padding
    assert.deepEqual(huffmanDecode(Buffer.alloc(0), 0, 0), Buffer.alloc(0));
  });

  test('Huffman: every byte value round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const encoded = huffmanEncode(bytes);
        assert.deepEqual(huffmanDecode(encoded, 0, encoded.length), Buffer.from(bytes));
      }),
      { numRuns: 500 },
    );
  });

  test('malformed blocks are HpackErrors', () => {
    const bad = ['80', 'be', '41', '4105 6162', '40', '4185 ffff ffff ff', 'ff ff ff ff ff 7f'];
    for (const hex of bad) {
      assert.throws(() => parseHeaderBlock(dehex(hex), new HpackDynamicTable()), HpackError, hex);
      assert.throws(() => decodeHeaderBlock(dehex(hex), new HpackDynamicTable()), HpackError, hex);
    }
    // A size update above the announced limit (4096): 0x3f e1 1f = 31 + 0x61 + 0x1f*128 = 4096 is fine, 4097 not.
    assert.doesNotThrow(() => parseHeaderBlock(dehex('3fe1 1f'), new HpackDynamicTable(4096)));
    assert.throws(() => parseHeaderBlock(dehex('3fe2 1f'), new HpackDynamicTable(4096)), HpackError);
  });

  test('an entry larger than the table empties it and is not added (RFC 7541 §4.4)', () => {
    const table = new HpackDynamicTable(64);
    table.add(Buffer.from('a'), Buffer.from('b'));
    assert.equal(table.length, 1);
    table.add(Buffer.from('name'), Buffer.alloc(40));
    assert.equal(table.length, 0);
    assert.equal(table.size, 0);
  });

  test('random header lists survive the test encoder and the decoder, table in step', () => {
    const field = fc.tuple(
      fc.constantFrom(':authority', ':path', 'content-type', 'x-a', 'x-b', 'user-agent'),
      fc.string({ maxLength: 40 }).map((s) => Buffer.from(s, 'utf8').toString('latin1')),
      fc.record({ indexed: fc.boolean(), indexing: fc.constantFrom('incremental' as const, 'without' as const, 'never' as const), nameIndex: fc.boolean(), huffman: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(fc.array(field, { maxLength: 12 }), { maxLength: 12 }), fc.integer({ min: 0, max: 600 }), (blocks, tableBytes) => {
        const encoder = new TestHpackEncoder(4096);
        const decoder = new HpackDynamicTable(4096);
        const twin = new HpackDynamicTable(4096);
        for (const [i, fields] of blocks.entries()) {
          const block = encoder.encode(fields, i === 0 ? tableBytes : undefined);
          assert.deepEqual(decodeHeaderBlock(block, decoder), fields.map(([n, v]) => [n, v]));
          assert.deepEqual(representedFields(parseHeaderBlock(block, twin)), fields.map(([n, v]) => [n, v]));
          assert.deepEqual(decoder.entriesNewestFirst(), encoder.table.entriesNewestFirst());
          assert.deepEqual(twin.entriesNewestFirst(), encoder.table.entriesNewestFirst());
        }
      }),
      { numRuns: 300 },
    );
  });
});
