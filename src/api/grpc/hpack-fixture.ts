import { encodeHpackInteger, HpackDynamicTable, type HeaderIndexing } from './hpack-decode.js';
import { huffmanEncode } from './hpack-huffman.js';

/**
 * A small HPACK encoder for tests: it lets a test choose each field's representation (indexed
 * when an exact match exists, literal with an indexed or literal name, Huffman or not) and
 * keeps the encoder's dynamic table, so header blocks like those of any client can be built.
 * Test-only.
 */

/** FieldChoice says how TestHpackEncoder represents one field. */
export interface FieldChoice {
  /** indexed: use an exact table match if there is one (else falls back to `indexing`). */
  readonly indexed?: boolean;
  readonly indexing?: HeaderIndexing;
  /** nameIndex: use an indexed name if the table has the name. Default true. */
  readonly nameIndex?: boolean;
  readonly huffman?: boolean;
}

/** TestField is one field to encode. */
export type TestField = readonly [name: string, value: string, choice?: FieldChoice];

/** TestHpackEncoder encodes header blocks, keeping its own dynamic table. */
export class TestHpackEncoder {
  readonly table: HpackDynamicTable;

  constructor(maxBytesLimit = 4096) {
    this.table = new HpackDynamicTable(maxBytesLimit);
  }

  /** encode builds one header block; `sizeUpdate` first emits a dynamic table size update. */
  encode(fields: readonly TestField[], sizeUpdate?: number): Buffer {
    const out: number[] = [];
    if (sizeUpdate !== undefined) {
      encodeHpackInteger(out, sizeUpdate, 5, 0x20);
      this.table.setMaxBytes(sizeUpdate);
    }
    for (const [name, value, choice = {}] of fields) {
      const nameBytes = Buffer.from(name, 'latin1');
      const valueBytes = Buffer.from(value, 'latin1');
      const { exact, byName } = this.find(nameBytes, valueBytes);
      if ((choice.indexed ?? true) && exact > 0) {
        encodeHpackInteger(out, exact, 7, 0x80);
        continue;
      }
      const indexing = choice.indexing ?? 'incremental';
      const nameIndex = (choice.nameIndex ?? true) ? byName : 0;
      if (indexing === 'incremental') encodeHpackInteger(out, nameIndex, 6, 0x40);
      else encodeHpackInteger(out, nameIndex, 4, indexing === 'never' ? 0x10 : 0x00);
      if (nameIndex === 0) pushString(out, nameBytes, choice.huffman ?? false);
      pushString(out, valueBytes, choice.huffman ?? false);
      if (indexing === 'incremental') this.table.add(nameBytes, valueBytes);
    }
    return Buffer.from(out);
  }

  private find(name: Buffer, value: Buffer): { exact: number; byName: number } {
    let byName = 0;
    for (let index = 1; index <= 61 + this.table.length; index++) {
      const e = this.table.get(index);
      if (!e.name.equals(name)) continue;
      if (e.value.equals(value)) return { exact: index, byName: index };
      if (byName === 0) byName = index;
    }
    return { exact: 0, byName };
  }
}

function pushString(out: number[], bytes: Buffer, huffman: boolean): void {
  const body = huffman ? huffmanEncode(bytes) : bytes;
  encodeHpackInteger(out, body.length, 7, huffman ? 0x80 : 0x00);
  for (const b of body) out.push(b);
}

/** frame builds an HTTP/2 frame. */
export function h2Frame(type: number, flags: number, streamId: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(streamId, 5);
  out.set(payload, 9);
  return out;
}
