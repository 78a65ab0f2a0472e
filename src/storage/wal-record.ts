import { Buffer } from 'node:buffer';
import { BinaryReader, BinaryWriter, CodecError } from '../lib/binary.js';
import { unreachable } from '../lib/assert.js';
import type { Entry, HardState, LogIndex, Term } from '../raft/types.js';
import { readEntry, readHardState, writeEntry, writeHardState } from '../raft/wire-codec.js';
import { crc32 } from './crc32.js';
import { StorageError, StorageErrorCode } from './errors.js';
import { STORAGE_LIMITS } from './limits.js';

/**
 * WAL records. Each record is
 *   u32 payloadLength | u32 crc | u8 type | payload
 * little-endian; `crc` is CRC-32 over the length field, the type byte and the payload (so a
 * damaged length is caught as well). Payloads use the wire codecs of src/raft/wire-codec.ts.
 *
 * WAL_FORMAT_VERSION is the version new segments are written with. Version 2 segments are
 * preallocated: the records are followed by zeros up to the end of the file, and the first
 * all-zero record header followed only by zeros is the segment's clean logical end. Version 1
 * segments end at the end of the file (zeros there are a torn tail). The records are the same.
 */
export const WAL_FORMAT_VERSION = 2;

/** WAL_FORMAT_VERSIONS_READABLE are the segment versions this build recovers. */
export const WAL_FORMAT_VERSIONS_READABLE: readonly number[] = [1, 2];

/** formatHasZeroTail says whether segments of `formatVersion` may end in a preallocated zero tail. */
export function formatHasZeroTail(formatVersion: number): boolean {
  return formatVersion >= 2;
}

/** RECORD_HEADER_BYTES is the size of length + crc + type. */
export const RECORD_HEADER_BYTES = 9;
/** ENTRY_FIXED_BYTES is the size of an entry record's payload besides its data (term, index, type, data length). */
const ENTRY_FIXED_BYTES = 8 + 8 + 1 + 4;

/** CLUSTER_ID_BYTES_MAX bounds the cluster id stored in segment headers. */
export const CLUSTER_ID_BYTES_MAX = 256;

const typeCodes = { metadata: 1, entry: 2, 'hard-state': 3, snapshot: 4, 'segment-end': 5 } as const;

/**
 * WalIdentity names whose log a WAL is, checked on every open: the cluster id (a string of at
 * most `CLUSTER_ID_BYTES_MAX` UTF-8 bytes, e.g. 16 hex digits) and the group and node ids
 * (non-negative safe integers).
 */
export interface WalIdentity {
  readonly clusterId: string;
  readonly groupId: number;
  readonly nodeId: number;
}

/**
 * SnapshotMarker says the log continues from the snapshot at (index, term). `installed` marks a
 * snapshot received from the leader, which replaces the whole log; a local snapshot (taken from
 * this node's state machine) keeps the entries after it.
 */
export interface SnapshotMarker {
  readonly index: LogIndex;
  readonly term: Term;
  readonly installed: boolean;
}

/** SegmentMetadata is the first record of every segment. */
export interface SegmentMetadata {
  readonly formatVersion: number;
  readonly identity: WalIdentity;
  /** seq numbers segments 1, 2, 3, ... with no gaps. */
  readonly seq: number;
  /** firstIndex is the index the next entry had when the segment was started. */
  readonly firstIndex: LogIndex;
}

/** WalRecord is one decoded record. */
export type WalRecord =
  | { readonly type: 'metadata'; readonly metadata: SegmentMetadata }
  | { readonly type: 'entry'; readonly entry: Entry }
  | { readonly type: 'hard-state'; readonly hardState: HardState }
  | { readonly type: 'snapshot'; readonly marker: SnapshotMarker }
  | { readonly type: 'segment-end'; readonly seq: number };

/** RecordEncoder frames records into one buffer (one write per batch). */
export class RecordEncoder {
  private readonly w: BinaryWriter;
  private readonly starts: number[] = [];

  /** initialBytes sizes the buffer (a good estimate avoids growing it, which copies). */
  constructor(initialBytes = 4096) {
    this.w = new BinaryWriter(initialBytes);
  }

  /** add appends one record; throws StorageError(RecordTooLarge) if its payload is over the limit. */
  add(record: WalRecord): this {
    const start = this.w.length;
    this.w.u32(0).u32(0).u8(typeCodes[record.type]);
    writePayload(this.w, record);
    const payloadBytes = this.w.length - start - RECORD_HEADER_BYTES;
    if (payloadBytes > STORAGE_LIMITS.recordBytesMax) {
      throw new StorageError(StorageErrorCode.RecordTooLarge,
        `WAL ${record.type} record of ${payloadBytes} bytes exceeds ${STORAGE_LIMITS.recordBytesMax}`);
    }
    this.w.patchU32(start, payloadBytes);
    this.starts.push(start);
    return this;
  }

  get lengthBytes(): number {
    return this.w.length;
  }

