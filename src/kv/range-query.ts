import { compareBytes } from './bytes.js';
import { SortOrder, SortTarget, type KeyValue, type RangeRequest } from './types.js';

/**
 * finishRange applies etcd's post-processing of a range (apply.go Range) to the live kvs of the
 * range in key order: min/max create/mod revision filters (they do not change `count`), sorting
 * (a non-KEY target with order NONE sorts ascending, as etcd), the limit with `more`, keysOnly.
 * Sorting is stable with ties left in key order (etcd's sort is unstable, so any tie order is
 * etcd-compatible).
 */
export function finishRange(r: RangeRequest, kvs: KeyValue[]): { kvs: KeyValue[]; more: boolean } {
  let out = kvs;
  const maxMod = r.maxModRevision ?? 0;
  const minMod = r.minModRevision ?? 0;
  const maxCreate = r.maxCreateRevision ?? 0;
  const minCreate = r.minCreateRevision ?? 0;
  if (maxMod !== 0 || minMod !== 0 || maxCreate !== 0 || minCreate !== 0) {
    out = out.filter((kv) =>
      (maxMod === 0 || kv.modRevision <= maxMod) &&
      (minMod === 0 || kv.modRevision >= minMod) &&
      (maxCreate === 0 || kv.createRevision <= maxCreate) &&
      (minCreate === 0 || kv.createRevision >= minCreate));
  }
  const target = r.sortTarget ?? SortTarget.Key;
  let order = r.sortOrder ?? SortOrder.None;
  if (target !== SortTarget.Key && order === SortOrder.None) order = SortOrder.Ascend;
  if (order !== SortOrder.None) {
    const by = sortKey(target);
    const direction = order === SortOrder.Descend ? -1 : 1;
    out = out.map((kv, i) => ({ kv, i }))
      .sort((a, b) => direction * by(a.kv, b.kv) || a.i - b.i)
      .map((x) => x.kv);
  }
  const limit = r.limit ?? 0;
  let more = false;
  if (limit > 0 && out.length > limit) {
    out = out.slice(0, limit);
    more = true;
  }
  if (r.keysOnly === true) {
    out = out.map((kv) => ({
      key: kv.key, createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, value: new Uint8Array(0), lease: kv.lease,
    }));
  }
  return { kvs: out, more };
}

function sortKey(target: SortTarget): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case SortTarget.Key: return (a, b) => compareBytes(a.key, b.key);
    case SortTarget.Version: return (a, b) => a.version - b.version;
    case SortTarget.Create: return (a, b) => a.createRevision - b.createRevision;
    case SortTarget.Mod: return (a, b) => a.modRevision - b.modRevision;
    case SortTarget.Value: return (a, b) => compareBytes(a.value, b.value);
  }
}

/** needsFullScan is true when etcd fetches every kv before limiting (sort or revision filters). */
export function needsFullScan(r: RangeRequest): boolean {
  return (r.sortOrder ?? SortOrder.None) !== SortOrder.None || (r.minModRevision ?? 0) !== 0 ||
    (r.maxModRevision ?? 0) !== 0 || (r.minCreateRevision ?? 0) !== 0 || (r.maxCreateRevision ?? 0) !== 0 ||
    (r.sortTarget ?? SortTarget.Key) !== SortTarget.Key;
}
