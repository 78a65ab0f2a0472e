import { BinaryReader, BinaryWriter, CodecError } from '../lib/binary.js';
import { assert } from '../lib/assert.js';
import { CRC32C_START, crc32c, crc32cFinish, crc32cUpdate } from '../lib/crc32c.js';
import { compareBytes } from './bytes.js';
import { readCount, readEnum, readI64, readU64, writeU64 } from './codec-fields.js';
import type { KeyWrite } from './key-history.js';
import { MvccStore, type MvccStoreOptions, type StoreState } from './mvcc-store.js';
import { AlarmType, type AlarmMember, type KeyValue } from './types.js';
import { readSessions, writeSessions } from './session-codec.js';
import { SEQUENCER_NAME_BYTES_MAX, type SequencerCounter } from './sequencer-table.js';

/**
 * Store snapshots: the whole replicated state of an MvccStore (every retained key version,
 * tombstones, revisions, leases with checkpoints, the lease id generator, alarms), in canonical
 * order so equal states give equal bytes.
 *
 * Layout (version 1): u32 magic "CKV1", u8 version, u53 currentRevision, u53 compactRevision,
 * u32 keys x (bytes key, u32 writes x (u53 main, u32 sub, bool live, [u53 createRevision,
 * u53 version, bytes value, u64 lease])), u32 leases x (u64 id, u53 grantedTtl, u53 remainingTtl),
 * u64 lease generator, u32 alarms x (u64 memberId, u8 type), then u32 CRC-32C of all before it.
 * Version 2 adds, before the CRC: u32 counters x (bytes name, u53 last) in name order, then the
 * session table (session-codec.ts). Version 1 snapshots still decode (no counters, no sessions).
 */
export const STORE_SNAPSHOT_VERSION = 2;
const STORE_SNAPSHOT_VERSIONS_READABLE: readonly number[] = [1, 2];
const MAGIC = 0x314b5643; // "CKV1" little-endian

/** encodeStoreSnapshot serializes the store's state. */
export function encodeStoreSnapshot(store: MvccStore): Uint8Array {
  return encodeStoreState(store.exportState());
}

export function encodeStoreState(state: StoreState): Uint8Array {
  return allChunks(new StoreSnapshotEncoder(state));
}

/** ChunkEncoder is an encoder that knows its total size and hands out its bytes in chunks. */
export interface ChunkEncoder {
  readonly size: number;
  nextChunk(bytesMax?: number): Uint8Array | undefined;
}