  /** finish computes the CRCs and returns the framed bytes; the encoder must not be reused. */
  finish(): Uint8Array {
    const bytes = this.w.finish();
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const start of this.starts) {
      const end = start + RECORD_HEADER_BYTES + view.getUint32(start, true);
      view.setUint32(start + 4, recordCrc(bytes, start, end), true);
    }
    return bytes;
  }
}

/** SEGMENT_END_BYTES_MAX is the largest framed segment-end record (room kept for it in a segment). */
export const SEGMENT_END_BYTES_MAX = encodeRecords([{ type: 'segment-end', seq: Number.MAX_SAFE_INTEGER }]).byteLength;

/** encodeRecords frames `records` into one buffer. */
export function encodeRecords(records: readonly WalRecord[]): Uint8Array {
  let estimate = 0;
  for (const r of records) estimate += RECORD_HEADER_BYTES + (r.type === 'entry' ? ENTRY_FIXED_BYTES + r.entry.data.byteLength : 64);
  const encoder = new RecordEncoder(estimate);
  for (const r of records) encoder.add(r);
  return encoder.finish();
}

function recordCrc(bytes: Uint8Array, start: number, end: number): number {
  return crc32(bytes.subarray(start + 8, end), crc32(bytes.subarray(start, start + 4)));
}

function writePayload(w: BinaryWriter, record: WalRecord): void {
  switch (record.type) {
    case 'metadata': {
      const m = record.metadata;
      w.u16(m.formatVersion).string(m.identity.clusterId).u53(m.identity.groupId).u53(m.identity.nodeId)
        .u53(m.seq).u53(m.firstIndex);
      return;
    }
    case 'entry':
      writeEntry(w, record.entry);
      return;
    case 'hard-state':
      writeHardState(w, record.hardState);
      return;
    case 'snapshot':
      w.u53(record.marker.index).u53(record.marker.term).bool(record.marker.installed);
      return;
    case 'segment-end':
      w.u53(record.seq);
      return;
    default:
      unreachable(record);
  }
}

/** ScannedRecord is a record found at byte `offset`, ending before `endOffset`. */
export interface ScannedRecord {
  readonly record: WalRecord;
  readonly offset: number;
  readonly endOffset: number;
}

/**
 * BadRecord describes the first record that could not be read. `framingIntact` is true when the
 * CRC matched but the payload made no sense (unknown type, bad fields): never a torn write.
 */
export interface BadRecord {
  readonly offset: number;
  readonly problem: string;
  readonly framingIntact: boolean;
}

/** SegmentScan is every good record of a segment up to the first bad one (if any). */
export interface SegmentScan {
  readonly records: ScannedRecord[];
  readonly bad: BadRecord | undefined;
}

/** scanRecords reads records from the start of `bytes` until the end or the first bad record. */
export function scanRecords(bytes: Uint8Array): SegmentScan {
  const records: ScannedRecord[] = [];
  let offset = 0;
  while (offset < bytes.byteLength) {
    const framed = checkFraming(bytes, offset);
    if (typeof framed === 'string') return { records, bad: { offset, problem: framed, framingIntact: false } };
    try {
      records.push({ record: decodePayload(bytes, offset, framed), offset, endOffset: framed });
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      return { records, bad: { offset, problem: `undecodable record: ${error.message}`, framingIntact: true } };
    }
    offset = framed;
  }
  return { records, bad: undefined };
}

/**
 * findIntactRecordAfter returns the offset of the first position after `offset` where an intact
 * record (length in bounds, CRC matching) starts, or undefined. A torn write leaves nothing
 * intact after the tear; finding an intact record means the damage is in the middle of the log.
 * Only positions before `dataEndBytes(bytes) - 8` are tried: every record has a non-zero type
 * byte at +8, so none starts inside a zero tail (a preallocated segment is mostly zeros).
 */
export function findIntactRecordAfter(bytes: Uint8Array, offset: number): number | undefined {
  const startLimit = dataEndBytes(bytes) - (RECORD_HEADER_BYTES - 1);
  for (let at = offset + 1; at < startLimit && at + RECORD_HEADER_BYTES <= bytes.byteLength; at++) {
    if (bytes[at + RECORD_HEADER_BYTES - 1] === 0) {
      // No record has type 0: skip to the next non-zero byte (zero runs can be megabytes long).
      at = nextNonZero(bytes, at + RECORD_HEADER_BYTES - 1) - RECORD_HEADER_BYTES; // the loop adds 1
      continue;
    }
    if (typeof checkFraming(bytes, at) === 'number') return at;
  }
  return undefined;
}

/** nextNonZero is the index of the first non-zero byte at or after `from` (bytes.byteLength if none). */
function nextNonZero(bytes: Uint8Array, from: number): number {
  let at = from;
  while (at < bytes.byteLength) {
    const end = Math.min(bytes.byteLength, at + ZERO_CHUNK.byteLength);
    if (isZeroRange(bytes, at, end)) {
      at = end;
      continue;
    }
    while (bytes[at] === 0) at++;
    return at;
  }
  return bytes.byteLength;
}

