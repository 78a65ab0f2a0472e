import { assert, unreachable } from '../lib/assert.js';
import { BinaryReader, BinaryWriter, CodecError } from '../lib/binary.js';
import {
  EntryType,
  type ConfState, type Entry, type HardState, type Message, type MessageType, type NodeId,
  type Snapshot, type SnapshotMetadata,
} from './types.js';

/**
 * Binary encodings of the core's data, shared by the peer transport and the WAL (no JSON on
 * either path). Decoders validate everything (types, ranges, lengths) and throw CodecError:
 * peer frames and disk records are untrusted input.
 *
 * Version 2 layouts (2: MsgApp carries commitOnly) (little-endian; "n" = safe integer as float64):
 *   entry:      n term, n index, u8 type, bytes data
 *   hard state: n term, n vote, n commit
 *   conf state: 4 x (u32 count, count x n id), u8 autoLeave
 *   snapshot:   n index, n term, conf state, bytes data
 *   message:    u8 type, n from, n to, n term, then per-type fields (see encodeMessage)
 */
export const WIRE_CODEC_VERSION = 2;

/** Decoding limits: a peer cannot make us allocate without bound. */
export const WIRE_LIMITS = {
  entriesPerMessageMax: 1 << 20,
  contextBytesMax: 64 * 1024,
  idsPerConfStateMax: 1 << 16,
} as const;

const messageTypes: readonly MessageType[] = [
  'MsgApp', 'MsgAppResp', 'MsgVote', 'MsgPreVote', 'MsgVoteResp', 'MsgPreVoteResp', 'MsgHeartbeat',
  'MsgHeartbeatResp', 'MsgSnap', 'MsgProp', 'MsgReadIndex', 'MsgReadIndexResp', 'MsgTimeoutNow',
  'MsgTransferLeader',
];
const messageTypeCodes = new Map<MessageType, number>(messageTypes.map((t, i) => [t, i + 1]));
const entryTypes = [EntryType.Normal, EntryType.ConfChange] as const;

export function writeEntry(w: BinaryWriter, e: Entry): void {
  w.u53(e.term).u53(e.index).u8(e.type === EntryType.Normal ? 0 : 1).bytes(e.data);
}

export function readEntry(r: BinaryReader): Entry {
  const term = r.u53('entry term');
  const index = r.u53('entry index');
  const code = r.u8('entry type');
  const type = entryTypes[code];
  if (type === undefined) throw new CodecError(`unknown entry type ${code}`, r.offset - 1);
  return { term, index, type, data: r.bytes('entry data') };
}

export function writeHardState(w: BinaryWriter, hs: HardState): void {
  w.u53(hs.term).u53(hs.vote).u53(hs.commit);
}

export function readHardState(r: BinaryReader): HardState {
  return { term: r.u53('term'), vote: r.u53('vote') as NodeId, commit: r.u53('commit') };
}

function writeIds(w: BinaryWriter, ids: readonly NodeId[]): void {
  w.u32(ids.length);
  for (const id of ids) w.u53(id);
}

function readIds(r: BinaryReader, what: string): NodeId[] {
  const count = r.u32(`${what} count`);
  if (count > WIRE_LIMITS.idsPerConfStateMax) throw new CodecError(`too many ${what}: ${count}`, r.offset - 4);
  const ids: NodeId[] = [];
  for (let i = 0; i < count; i++) {
    const id = r.u53(what);
    if (id === 0) throw new CodecError(`zero node id in ${what}`, r.offset - 8);
    ids.push(id as NodeId);
  }
  return ids;
}

export function writeConfState(w: BinaryWriter, cs: ConfState): void {
  writeIds(w, cs.voters);
  writeIds(w, cs.votersOutgoing);
  writeIds(w, cs.learners);
  writeIds(w, cs.learnersNext);
  w.bool(cs.autoLeave);
}

export function readConfState(r: BinaryReader): ConfState {
  return {
    voters: readIds(r, 'voters'),
    votersOutgoing: readIds(r, 'outgoing voters'),
    learners: readIds(r, 'learners'),
    learnersNext: readIds(r, 'next learners'),
    autoLeave: r.bool('autoLeave'),
  };
}

export function writeSnapshotMetadata(w: BinaryWriter, m: SnapshotMetadata): void {
  w.u53(m.index).u53(m.term);
  writeConfState(w, m.confState);
}

export function readSnapshotMetadata(r: BinaryReader): SnapshotMetadata {
  return { index: r.u53('snapshot index'), term: r.u53('snapshot term'), confState: readConfState(r) };
}

export function writeSnapshot(w: BinaryWriter, s: Snapshot): void {
  writeSnapshotMetadata(w, s.metadata);
  w.bytes(s.data);
}

export function readSnapshot(r: BinaryReader): Snapshot {
  const metadata = readSnapshotMetadata(r);
  return { metadata, data: r.bytes('snapshot data') };
}

