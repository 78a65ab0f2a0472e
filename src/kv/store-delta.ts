import { BinaryReader, BinaryWriter, CodecError } from '../lib/binary.js';
import { compareBytes } from './bytes.js';
import { readCount, readI64, writeU64 } from './codec-fields.js';
import type { KeyWrite } from './key-history.js';
import type { StoreDelta, StoreState } from './mvcc-store.js';
import { SectionedEncoder, allChunks, checkedBody, encodedTail, readStoreTail } from './store-snapshot.js';
import type { KeyValue } from './types.js';

/**
 * Store deltas: the building block of snapshots that do not rewrite the whole history each time
 * (docs/performance.md, *Snapshots grow with the history*). Writes are appended in revision order
 * and change only when the store compacts, so the state at revision R2 is the state at R1 plus
 * the writes of (R1, R2] — as long as no compaction happened in between — and the rest of the
 * state (leases, alarms, counters, sessions), which is small and is carried whole.
 *
 * Layout (version 1): u32 magic "CKD1", u8 version, u53 baseRevision, u53 currentRevision,
 * u53 compactRevision, u32 writes x (bytes key, u53 main, u32 sub, bool live, [u53
 * createRevision, u53 version, bytes value, u64 lease]) in (main, sub) order, then the rest of
 * the state as in a store snapshot of version 2 (store-snapshot.ts writeStoreTail), then u32
 * CRC-32C of all before it.
 *
 */
const DELTA_MAGIC = 0x31444b43; // "CKD1" little-endian
const DELTA_VERSION = 1;

/** encodeStoreDelta serializes a delta (MvccStore.exportDelta) at once. */
export function encodeStoreDelta(delta: StoreDelta): Uint8Array {
  return allChunks(new StoreDeltaEncoder(delta));
}

/**
 * StoreDeltaEncoder writes a delta as a series of chunks (the header, the writes a group at a
 * time, then the rest of the state with the checksum), as StoreSnapshotEncoder does for a whole
 * state: a host writes a large delta piece by piece between other work. The delta shares the
 * store's immutable records, so the bytes do not depend on when the chunks are taken.
 */
export class StoreDeltaEncoder extends SectionedEncoder<StoreDelta['writes'][number]> {
  constructor(delta: StoreDelta) {
    const w = new BinaryWriter(DELTA_HEADER_BYTES);
    w.u32(DELTA_MAGIC).u8(DELTA_VERSION).u53(delta.baseRevision).u53(delta.currentRevision).u53(delta.compactRevision);
    w.u32(delta.writes.length);
    super(w.finish(), delta.writes, encodedTail(delta));
  }

  protected itemSize(item: StoreDelta['writes'][number]): number {
    return writeSize(item);
  }

  protected writeItems(writes: readonly StoreDelta['writes'][number][], start: number, end: number, bytes: number): Uint8Array {
    const w = new BinaryWriter(bytes);
    for (let i = start; i < end; i++) {
      const { key, write } = writes[i]!;
      w.bytes(key).u53(write.main).u32(write.sub).bool(write.kv !== null);
      if (write.kv !== null) {
        w.u53(write.kv.createRevision).u53(write.kv.version).bytes(write.kv.value);
        writeU64(w, write.kv.lease);
      }
    }
    return w.finish();
  }
}

/** DELTA_HEADER_BYTES: magic, version, three revisions, the write count. */
const DELTA_HEADER_BYTES = 4 + 1 + 8 + 8 + 8 + 4;

function writeSize({ key, write }: StoreDelta['writes'][number]): number {
  // key (u32 + bytes), main, sub, live; a live write adds create, version, value (u32 + bytes), lease.
  return 4 + key.length + 8 + 4 + 1 + (write.kv === null ? 0 : 8 + 8 + 4 + write.kv.value.length + 8);
}

/** decodeStoreDelta parses and validates a delta; throws CodecError on corruption. */
export function decodeStoreDelta(data: Uint8Array): StoreDelta {
  const r = new BinaryReader(checkedBody(data, 'store delta'));
  if (r.u32('magic') !== DELTA_MAGIC) throw new CodecError('not a kv store delta', 0);
  const version = r.u8('delta version');
  if (version !== DELTA_VERSION) throw new CodecError(`unknown store delta version ${version}`, 4);
  const baseRevision = r.u53('base revision');
  const currentRevision = r.u53('current revision');
  const compactRevision = r.u53('compact revision');
  if (compactRevision > baseRevision || baseRevision > currentRevision) {
    throw new CodecError('delta revisions out of order (compact <= base <= current)', 5);
  }
  const writes: { key: Uint8Array; write: KeyWrite }[] = [];
  let last: KeyWrite | undefined;
  for (let n = readCount(r, 'writes', 18); n > 0; n--) {
    const key = r.bytes('key');
    const main = r.u53('main revision');
    const sub = r.u32('sub revision');
    let kv: KeyValue | null = null;
    if (r.bool('live')) {
      kv = {
        key, modRevision: main, createRevision: r.u53('create revision'), version: r.u53('version'),
        value: r.bytes('value'), lease: readI64(r, 'lease'),
      };
    }
    if (main <= baseRevision || main > currentRevision || (last !== undefined && (main < last.main || (main === last.main && sub <= last.sub)))) {
      throw new CodecError('delta writes out of order or outside (base, current]', r.offset);
    }
    last = { main, sub, kv };
    writes.push({ key, write: last });
  }
  const tail = readStoreTail(r, 2);
  r.end('store delta');
  return { baseRevision, currentRevision, compactRevision, writes, ...tail };
}

/**
 * mergeStoreChain returns the state `base` plus `deltas` in order make. Each delta must start
 * at the revision the state before it reached and keep its compact revision (a compaction in
 * between makes a new full base necessary); throws CodecError otherwise, as for a damaged chain.
 */
export function mergeStoreChain(base: StoreState, deltas: readonly StoreDelta[]): StoreState {
  if (deltas.length === 0) return base;
  const byKey = new Map<string, { key: Uint8Array; writes: KeyWrite[] }>();
  const order: { key: Uint8Array; writes: KeyWrite[] }[] = [];
  for (const k of base.keys) {
    const entry = { key: k.key, writes: k.writes.slice() };
    byKey.set(keyId(k.key), entry);
    order.push(entry);
  }
  let revision = base.currentRevision;
  let added = false;
  for (const delta of deltas) {
    if (delta.baseRevision !== revision) {
      throw new CodecError(`store delta from revision ${delta.baseRevision} does not follow a state at revision ${revision}`, 0);
    }
    if (delta.compactRevision !== base.compactRevision) {
      throw new CodecError(`store delta at compact revision ${delta.compactRevision} after a base at ${base.compactRevision}`, 0);
    }
    for (const { key, write } of delta.writes) {
      const id = keyId(key);
      let entry = byKey.get(id);
      if (entry === undefined) {
        entry = { key, writes: [] };
        byKey.set(id, entry);
        order.push(entry);
        added = true;
      }
      entry.writes.push(write);
    }
    revision = delta.currentRevision;
  }
  if (added) order.sort((a, b) => compareBytes(a.key, b.key));
  const last = deltas[deltas.length - 1]!;
  return {
    currentRevision: last.currentRevision,
    compactRevision: base.compactRevision,
    keys: order,
    leases: last.leases,
    leaseGeneratorState: last.leaseGeneratorState,
    alarms: last.alarms,
    sequencers: last.sequencers,
    sessions: last.sessions,
  };
}

function keyId(key: Uint8Array): string {
  let s = '';
  for (let i = 0; i < key.length; i++) s += String.fromCharCode(key[i]!);
  return s;
}