/** checkFraming returns the end offset of an intact record at `offset`, or what is wrong. */
function checkFraming(bytes: Uint8Array, offset: number): number | string {
  const remaining = bytes.byteLength - offset;
  if (remaining < RECORD_HEADER_BYTES) return `truncated record header (${remaining} of ${RECORD_HEADER_BYTES} bytes)`;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, RECORD_HEADER_BYTES);
  const length = view.getUint32(0, true);
  if (length > STORAGE_LIMITS.recordBytesMax) return `record length ${length} exceeds ${STORAGE_LIMITS.recordBytesMax}`;
  const end = offset + RECORD_HEADER_BYTES + length;
  if (end > bytes.byteLength) return `record of ${length} bytes runs past the end of the file (${remaining - RECORD_HEADER_BYTES} available)`;
  const stored = view.getUint32(4, true);
  const actual = recordCrc(bytes, offset, end);
  if (stored !== actual) return `CRC mismatch (stored ${hex(stored)}, computed ${hex(actual)})`;
  return end;
}

function decodePayload(bytes: Uint8Array, offset: number, end: number): WalRecord {
  const code = bytes[offset + 8]!;
  const r = new BinaryReader(bytes.subarray(offset + RECORD_HEADER_BYTES, end));
  const record = readPayload(r, code);
  r.end(`${record.type} record`);
  return record;
}

function readPayload(r: BinaryReader, code: number): WalRecord {
  switch (code) {
    case typeCodes.metadata: {
      const formatVersion = r.u16('format version');
      const identity = { clusterId: r.string('cluster id', CLUSTER_ID_BYTES_MAX), groupId: r.u53('group id'), nodeId: r.u53('node id') };
      return { type: 'metadata', metadata: { formatVersion, identity, seq: r.u53('segment seq'), firstIndex: r.u53('first index') } };
    }
    case typeCodes.entry:
      return { type: 'entry', entry: readEntry(r) };
    case typeCodes['hard-state']:
      return { type: 'hard-state', hardState: readHardState(r) };
    case typeCodes.snapshot:
      return { type: 'snapshot', marker: { index: r.u53('snapshot index'), term: r.u53('snapshot term'), installed: r.bool('installed') } };
    case typeCodes['segment-end']:
      return { type: 'segment-end', seq: r.u53('segment seq') };
    default:
      throw new CodecError(`unknown record type ${code} (written by a newer version?)`, 0);
  }
}

function hex(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}

/** SECTOR_BYTES is the unit a disk writes atomically at best; unwritten pages read as zeros. */
export const SECTOR_BYTES = 512;

/**
 * isTornTail decides whether the bad record at `offset` of the LAST segment is the tail of an
 * interrupted write (truncate and go on) rather than corruption (refuse to start). It is torn when
 * (a) no intact record starts anywhere after it (a write stopped part-way, or its last record is
 * damaged), or (b) an all-zero aligned sector lies between it and the next intact record (a page
 * of an unsynced write never reached the disk while a later page did; every byte after a
 * never-written page was unsynced, so none of it was acknowledged).
 */
export function isTornTail(bytes: Uint8Array, offset: number): boolean {
  const next = findIntactRecordAfter(bytes, offset);
  return next === undefined || hasZeroSector(bytes, offset, next);
}

const ZERO_CHUNK = new Uint8Array(64 * 1024);

/** isZeroRange says whether bytes[from, to) are all zero (memcmp against a zero chunk). */
export function isZeroRange(bytes: Uint8Array, from: number, to: number): boolean {
  for (let at = from; at < to; at += ZERO_CHUNK.byteLength) {
    const end = Math.min(to, at + ZERO_CHUNK.byteLength);
    if (Buffer.compare(bytes.subarray(at, end), ZERO_CHUNK.subarray(0, end - at)) !== 0) return false;
  }
  return true;
}

/** dataEndBytes is one past the last non-zero byte of `bytes` (0 if all are zero). */
export function dataEndBytes(bytes: Uint8Array): number {
  let end = bytes.byteLength;
  while (end > 0) {
    const start = Math.max(0, end - ZERO_CHUNK.byteLength);
    if (!isZeroRange(bytes, start, end)) {
      while (bytes[end - 1] === 0) end--;
      return end;
    }
    end = start;
  }
  return 0;
}

function hasZeroSector(bytes: Uint8Array, from: number, to: number): boolean {
  for (let start = Math.ceil(from / SECTOR_BYTES) * SECTOR_BYTES; start + SECTOR_BYTES <= to; start += SECTOR_BYTES) {
    let zero = true;
    for (let i = start; i < start + SECTOR_BYTES; i++) {
      if (bytes[i] !== 0) {
        zero = false;
        break;
      }
    }
    if (zero) return true;
  }
  return false;
}
