import { huffmanDecode } from './hpack-huffman.js';

/**
 * HPACK (RFC 7541) header-block parsing at the level of representations: each field line is
 * returned with its kind, its byte range in the block and its decoded name and value, and the
 * decoder's dynamic table is updated as the peer's encoder updated its own. The :authority
 * rewriter (authority-fix.ts) needs the representations, not just the header list, so that it
 * can re-emit a block with the same indexing decisions. Pure (Buffer only).
 */

/** HpackError: a header block that RFC 7541 says is a decoding error (COMPRESSION_ERROR). */
export class HpackError extends Error {
  readonly code = 'CONCORD_HPACK_DECODE';
}

/** hpackStaticTable is RFC 7541 Appendix A; index i (1-based) is hpackStaticTable[i - 1]. */
export const hpackStaticTable: ReadonlyArray<readonly [name: string, value: string]> = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];
const staticEntries: readonly TableEntry[] = hpackStaticTable.map(([name, value]) => ({
  name: Buffer.from(name, 'latin1'),
  value: Buffer.from(value, 'latin1'),
  nameText: name,
  valueText: value,
}));
const staticCount = staticEntries.length;
if (staticCount !== 61) throw new Error('hpack static table must have 61 entries');

/** hpackEntryOverheadBytes is the per-entry overhead in the table size (RFC 7541 §4.1). */
export const hpackEntryOverheadBytes = 32;
/** hpackIntegerMax bounds decoded integers (indexes, lengths, sizes); larger → HpackError. */
const hpackIntegerMax = 2 ** 30;

/** TableEntry is one table entry, its octets and (made once, when added) their latin1 strings. */
interface TableEntry {
  readonly name: Buffer;
  readonly value: Buffer;
  readonly nameText: string;
  readonly valueText: string;
}

/**
 * HpackDynamicTable is one side's dynamic table (RFC 7541 §2.3.2, §4): newest entry first,
 * evicting the oldest while the size (name + value octets + 32 per entry) exceeds `maxBytes`.
 * `maxBytesLimit` is the bound the decoder's side announced (SETTINGS_HEADER_TABLE_SIZE); a
 * size update above it is a decoding error.
 */
export class HpackDynamicTable {
  /** entries, oldest first (so adding is a push); index 62 is the last element. */
  private readonly entries: TableEntry[] = [];
  private sizeBytes = 0;
  maxBytes: number;

  constructor(readonly maxBytesLimit = 4096) {
    this.maxBytes = maxBytesLimit;
  }

  get length(): number {
    return this.entries.length;
  }

  get size(): number {
    return this.sizeBytes;
  }

  /** get returns entry `index` of the combined index space (1..61 static, 62.. dynamic). */
  get(index: number): TableEntry {
    if (index >= 1 && index <= staticCount) return staticEntries[index - 1]!;
    const entry = this.entries[this.entries.length - 1 - (index - staticCount - 1)];
    if (index < 1 || entry === undefined) throw new HpackError(`hpack: index ${index} out of range`);
    return entry;
  }

  /**
   * add inserts an entry (RFC 7541 §4.4: an entry larger than the table empties it, not added);
   * `nameText`/`valueText` are its latin1 strings, passed when the caller already made them.
   */
  add(name: Buffer, value: Buffer, nameText = name.toString('latin1'), valueText = value.toString('latin1')): void {
    const bytes = name.length + value.length + hpackEntryOverheadBytes;
    this.evictTo(this.maxBytes - bytes);
    if (bytes <= this.maxBytes) {
      // Copied: the arguments may be views into a network chunk the table must not pin.
      this.entries.push({ name: Buffer.from(name), value: Buffer.from(value), nameText, valueText });
      this.sizeBytes += bytes;
    }
  }

  /** setMaxBytes applies a dynamic table size update (RFC 7541 §6.3). */
  setMaxBytes(maxBytes: number): void {
    if (maxBytes > this.maxBytesLimit) throw new HpackError(`hpack: table size update ${maxBytes} above ${this.maxBytesLimit}`);
    this.maxBytes = maxBytes;
    this.evictTo(maxBytes);
  }

  /** entriesNewestFirst lists [name, value] pairs as latin1 strings. For tests. */
  entriesNewestFirst(): Array<[string, string]> {
    return this.entries.map((e): [string, string] => [e.nameText, e.valueText]).reverse();
  }

  private evictTo(bytesMax: number): void {
    let drop = 0;
    while (this.sizeBytes > bytesMax && drop < this.entries.length) {
      const e = this.entries[drop++]!;
      this.sizeBytes -= e.name.length + e.value.length + hpackEntryOverheadBytes;
    }
    if (drop > 0) this.entries.splice(0, drop);
  }
}

/** HeaderIndexing is how a literal field line asks the decoder to treat its table (§6.2). */
export type HeaderIndexing = 'incremental' | 'without' | 'never';

/** HeaderRepresentation is one representation of a header block, with its byte range [start, end). */
export type HeaderRepresentation =
  | { readonly type: 'indexed'; readonly start: number; readonly end: number; readonly index: number; readonly name: Buffer; readonly value: Buffer }
  | {
      readonly type: 'literal';
      readonly start: number;
      readonly end: number;
      readonly indexing: HeaderIndexing;
      /** nameIndex is the indexed name (0: the name is a literal). */
      readonly nameIndex: number;
      readonly name: Buffer;
      readonly value: Buffer;
      /** valueStart is where the value's string literal (H bit, length, octets) begins. */
      readonly valueStart: number;
    }
  | { readonly type: 'size-update'; readonly start: number; readonly end: number; readonly maxBytes: number };

