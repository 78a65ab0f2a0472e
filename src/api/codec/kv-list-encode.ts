/**
 * A direct encoder for the answer that carries many KeyValues: a Range served from the store.
 * The generated path (ts-proto over BinaryWriter) needs the answer as mvccpb objects, so every
 * KeyValue read costs an object and three bigints (a BigInt op is a runtime call), then a fork,
 * a join and a chunk list per KeyValue, a copy to join the chunks and another to add the gRPC
 * prefix. Here the store's own records (numbers for revisions and versions) are sized in a first
 * pass and written in a second, once, into one buffer that already holds the gRPC prefix. The
 * bytes are exactly what the generated encoder writes for the same answer (codec.test.ts).
 *
 * A message built by the serving layer can carry its own encoder under `directEncode`; every
 * codec then uses it instead of the generated one (message-codec.ts), and the message's fields
 * still read as the generated type for everything else (the JSON gateway, a Txn's ops).
 */
import type { ResponseHeader } from './gen/etcdserverpb/rpc.js';

/** directEncode is the key of a message's own encoder: `(prefixBytes) => bytes after that much room`. */
export const directEncode: unique symbol = Symbol('concord.codec.directEncode');

/**
 * DirectlyEncoded is a message that encodes itself, leaving `prefixBytes` bytes at the start for
 * the caller; undefined: encode it with the generated encoder after all.
 */
export interface DirectlyEncoded {
  [directEncode](prefixBytes: number): Buffer | undefined;
}

/** KeyValueRecord is mvccpb.KeyValue as the store keeps it: revisions and version as numbers. */
export interface KeyValueRecord {
  readonly key: Uint8Array;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly value: Uint8Array;
  readonly lease: bigint;
  /**
   * Where a store record keeps its value (kv/key-history.ts StoredWrite): bytes [valueStart,
   * valueStart + valueLength) of valueBytes. When present the encoder copies from there and never
   * reads `value` (which would make a view per record).
   */
  readonly valueBytes?: Uint8Array;
  readonly valueStart?: number;
  readonly valueLength?: number;
}

/** RangeRecords is a RangeResponse whose KeyValues are store records. */
export interface RangeRecords {
  readonly header: ResponseHeader | undefined;
  readonly kvs: readonly KeyValueRecord[];
  readonly more: boolean;
  readonly count: number;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
/** SHORT_COPY_BYTES: keys and values up to this length are copied byte by byte (cheaper than TypedArray.set). */
const SHORT_COPY_BYTES = 32;

/**
 * A 64-bit field's value is carried between the sizing and the writing pass as a number: itself
 * when it is a safe non-negative integer (the header's revision and term; a lease id below 2^53),
 * else SLOW, and the writer then takes the slow path from the bigint again (a random 64-bit
 * lease id, the cluster and member ids).
 */
const SLOW = -1;

function varintSizeOf(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x20_0000) return 3;
  if (n < 0x1000_0000) return 4;
  if (n < 0x8_0000_0000) return 5;
  if (n < 0x400_0000_0000) return 6;
  if (n < 0x2_0000_0000_0000) return 7;
  return 8; // up to 2^56 > MAX_SAFE_INTEGER
}

/** fieldNumber is a 64-bit field's value as a number, or SLOW; 0n is 0 (the field is left out). Throws when out of range. */
function fieldNumber(v: bigint, signed: boolean, field: string): number {
  if (v >= 0n && v <= SAFE_MAX) return Number(v);
  if (signed ? v < INT64_MIN || v > INT64_MAX : v < 0n || v > UINT64_MAX) {
    throw new Error(`value provided for field message.${field} of type ${signed ? 'int64' : 'uint64'} too large`);
  }
  return SLOW;
}

/** recordNumber checks a store record's revision, version or count: a safe non-negative integer. */
function recordNumber(n: number, field: string): number {
  if (!(n >= 0 && Number.isSafeInteger(n))) throw new Error(`field ${field} is ${n}, not a non-negative safe integer`);
  return n;
}

