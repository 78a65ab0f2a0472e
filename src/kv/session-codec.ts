import { CodecError, type BinaryReader, type BinaryWriter } from '../lib/binary.js';
import { unreachable } from '../lib/assert.js';
import { readCount, readI53, readI64, readOptional, writeI53, writeOptional, writeU64 } from './codec-fields.js';
import { KvError, KvErrorCode } from './kv-errors.js';
import type { KvCommandResponse } from './kv-command.js';
import { SESSION_CLIENT_ID_BYTES_MAX, SESSION_RESULTS_MAX, type SessionRecord, type SessionState } from './session-table.js';
import type { KeyValue, RangeResponse, ResponseOp, TxnResponse } from './types.js';

/**
 * Snapshot codec of the session table (store snapshot version 2): per session, in client id
 * order: string clientId, u64 lease, u53 floor, u32 results x (u53 seq, bool ok, then either
 * string error code or u8 response kind + response). Responses keep what the API returns:
 * header revision, kvs, counts, txn op responses (nested), sequencer ranges.
 */

const responseKinds: readonly KvCommandResponse['type'][] = ['put', 'deleteRange', 'txn', 'compact', 'sequencerNext'];
const opKinds: readonly ResponseOp['type'][] = ['range', 'put', 'deleteRange', 'txn'];
const errorCodes: readonly string[] = Object.values(KvErrorCode);
/** TXN_RESPONSE_DEPTH_MAX bounds nesting when decoding (the command codec bounds txns alike). */
const TXN_RESPONSE_DEPTH_MAX = 65;

export function writeSessions(w: BinaryWriter, sessions: readonly SessionState[]): void {
  w.u32(sessions.length);
  for (const s of sessions) {
    w.string(s.clientId);
    writeU64(w, s.lease);
    w.u53(s.floor).u32(s.results.length);
    for (const { seq, record } of s.results) {
      w.u53(seq).bool(record.ok);
      if (record.ok) writeResponse(w, record.result);
      else w.string(record.error.code);
    }
  }
}

export function readSessions(r: BinaryReader): SessionState[] {
  const sessions: SessionState[] = [];
  for (let n = readCount(r, 'sessions', 17); n > 0; n--) {
    const clientId = r.string('session client id', SESSION_CLIENT_ID_BYTES_MAX);
    const previous = sessions[sessions.length - 1];
    if (previous !== undefined && previous.clientId >= clientId) throw new CodecError('sessions out of order', r.offset);
    const lease = readI64(r, 'session lease');
    const floor = r.u53('session floor');
    const results: { seq: number; record: SessionRecord }[] = [];
    for (let m = readCount(r, 'session results', 8); m > 0; m--) {
      const seq = r.u53('session seq');
      const last = results[results.length - 1];
      if (seq <= floor || (last !== undefined && seq <= last.seq)) throw new CodecError('session results out of order', r.offset);
      results.push({ seq, record: r.bool('session result ok') ? { ok: true, result: readResponse(r) } : { ok: false, error: readError(r) } });
    }
    if (results.length > SESSION_RESULTS_MAX) throw new CodecError('too many session results', r.offset);
    sessions.push({ clientId, lease, floor, results });
  }
  return sessions;
}

function readError(r: BinaryReader): KvError {
  const at = r.offset;
  const code = r.string('session error code', 64);
  if (!errorCodes.includes(code)) throw new CodecError(`unknown error code ${code}`, at);
  return new KvError(code as KvErrorCode);
}

function writeResponse(w: BinaryWriter, result: KvCommandResponse): void {
  const kind = responseKinds.indexOf(result.type);
  if (kind < 0) throw new Error(`session result of kind ${result.type} cannot be recorded`);
  w.u8(kind);
  switch (result.type) {
    case 'put': w.u53(result.response.header.revision); writeOptional(w, result.response.prevKv, (kv) => writeKv(w, kv)); return;
    case 'deleteRange': writeDeleteRange(w, result.response.header.revision, result.response.deleted, result.response.prevKvs); return;
    case 'txn': writeTxn(w, result.response); return;
    case 'compact': w.u53(result.response.header.revision); return;
    case 'sequencerNext': w.u53(result.response.header.revision).u53(result.response.first).u32(result.response.count); return;
    case 'range': case 'leaseGrant': case 'leaseRevoke': case 'leaseCheckpoint': case 'alarm':
      throw new Error(`session result of kind ${result.type} cannot be recorded`);
    default: unreachable(result);
  }
}

