import { BinaryWriter } from '../lib/binary.js';
import { crc32c, crc32cFinish, crc32cUpdate, CRC32C_START } from '../lib/crc32c.js';
import { writeU64 } from './codec-fields.js';
import { KvErrorCode, kvError } from './kv-errors.js';
import type { MvccStore } from './mvcc-store.js';
import { failed, type ReadResult } from './results.js';
import { encodeStoreSnapshot } from './store-snapshot.js';

/**
 * hashStore is Maintenance.Hash: CRC-32C over the whole replicated state (the snapshot bytes).
 * Members that applied the same commands return the same value.
 */
export function hashStore(store: MvccStore): number {
  return crc32c(encodeStoreSnapshot(store));
}

/** HashKvResponse is etcdserverpb.HashKVResponse without the header's member fields. */
export interface HashKvResponse {
  readonly header: { readonly revision: number };
  readonly hash: number;
  readonly compactRevision: number;
}

/**
 * hashKv is Maintenance.HashKV: CRC-32C over every retained key version with main revision <=
 * `revision` (0 = current), keys in byte order then revisions in order, plus the compact
 * revision. Errors as etcd: revision <= compactRevision -> compacted; above current -> future.
 */
export function hashKv(store: MvccStore, revision: number): ReadResult<HashKvResponse> {
  const compactRevision = store.compactRevision;
  if (revision > 0 && revision <= compactRevision) return failed(kvError(KvErrorCode.Compacted));
  if (revision > store.currentRevision) return failed(kvError(KvErrorCode.FutureRevision));
  const upTo = revision <= 0 ? store.currentRevision : revision;
  let crc = crc32cUpdate(CRC32C_START, new BinaryWriter(8).u53(compactRevision).finish());
  for (const k of store.exportState().keys) {
    const w = new BinaryWriter(64 + k.key.length);
    let any = false;
    for (const write of k.writes) {
      if (write.main > upTo) break;
      any = true;
      w.u53(write.main).u32(write.sub).bool(write.kv !== null);
      if (write.kv !== null) {
        w.u53(write.kv.createRevision).u53(write.kv.version).bytes(write.kv.value);
        writeU64(w, write.kv.lease);
      }
    }
    if (!any) continue;
    crc = crc32cUpdate(crc32cUpdate(crc, new BinaryWriter(8).bytes(k.key).finish()), w.finish());
  }
  return { ok: true, response: { header: { revision: store.currentRevision }, hash: crc32cFinish(crc), compactRevision } };
}