/** slowVarintSize is the varint length of a 64-bit value that is not a safe non-negative number. */
function slowVarintSize(v: bigint): number {
  if (v < 0n) return 10;
  const hi = Number(v >> 32n);
  return Math.ceil((64 - Math.clz32(hi)) / 7);
}

/** fieldSize is the encoded size of a 64-bit varint field (tag included) from fieldNumber's result. */
function fieldSize(n: number, v: bigint): number {
  if (n === 0) return 0;
  return 1 + (n === SLOW ? slowVarintSize(v) : varintSizeOf(n));
}

/** writeNumber writes a safe non-negative integer as a varint at `at`; returns the offset after it. */
function writeNumber(out: Uint8Array, at: number, n: number): number {
  if (n < 0x8000_0000) {
    while (n >= 0x80) {
      out[at++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    out[at++] = n;
    return at;
  }
  while (n >= 0x80) {
    out[at++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[at++] = n;
  return at;
}

/** writeBigVarint writes any 64-bit value (two's complement when negative) as a varint. */
function writeBigVarint(out: Uint8Array, at: number, v: bigint): number {
  const u = BigInt.asUintN(64, v);
  let lo = Number(u & 0xffff_ffffn);
  let hi = Number(u >> 32n);
  while (hi !== 0 || lo >= 0x80) {
    out[at++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | ((hi & 0x7f) << 25)) >>> 0;
    hi >>>= 7;
  }
  out[at++] = lo;
  return at;
}

function writeVarintField(out: Uint8Array, at: number, tag: number, n: number, v: bigint): number {
  if (n === 0) return at;
  out[at++] = tag;
  return n === SLOW ? writeBigVarint(out, at, v) : writeNumber(out, at, n);
}

function bytesFieldSize(b: Uint8Array): number {
  const n = b.length;
  return n === 0 ? 0 : 1 + varintSizeOf(n) + n;
}

function writeBytesField(out: Uint8Array, at: number, tag: number, b: Uint8Array): number {
  return writePlacedBytesField(out, at, tag, b, 0, b.length);
}

/** writePlacedBytesField is writeBytesField for bytes [start, start + n) of `bytes`. */
function writePlacedBytesField(out: Uint8Array, at: number, tag: number, bytes: Uint8Array, start: number, n: number): number {
  if (n === 0) return at;
  out[at++] = tag;
  at = writeNumber(out, at, n);
  if (n <= SHORT_COPY_BYTES) {
    for (let i = 0; i < n; i++) out[at + i] = bytes[start + i]!;
  } else {
    out.set(start === 0 && n === bytes.length ? bytes : bytes.subarray(start, start + n), at);
  }
  return at + n;
}

// ---- ResponseHeader ------------------------------------------------------------------------

const headerNumbers = new Float64Array(4);

function headerSize(h: ResponseHeader): number {
  const n = headerNumbers;
  n[0] = fieldNumber(h.clusterId, false, 'clusterId');
  n[1] = fieldNumber(h.memberId, false, 'memberId');
  n[2] = fieldNumber(h.revision, true, 'revision');
  n[3] = fieldNumber(h.raftTerm, false, 'raftTerm');
  return fieldSize(n[0]!, h.clusterId) + fieldSize(n[1]!, h.memberId) + fieldSize(n[2]!, h.revision) + fieldSize(n[3]!, h.raftTerm);
}

function writeHeader(out: Uint8Array, at: number, h: ResponseHeader): number {
  const n = headerNumbers;
  at = writeVarintField(out, at, 8, n[0]!, h.clusterId);
  at = writeVarintField(out, at, 16, n[1]!, h.memberId);
  at = writeVarintField(out, at, 24, n[2]!, h.revision);
  return writeVarintField(out, at, 32, n[3]!, h.raftTerm);
}

// ---- KeyValue lists ------------------------------------------------------------------------

/** KV_SLOTS: per KeyValue, its size and its lease as a number (see fieldNumber). */
const KV_SLOTS = 2;
let kvNumbers = new Float64Array(KV_SLOTS * 1024);

/** sizeKeyValues fills kvNumbers for `kvs` and returns their encoded size as a repeated field (tags and lengths included). */
function sizeKeyValues(kvs: readonly KeyValueRecord[]): number {
  if (kvNumbers.length < KV_SLOTS * kvs.length) kvNumbers = new Float64Array(KV_SLOTS * Math.max(kvs.length, 2 * (kvNumbers.length / KV_SLOTS)));
  const n = kvNumbers;
  let total = 0;
  for (let i = 0, s = 0; i < kvs.length; i++, s += KV_SLOTS) {
    const kv = kvs[i]!;
    const create = recordNumber(kv.createRevision, 'createRevision');
    const mod = recordNumber(kv.modRevision, 'modRevision');
    const version = recordNumber(kv.version, 'version');
    const lease = fieldNumber(kv.lease, true, 'lease');
    const valueLength = kv.valueBytes !== undefined ? kv.valueLength! : kv.value.length;
    const size = bytesFieldSize(kv.key) + numberFieldSize(create) + numberFieldSize(mod) + numberFieldSize(version) +
      (valueLength === 0 ? 0 : 1 + varintSizeOf(valueLength) + valueLength) + fieldSize(lease, kv.lease);
    n[s] = size;
    n[s + 1] = lease;
    total += 1 + varintSizeOf(size) + size;
  }
  return total;
}

function numberFieldSize(n: number): number {
  return n === 0 ? 0 : 1 + varintSizeOf(n);
}

function writeNumberField(out: Uint8Array, at: number, tag: number, n: number): number {
  if (n === 0) return at;
  out[at++] = tag;
  return writeNumber(out, at, n);
}

/** writeKeyValues writes `kvs` as repeated field `tag` (sizeKeyValues ran just before). */
function writeKeyValues(out: Uint8Array, at: number, tag: number, kvs: readonly KeyValueRecord[]): number {
  const n = kvNumbers;
  for (let i = 0, s = 0; i < kvs.length; i++, s += KV_SLOTS) {
    const kv = kvs[i]!;
    out[at++] = tag;
    at = writeNumber(out, at, n[s]!);
    at = writeBytesField(out, at, 10, kv.key);
    at = writeNumberField(out, at, 16, kv.createRevision);
    at = writeNumberField(out, at, 24, kv.modRevision);
    at = writeNumberField(out, at, 32, kv.version);
    at = kv.valueBytes !== undefined
      ? writePlacedBytesField(out, at, 42, kv.valueBytes, kv.valueStart!, kv.valueLength!)
      : writeBytesField(out, at, 42, kv.value);
    at = writeVarintField(out, at, 48, n[s + 1]!, kv.lease);
  }
  return at;
}

/**
 * encodeRangeRecords serializes `r` as an etcdserverpb.RangeResponse after `prefixBytes` bytes
 * left for the caller (5 for a gRPC frame, 0 for the bare message). Throws on a 64-bit field out
 * of range, as the generated encoder does, or on a record number that is not a safe integer.
 */
export function encodeRangeRecords(r: RangeRecords, prefixBytes: number): Buffer {
  let total = 0;
  let hSize = 0;
  if (r.header !== undefined) {
    hSize = headerSize(r.header);
    total += 1 + varintSizeOf(hSize) + hSize;
  }
  total += sizeKeyValues(r.kvs);
  if (r.more) total += 2;
  const count = recordNumber(r.count, 'count');
  total += numberFieldSize(count);

  const out = Buffer.allocUnsafe(prefixBytes + total);
  let at = prefixBytes;
  if (r.header !== undefined) {
    out[at++] = 10;
    at = writeNumber(out, at, hSize);
    at = writeHeader(out, at, r.header);
  }
  at = writeKeyValues(out, at, 18, r.kvs);
  if (r.more) {
    out[at++] = 24;
    out[at++] = 1;
  }
  at = writeNumberField(out, at, 32, count);
  if (at !== out.length) throw new Error(`RangeResponse encoder wrote ${at - prefixBytes} of ${total} bytes`);
  return out;
}