/** allChunks returns all of an encoder's bytes at once. */
export function allChunks(encoder: ChunkEncoder): Uint8Array {
  const out = new Uint8Array(encoder.size);
  let at = 0;
  for (let chunk = encoder.nextChunk(); chunk !== undefined; chunk = encoder.nextChunk()) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * checkedBody returns `data` without its trailing u32 CRC-32C, after checking it (what the
 * snapshot and delta formats end with); throws CodecError naming `what`.
 */
export function checkedBody(data: Uint8Array, what: string): Uint8Array {
  if (data.length < 4) throw new CodecError(`${what} shorter than its checksum`, 0);
  const body = data.subarray(0, data.length - 4);
  const expected = new DataView(data.buffer, data.byteOffset + data.length - 4, 4).getUint32(0, true);
  if (crc32c(body) !== expected) throw new CodecError(`${what} checksum mismatch`, data.length - 4);
  return body;
}

/**
 * SectionedEncoder is the chunk sequence the snapshot and delta formats share: a header, then
 * items (keys, writes) a group at a time, then the rest of the state (`tail`) and a CRC-32C of
 * everything before it. Subclasses give the header, each item's encoded size and how a run of
 * items is written; the size is known up front and checked as the chunks go out.
 */
export abstract class SectionedEncoder<Item> implements ChunkEncoder {
  readonly size: number;
  private crc = CRC32C_START;
  /** next is the next item to encode; -1 before the header, items.length + 1 after the tail. */
  private next = -1;
  private written = 0;

  constructor(
    private readonly header: Uint8Array,
    private readonly items: readonly Item[],
    private readonly tail: Uint8Array,
  ) {
    let bytes = header.length + tail.length + 4;
    for (const item of items) bytes += this.itemSize(item);
    this.size = bytes;
  }

  protected abstract itemSize(item: Item): number;
  /** writeItems encodes items [start, end), whose sizes add up to `bytes`, into one chunk. */
  protected abstract writeItems(items: readonly Item[], start: number, end: number, bytes: number): Uint8Array;

  /**
   * nextChunk returns the next piece: the header first, then whole items up to about `bytesMax`
   * per chunk (at least one), last the tail and checksum; then undefined.
   */
  nextChunk(bytesMax = Number.POSITIVE_INFINITY): Uint8Array | undefined {
    const items = this.items;
    let chunk: Uint8Array;
    if (this.next < 0) {
      chunk = this.header;
      this.next = 0;
    } else if (this.next < items.length) {
      let end = this.next;
      let bytes = 0;
      while (end < items.length && (end === this.next || bytes + this.itemSize(items[end]!) <= bytesMax)) bytes += this.itemSize(items[end++]!);
      chunk = this.writeItems(items, this.next, end, bytes);
      assert(chunk.length === bytes, 'item sizes computed up front');
      this.next = end;
    } else if (this.next === items.length) {
      this.crc = crc32cUpdate(this.crc, this.tail);
      const w = new BinaryWriter(this.tail.length + 4);
      w.raw(this.tail).u32(crc32cFinish(this.crc));
      this.next++;
      this.written += this.tail.length + 4;
      assert(this.written === this.size, 'encoded size computed up front');
      return w.finish();
    } else {
      return undefined;
    }
    this.crc = crc32cUpdate(this.crc, chunk);
    this.written += chunk.length;
    return chunk;
  }
}

/** encodedTail encodes the rest of the state (writeStoreTail) on its own. */
export function encodedTail(state: StoreTail): Uint8Array {
  const tail = new BinaryWriter(4096);
  writeStoreTail(tail, state);
  return tail.finish();
}

/**
 * StoreSnapshotEncoder writes a captured StoreState as a series of chunks (the header, the keys a
 * group at a time, then the rest with the checksum), so that a host can write a large snapshot to
 * its file piece by piece between other work, never holding the whole of it in memory. The state
 * is immutable once exported, so the bytes do not depend on when the chunks are taken; their
 * concatenation is exactly encodeStoreState's output, whose `size` is known up front.
 */
export class StoreSnapshotEncoder extends SectionedEncoder<StoreState['keys'][number]> {
  constructor(state: StoreState) {
    const w = new BinaryWriter(HEADER_BYTES);
    w.u32(MAGIC).u8(STORE_SNAPSHOT_VERSION).u53(state.currentRevision).u53(state.compactRevision);
    w.u32(state.keys.length);
    super(w.finish(), state.keys, encodedTail(state));
  }

  protected itemSize(k: StoreState['keys'][number]): number {
    return keySize(k);
  }

  protected writeItems(keys: readonly StoreState['keys'][number][], start: number, end: number, bytes: number): Uint8Array {
    const w = new KeySectionWriter(bytes);
    for (let i = start; i < end; i++) w.writeKey(keys[i]!);
    return w.out;
  }
}

/** keySize is the encoded size of one key with its writes. */
function keySize(k: StoreState['keys'][number]): number {
  let bytes = 8 + k.key.length;
  for (const write of k.writes) {
    const kv = write.kv as (KeyValue & Partial<PlacedValue>) | null;
    bytes += WRITE_BYTES + (kv === null ? 0 : LIVE_BYTES + (kv.valueBytes !== undefined ? kv.valueLength! : kv.value.length));
  }
  return bytes;
}

/** PlacedValue: where a store record (StoredWrite) keeps its value, in a slab chunk. */
interface PlacedValue {
  readonly valueBytes: Uint8Array;
  readonly valueStart: number;
  readonly valueLength: number;
}

/**
 * KeySectionWriter writes keys into one exactly sized chunk, little-endian as BinaryWriter does
 * (u53 as float64, u64 as its high then its low u32), copying values from where the store keeps
 * them: no object is made per write.
 */
class KeySectionWriter {
  readonly out: Uint8Array;
  private readonly view: DataView;
  private at = 0;

  constructor(bytes: number) {
    this.out = new Uint8Array(bytes);
    this.view = new DataView(this.out.buffer, this.out.byteOffset, bytes);
  }

  get length(): number {
    return this.at;
  }

  writeKey(k: StoreState['keys'][number]): void {
    const view = this.view;
    const out = this.out;
    const key = k.key;
    let at = this.at;
    view.setUint32(at, key.length, true);
    out.set(key, at + 4);
    at += 4 + key.length;
    view.setUint32(at, k.writes.length, true);
    at += 4;
    for (const write of k.writes) {
      view.setFloat64(at, write.main, true);
      view.setUint32(at + 8, write.sub, true);
      const kv = write.kv as (KeyValue & Partial<PlacedValue>) | null;
      if (kv === null) {
        out[at + 12] = 0;
        at += WRITE_BYTES;
        continue;
      }
      out[at + 12] = 1;
      at += WRITE_BYTES;
      view.setFloat64(at, kv.createRevision, true);
      view.setFloat64(at + 8, kv.version, true);
      at += 16;
      if (kv.valueBytes !== undefined) {
        const start = kv.valueStart!;
        const length = kv.valueLength!;
        view.setUint32(at, length, true);
        at += 4;
        const from = kv.valueBytes;
        if (length <= 32) for (let i = 0; i < length; i++) out[at + i] = from[start + i]!;
        else out.set(from.subarray(start, start + length), at);
        at += length;
      } else {
        const value = kv.value;
        view.setUint32(at, value.length, true);
        out.set(value, at + 4);
        at += 4 + value.length;
      }
      const lease = kv.lease;
      if (lease === 0n) {
        view.setUint32(at, 0, true);
        view.setUint32(at + 4, 0, true);
      } else {
        const bits = BigInt.asUintN(64, lease);
        view.setUint32(at, Number(bits >> 32n), true);
        view.setUint32(at + 4, Number(bits & 0xffffffffn), true);
      }
      at += 8;
    }
    this.at = at;
  }
}

/** StoreTail is the state besides the keys: leases, the lease id generator, alarms, counters, sessions. */
export type StoreTail = Pick<StoreState, 'leases' | 'leaseGeneratorState' | 'alarms' | 'sequencers' | 'sessions'>;

/** writeStoreTail writes the state after the keys (snapshot version 2's layout). */
export function writeStoreTail(w: BinaryWriter, state: StoreTail): void {
  w.u32(state.leases.length);
  for (const l of state.leases) {
    writeU64(w, l.id);
    w.u53(l.grantedTtl).u53(l.remainingTtl);
  }
  writeU64(w, state.leaseGeneratorState);
  w.u32(state.alarms.length);
  for (const a of state.alarms) {
    writeU64(w, a.memberId);
    w.u8(a.alarm);
  }
  w.u32(state.sequencers.length);
  for (const c of state.sequencers) w.bytes(c.name).u53(c.last);
  writeSessions(w, state.sessions);
}

/** readStoreTail reads what writeStoreTail wrote (`version` 1 has no counters and no sessions); throws CodecError. */
export function readStoreTail(r: BinaryReader, version: number): StoreTail {
  const leases = [];
  for (let n = readCount(r, 'leases', 24); n > 0; n--) {
    leases.push({ id: readI64(r, 'lease id'), grantedTtl: r.u53('granted ttl'), remainingTtl: r.u53('remaining ttl') });
  }
  const leaseGeneratorState = readU64(r, 'lease generator');
  const alarms: AlarmMember[] = [];
  for (let n = readCount(r, 'alarms', 9); n > 0; n--) {
    alarms.push({ memberId: readU64(r, 'member id'), alarm: readEnum(r, 'alarm', Object.values(AlarmType)) });
  }
  const sequencers: SequencerCounter[] = [];
  let sessions: StoreState['sessions'] = [];
  if (version >= 2) {
    for (let n = readCount(r, 'counters', 12); n > 0; n--) {
      const name = r.bytes('counter name', SEQUENCER_NAME_BYTES_MAX);
      const previous = sequencers[sequencers.length - 1];
      if (name.length === 0 || (previous !== undefined && compareBytes(previous.name, name) >= 0)) {
        throw new CodecError('counters out of order', r.offset);
      }
      sequencers.push({ name, last: r.u53('counter last') });
    }
    sessions = readSessions(r);
  }
  return { leases, leaseGeneratorState, alarms, sequencers, sessions };
}

/** Sizes in the key section: the header; per write (main, sub, live); per live version (create, version, value length, lease). */
const HEADER_BYTES = 4 + 1 + 8 + 8 + 4;
const WRITE_BYTES = 8 + 4 + 1;
const LIVE_BYTES = 8 + 8 + 4 + 8;

/** decodeStoreState parses and validates a snapshot; throws CodecError on corruption. */
export function decodeStoreState(data: Uint8Array): StoreState {
  const r = new BinaryReader(checkedBody(data, 'store snapshot'));
  if (r.u32('magic') !== MAGIC) throw new CodecError('not a kv store snapshot', 0);
  const version = r.u8('snapshot version');
  if (!STORE_SNAPSHOT_VERSIONS_READABLE.includes(version)) throw new CodecError(`unknown store snapshot version ${version}`, 4);
  const currentRevision = r.u53('current revision');
  const compactRevision = r.u53('compact revision');
  const keys: { key: Uint8Array; writes: KeyWrite[] }[] = [];
  for (let n = readCount(r, 'keys', 8); n > 0; n--) {
    const key = r.bytes('key');
    const previous = keys[keys.length - 1];
    if (previous !== undefined && compareBytes(previous.key, key) >= 0) throw new CodecError('keys out of order', r.offset);
    const writes: KeyWrite[] = [];
    for (let m = readCount(r, 'writes', 13); m > 0; m--) {
      const main = r.u53('main revision');
      const sub = r.u32('sub revision');
      let kv: KeyValue | null = null;
      if (r.bool('live')) {
        kv = {
          key, modRevision: main, createRevision: r.u53('create revision'), version: r.u53('version'),
          value: r.bytes('value'), lease: readI64(r, 'lease'),
        };
      }
      const last = writes[writes.length - 1];
      if (main > currentRevision || (last !== undefined && (main < last.main || (main === last.main && sub <= last.sub)))) {
        throw new CodecError('key writes out of order', r.offset);
      }
      writes.push({ main, sub, kv });
    }
    if (writes.length === 0) throw new CodecError('key without writes', r.offset);
    keys.push({ key, writes });
  }
  const { leases, leaseGeneratorState, alarms, sequencers, sessions } = readStoreTail(r, version);
  r.end('store snapshot');
  if (compactRevision > currentRevision) throw new CodecError('compact revision above current revision', 5);
  return { currentRevision, compactRevision, keys, leases, leaseGeneratorState, alarms, sequencers, sessions };
}

/** restoreStoreSnapshot builds a store from a snapshot. */
export function restoreStoreSnapshot(data: Uint8Array, options: MvccStoreOptions = {}): MvccStore {
  const store = new MvccStore(options);
  store.importState(decodeStoreState(data));
  return store;
}