/**
 * parseHeaderBlock parses a complete header block (HEADERS + CONTINUATION fragments joined),
 * applying its table changes to `table` in order. Throws HpackError on a malformed block
 * (the table may then be half-updated: the connection is unusable anyway).
 */
export function parseHeaderBlock(block: Uint8Array, table: HpackDynamicTable): HeaderRepresentation[] {
  const out: HeaderRepresentation[] = [];
  const reader = new BlockReader(block);
  while (reader.pos < block.length) {
    const start = reader.pos;
    const first = block[start]!;
    if (first & 0x80) {
      const index = reader.integer(7);
      if (index === 0) throw new HpackError('hpack: indexed field with index 0');
      const entry = table.get(index);
      out.push({ type: 'indexed', start, end: reader.pos, index, name: entry.name, value: entry.value });
    } else if ((first & 0xe0) === 0x20) {
      const maxBytes = reader.integer(5);
      table.setMaxBytes(maxBytes);
      out.push({ type: 'size-update', start, end: reader.pos, maxBytes });
    } else {
      const indexing: HeaderIndexing = first & 0x40 ? 'incremental' : first & 0x10 ? 'never' : 'without';
      const nameIndex = reader.integer(indexing === 'incremental' ? 6 : 4);
      const name = nameIndex === 0 ? reader.string() : table.get(nameIndex).name;
      const valueStart = reader.pos;
      const value = reader.string();
      if (indexing === 'incremental') table.add(name, value);
      out.push({ type: 'literal', start, end: reader.pos, indexing, nameIndex, name, value, valueStart });
    }
  }
  return out;
}

/**
 * forEachHeaderField decodes a complete header block straight to its header list, calling
 * `visit` with each field's name and value as latin1 strings, in order, and applying the block's
 * table changes (size updates are applied, not visited). A field taken from the table costs no
 * allocation: entries keep their strings. Throws HpackError as parseHeaderBlock does.
 */
export function forEachHeaderField(block: Uint8Array, table: HpackDynamicTable, visit: (name: string, value: string) => void): void {
  const reader = new BlockReader(block);
  while (reader.pos < block.length) {
    const first = block[reader.pos]!;
    if (first & 0x80) {
      const index = reader.integer(7);
      if (index === 0) throw new HpackError('hpack: indexed field with index 0');
      const entry = table.get(index);
      visit(entry.nameText, entry.valueText);
    } else if ((first & 0xe0) === 0x20) {
      table.setMaxBytes(reader.integer(5));
    } else {
      const incremental = (first & 0x40) !== 0;
      const nameIndex = reader.integer(incremental ? 6 : 4);
      let name: Buffer;
      let nameText: string;
      if (nameIndex === 0) {
        name = reader.string();
        nameText = name.toString('latin1');
      } else {
        const entry = table.get(nameIndex);
        name = entry.name;
        nameText = entry.nameText;
      }
      const value = reader.string();
      const valueText = value.toString('latin1');
      if (incremental) table.add(name, value, nameText, valueText);
      visit(nameText, valueText);
    }
  }
}

/** decodeHeaderBlock returns the header list of a block as latin1 string pairs (forEachHeaderField). For tests and logs. */
export function decodeHeaderBlock(block: Uint8Array, table: HpackDynamicTable): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  forEachHeaderField(block, table, (name, value) => fields.push([name, value]));
  return fields;
}

/** representedFields is the header list of parseHeaderBlock's representations (size updates left out). For tests. */
export function representedFields(representations: readonly HeaderRepresentation[]): Array<[string, string]> {
  return representations.flatMap((r): Array<[string, string]> => r.type === 'size-update' ? [] : [[r.name.toString('latin1'), r.value.toString('latin1')]]);
}

/** encodeHpackInteger appends an integer with an N-bit prefix (RFC 7541 §5.1); `first` holds the high bits. */
export function encodeHpackInteger(out: number[], value: number, prefixBits: number, first: number): void {
  const prefixMax = (1 << prefixBits) - 1;
  if (value < prefixMax) {
    out.push(first | value);
    return;
  }
  out.push(first | prefixMax);
  let rest = value - prefixMax;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
}

class BlockReader {
  pos = 0;
  constructor(private readonly block: Uint8Array) {}

  /** integer reads an integer with an N-bit prefix (RFC 7541 §5.1). */
  integer(prefixBits: number): number {
    const block = this.block;
    const prefixMax = (1 << prefixBits) - 1;
    let value = block[this.pos++]! & prefixMax;
    if (value < prefixMax) return value;
    let scale = 1;
    for (;;) {
      const b = block[this.pos++];
      if (b === undefined) throw new HpackError('hpack: truncated integer');
      value += (b & 0x7f) * scale;
      if (value > hpackIntegerMax) throw new HpackError('hpack: integer too large');
      if ((b & 0x80) === 0) return value;
      scale *= 0x80;
    }
  }

  /** string reads a string literal (RFC 7541 §5.2), Huffman-decoding it if H is set. */
  string(): Buffer {
    const block = this.block;
    if (this.pos >= block.length) throw new HpackError('hpack: truncated string literal');
    const huffman = (block[this.pos]! & 0x80) !== 0;
    const length = this.integer(7);
    const start = this.pos;
    const end = start + length;
    if (end > block.length) throw new HpackError('hpack: string literal runs past the block');
    this.pos = end;
    if (huffman) {
      try {
        return huffmanDecode(block, start, end);
      } catch (err) {
        throw new HpackError('hpack: invalid Huffman string', { cause: err });
      }
    }
    return Buffer.from(block.buffer, block.byteOffset + start, length);
  }
}
