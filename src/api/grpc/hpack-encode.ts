import { encodeHpackInteger, hpackStaticTable } from './hpack-decode.js';

/**
 * HPACK (RFC 7541) encoding of the header blocks the server sends (response headers, trailers).
 * It never touches the dynamic table: a field is an indexed static entry when name and value
 * match one (`:status: 200`), else a literal "without indexing" with the static name index when
 * there is one, else with a literal name; strings are sent plain (no Huffman). So our encoder's
 * table stays empty whatever the peer's SETTINGS_HEADER_TABLE_SIZE, and blocks are pure
 * functions of their fields (the fixed ones are built once). Pure (Buffer only).
 */

const staticFullIndex = new Map<string, number>();
const staticNameIndex = new Map<string, number>();
hpackStaticTable.forEach(([name, value], i) => {
  if (!staticNameIndex.has(name)) staticNameIndex.set(name, i + 1);
  if (value !== '') staticFullIndex.set(`${name}\0${value}`, i + 1);
});

/** HpackEncodeError: a field the encoder refuses (a name not lowercase token, a value with CR, LF or NUL). */
export class HpackEncodeError extends Error {
  readonly code = 'CONCORD_HPACK_ENCODE';
}

/** hpackTableSizeZero is a dynamic table size update to 0 (§6.3), sent first in a block after the peer shrinks its table. */
export const hpackTableSizeZero = 0x20;

/**
 * encodeHeaderFields returns the header block of `fields` in order. Names must be lowercase
 * HTTP tokens (or pseudo-headers); values must hold no CR, LF or NUL. Throws HpackEncodeError.
 */
export function encodeHeaderFields(fields: ReadonlyArray<readonly [name: string, value: string]>): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) encodeField(out, name, value);
  return Buffer.from(out);
}

function encodeField(out: number[], name: string, value: string): void {
  checkName(name);
  checkValue(name, value);
  const full = staticFullIndex.get(`${name}\0${value}`);
  if (full !== undefined) {
    encodeHpackInteger(out, full, 7, 0x80);
    return;
  }
  const nameIndex = staticNameIndex.get(name);
  if (nameIndex !== undefined) {
    encodeHpackInteger(out, nameIndex, 4, 0x00);
  } else {
    out.push(0x00);
    encodeString(out, name);
  }
  encodeString(out, value);
}

function encodeString(out: number[], s: string): void {
  const bytes = Buffer.from(s, 'latin1');
  encodeHpackInteger(out, bytes.length, 7, 0x00);
  for (const b of bytes) out.push(b);
}

function checkName(name: string): void {
  const start = name.startsWith(':') ? 1 : 0;
  if (name.length === start) throw new HpackEncodeError('hpack: empty header name');
  for (let i = start; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || "!#$%&'*+-.^_`|~".includes(name[i]!);
    if (!ok) throw new HpackEncodeError(`hpack: header name ${JSON.stringify(name)} is not a lowercase token`);
  }
}

function checkValue(name: string, value: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x0d || c === 0x0a || c === 0x00 || c > 0xff) {
      throw new HpackEncodeError(`hpack: value of header ${JSON.stringify(name)} holds a forbidden character`);
    }
  }
}