function writeEntries(w: BinaryWriter, entries: readonly Entry[]): void {
  w.u32(entries.length);
  for (const e of entries) writeEntry(w, e);
}

function readEntries(r: BinaryReader): Entry[] {
  const count = r.u32('entry count');
  if (count > WIRE_LIMITS.entriesPerMessageMax) throw new CodecError(`too many entries: ${count}`, r.offset - 4);
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) entries.push(readEntry(r));
  return entries;
}

/** writeMessage appends one message. */
export function writeMessage(w: BinaryWriter, m: Message): void {
  const code = messageTypeCodes.get(m.type);
  assert(code !== undefined, 'unknown message type');
  w.u8(code).u53(m.from).u53(m.to).u53(m.term);
  switch (m.type) {
    case 'MsgApp':
      w.u53(m.logTerm).u53(m.index).u53(m.commit).bool(m.commitOnly);
      writeEntries(w, m.entries);
      return;
    case 'MsgAppResp':
      w.u53(m.index).bool(m.reject).u53(m.rejectHint).u53(m.logTerm);
      return;
    case 'MsgVote':
    case 'MsgPreVote':
      w.u53(m.logTerm).u53(m.index).bool(m.transfer);
      return;
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      w.bool(m.reject);
      return;
    case 'MsgHeartbeat':
      w.u53(m.commit).string(m.context).u53(m.sentTick);
      return;
    case 'MsgHeartbeatResp':
      w.string(m.context).u53(m.sentTick);
      return;
    case 'MsgSnap':
      writeSnapshot(w, m.snapshot);
      return;
    case 'MsgProp':
      writeEntries(w, m.entries);
      return;
    case 'MsgReadIndex':
      w.string(m.context);
      return;
    case 'MsgReadIndexResp':
      w.u53(m.index).string(m.context);
      return;
    case 'MsgTimeoutNow':
      return;
    case 'MsgTransferLeader':
      w.u53(m.target);
      return;
    default:
      unreachable(m);
  }
}

/** readMessage reads one message; throws CodecError on malformed input. */
export function readMessage(r: BinaryReader): Message {
  const code = r.u8('message type');
  const type = messageTypes[code - 1];
  if (type === undefined) throw new CodecError(`unknown message type ${code}`, r.offset - 1);
  const from = r.u53('from') as NodeId;
  const to = r.u53('to') as NodeId;
  const term = r.u53('term');
  if (from === 0 || to === 0) throw new CodecError('message with zero node id', r.offset);
  const ctx = (): string => r.string('context', WIRE_LIMITS.contextBytesMax);
  switch (type) {
    case 'MsgApp': {
      const logTerm = r.u53('logTerm');
      const index = r.u53('index');
      const commit = r.u53('commit');
      const commitOnly = r.bool('commitOnly');
      return { type, from, to, term, logTerm, index, commit, commitOnly, entries: readEntries(r) };
    }
    case 'MsgAppResp':
      return { type, from, to, term, index: r.u53('index'), reject: r.bool('reject'), rejectHint: r.u53('rejectHint'), logTerm: r.u53('logTerm') };
    case 'MsgVote':
    case 'MsgPreVote':
      return { type, from, to, term, logTerm: r.u53('logTerm'), index: r.u53('index'), transfer: r.bool('transfer') };
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      return { type, from, to, term, reject: r.bool('reject') };
    case 'MsgHeartbeat': {
      const commit = r.u53('commit');
      const context = ctx();
      return { type, from, to, term, commit, context, sentTick: r.u53('sentTick') };
    }
    case 'MsgHeartbeatResp': {
      const context = ctx();
      return { type, from, to, term, context, sentTick: r.u53('sentTick') };
    }
    case 'MsgSnap':
      return { type, from, to, term, snapshot: readSnapshot(r) };
    case 'MsgProp':
      return { type, from, to, term, entries: readEntries(r) };
    case 'MsgReadIndex':
      return { type, from, to, term, context: ctx() };
    case 'MsgReadIndexResp': {
      const index = r.u53('index');
      return { type, from, to, term, index, context: ctx() };
    }
    case 'MsgTimeoutNow':
      return { type, from, to, term };
    case 'MsgTransferLeader': {
      const target = r.u53('target');
      if (target === 0) throw new CodecError('transfer to node 0', r.offset - 8);
      return { type, from, to, term, target: target as NodeId };
    }
    default:
      return unreachable(type);
  }
}

/** encodeMessage returns one message as bytes. */
export function encodeMessage(m: Message): Uint8Array {
  const w = new BinaryWriter(64);
  writeMessage(w, m);
  return w.finish();
}

/** decodeMessage reads exactly one message from `bytes`. */
export function decodeMessage(bytes: Uint8Array): Message {
  const r = new BinaryReader(bytes);
  const m = readMessage(r);
  r.end('message');
  return m;
}