function readResponse(r: BinaryReader): KvCommandResponse {
  const at = r.offset;
  const type = responseKinds[r.u8('session response kind')];
  switch (type) {
    case 'put': {
      const revision = r.u53('revision');
      const prevKv = readOptional(r, 'prev kv', () => readKv(r));
      return { type, response: prevKv === undefined ? { header: { revision } } : { header: { revision }, prevKv } };
    }
    case 'deleteRange': return { type, response: readDeleteRange(r) };
    case 'txn': return { type, response: readTxn(r, 0) };
    case 'compact': return { type, response: { header: { revision: r.u53('revision') } } };
    case 'sequencerNext': return { type, response: { header: { revision: r.u53('revision') }, first: r.u53('first'), count: r.u32('count') } };
    case undefined: throw new CodecError('unknown session response kind', at);
    default: throw new CodecError(`session response kind ${type} cannot be recorded`, at);
  }
}

function writeKv(w: BinaryWriter, kv: KeyValue): void {
  w.bytes(kv.key).u53(kv.createRevision).u53(kv.modRevision).u53(kv.version).bytes(kv.value);
  writeU64(w, kv.lease);
}

function readKv(r: BinaryReader): KeyValue {
  return {
    key: r.bytes('key'), createRevision: r.u53('create revision'), modRevision: r.u53('mod revision'),
    version: r.u53('version'), value: r.bytes('value'), lease: readI64(r, 'lease'),
  };
}

function writeKvs(w: BinaryWriter, kvs: readonly KeyValue[]): void {
  w.u32(kvs.length);
  for (const kv of kvs) writeKv(w, kv);
}

function readKvs(r: BinaryReader): KeyValue[] {
  const kvs: KeyValue[] = [];
  for (let n = readCount(r, 'kvs', 36); n > 0; n--) kvs.push(readKv(r));
  return kvs;
}

function writeDeleteRange(w: BinaryWriter, revision: number, deleted: number, prevKvs: readonly KeyValue[]): void {
  w.u53(revision).u53(deleted);
  writeKvs(w, prevKvs);
}

function readDeleteRange(r: BinaryReader): { header: { revision: number }; deleted: number; prevKvs: KeyValue[] } {
  return { header: { revision: r.u53('revision') }, deleted: r.u53('deleted'), prevKvs: readKvs(r) };
}

function writeRange(w: BinaryWriter, q: RangeResponse): void {
  w.u53(q.header.revision).bool(q.more);
  writeI53(w, q.count);
  writeKvs(w, q.kvs);
}

function readRange(r: BinaryReader): RangeResponse {
  const revision = r.u53('revision');
  const more = r.bool('more');
  const count = readI53(r, 'count');
  return { header: { revision }, more, count, kvs: readKvs(r) };
}

function writeTxn(w: BinaryWriter, t: TxnResponse): void {
  w.u53(t.header.revision).bool(t.succeeded).u32(t.responses.length);
  for (const op of t.responses) {
    w.u8(opKinds.indexOf(op.type));
    switch (op.type) {
      case 'range': writeRange(w, op.response); break;
      case 'put': w.u53(op.response.header.revision); writeOptional(w, op.response.prevKv, (kv) => writeKv(w, kv)); break;
      case 'deleteRange': writeDeleteRange(w, op.response.header.revision, op.response.deleted, op.response.prevKvs); break;
      case 'txn': writeTxn(w, op.response); break;
      default: unreachable(op);
    }
  }
}

function readTxn(r: BinaryReader, depth: number): TxnResponse {
  if (depth > TXN_RESPONSE_DEPTH_MAX) throw new CodecError('txn response nested too deep', r.offset);
  const revision = r.u53('revision');
  const succeeded = r.bool('succeeded');
  const responses: ResponseOp[] = [];
  for (let n = readCount(r, 'txn responses'); n > 0; n--) {
    const at = r.offset;
    const type = opKinds[r.u8('op kind')];
    switch (type) {
      case 'range': responses.push({ type, response: readRange(r) }); break;
      case 'put': {
        const rev = r.u53('revision');
        const prevKv = readOptional(r, 'prev kv', () => readKv(r));
        responses.push({ type, response: prevKv === undefined ? { header: { revision: rev } } : { header: { revision: rev }, prevKv } });
        break;
      }
      case 'deleteRange': responses.push({ type, response: readDeleteRange(r) }); break;
      case 'txn': responses.push({ type, response: readTxn(r, depth + 1) }); break;
      default: throw new CodecError('unknown txn op kind', at);
    }
  }
  return { header: { revision }, succeeded, responses };
}
