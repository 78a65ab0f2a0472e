import { assert } from '../lib/assert.js';
import { BinaryReader, BinaryWriter, CodecError } from '../lib/binary.js';
import { readMessage, writeMessage } from '../raft/wire-codec.js';
import { entriesBytes, type Message, type MsgSnap, type NodeId, type SnapshotStatus } from '../raft/types.js';
import type { GroupId } from './transport.js';

/**
 * Frames of the peer protocol, version 1 (docs/transport.md). Every frame is
 *   u32 length (little-endian; bytes that follow: type + payload), u8 type, payload.
 * Payloads use the project's binary helpers ("n" = safe integer as float64); Raft messages use
 * wire-codec.ts. Decoders validate everything and throw CodecError: frames are untrusted input.
 */
export const PEER_PROTOCOL_VERSION = 1;

/** PEER_PROTOCOL_MAGIC opens every hello ("CNCD"); anything else is not a Concord peer. */
export const PEER_PROTOCOL_MAGIC = 0x434e4344;

/** FRAME_PREFIX_BYTES is the u32 length prefix. */
export const FRAME_PREFIX_BYTES = 4;

/** BATCH_HEADER_BYTES is prefix + type + u32 message count of a batch frame. */
export const BATCH_HEADER_BYTES = FRAME_PREFIX_BYTES + 1 + 4;

/** FrameType is the u8 after the length prefix. */
export const FrameType = {
  /** Hello opens an outbound connection: magic, version, cluster id, sender id, target id. */
  Hello: 1,
  /** HelloOk accepts a hello: magic, version, the acceptor's member id. */
  HelloOk: 2,
  /** Refuse ends a handshake: a RefusalCode and a reason for people. The sender then closes. */
  Refuse: 3,
  /** Batch carries messages of any groups: u32 count, count x (n group, message). */
  Batch: 4,
  /** SnapshotBegin opens a snapshot stream: n group, n data bytes, MsgSnap with empty data. */
  SnapshotBegin: 5,
  /** SnapshotChunk carries the next data bytes of the open stream: n group, raw bytes. */
  SnapshotChunk: 6,
  /** SnapshotEnd closes the open stream: n group, u8 aborted. */
  SnapshotEnd: 7,
  /** SnapshotAck answers a stream (receiver to sender): n group, n index, u8 status, string reason. */
  SnapshotAck: 8,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** RefusalCode says why a handshake was refused. */
export const RefusalCode = {
  BadMagic: 1,
  VersionMismatch: 2,
  ClusterIdMismatch: 3,
  WrongMemberId: 4,
  RemovedMember: 5,
  TooManyConnections: 6,
} as const;
export type RefusalCode = (typeof RefusalCode)[keyof typeof RefusalCode];

/** Hello is the first frame of an outbound connection. */
export interface Hello {
  readonly type: typeof FrameType.Hello;
  readonly magic: number;
  readonly version: number;
  readonly clusterId: string;
  readonly fromId: NodeId;
  readonly toId: NodeId;
}

/** Frame is one decoded frame. */
export type Frame =
  | Hello
  | { readonly type: typeof FrameType.HelloOk; readonly magic: number; readonly version: number; readonly memberId: NodeId }
  | { readonly type: typeof FrameType.Refuse; readonly code: number; readonly reason: string }
  | { readonly type: typeof FrameType.Batch; readonly groups: readonly GroupId[]; readonly messages: readonly Message[] }
  | { readonly type: typeof FrameType.SnapshotBegin; readonly groupId: GroupId; readonly dataBytes: number; readonly message: MsgSnap }
  | { readonly type: typeof FrameType.SnapshotChunk; readonly groupId: GroupId; readonly data: Uint8Array }
  | { readonly type: typeof FrameType.SnapshotEnd; readonly groupId: GroupId; readonly aborted: boolean }
  | {
    readonly type: typeof FrameType.SnapshotAck; readonly groupId: GroupId; readonly snapshotIndex: number;
    readonly status: SnapshotStatus; readonly reason: string;
  };

/** DecodeLimits bound the strings a frame may carry. */
export interface DecodeLimits {
  readonly clusterIdBytesMax: number;
  readonly refusalReasonBytesMax: number;
}

function frame(type: FrameType, fill: (w: BinaryWriter) => void, initialBytes = 64): Uint8Array {
  const w = new BinaryWriter(initialBytes);
  w.u32(0).u8(type);
  fill(w);
  w.patchU32(0, w.length - FRAME_PREFIX_BYTES);
  return w.finish();
}

/** encodeHello builds a Hello frame. */
export function encodeHello(clusterId: string, fromId: NodeId, toId: NodeId): Uint8Array {
  return frame(FrameType.Hello, (w) => {
    w.u32(PEER_PROTOCOL_MAGIC).u16(PEER_PROTOCOL_VERSION).string(clusterId).u53(fromId).u53(toId);
  });
}

/** encodeHelloOk builds a HelloOk frame. */
export function encodeHelloOk(memberId: NodeId): Uint8Array {
  return frame(FrameType.HelloOk, (w) => { w.u32(PEER_PROTOCOL_MAGIC).u16(PEER_PROTOCOL_VERSION).u53(memberId); });
}

/** encodeRefuse builds a Refuse frame; `reason` is cut to `reasonBytesMax` characters. */
export function encodeRefuse(code: RefusalCode, reason: string, reasonBytesMax: number): Uint8Array {
  let text = reason;
  while (new TextEncoder().encode(text).byteLength > reasonBytesMax) text = text.slice(0, Math.floor(text.length / 2));
  return frame(FrameType.Refuse, (w) => { w.u16(code).string(text); });
}

/** encodeSnapshotBegin opens a stream for `message` (its data travels in chunks). */
export function encodeSnapshotBegin(groupId: GroupId, message: MsgSnap): Uint8Array {
  const header: MsgSnap = { ...message, snapshot: { metadata: message.snapshot.metadata, data: new Uint8Array(0) } };
  return frame(FrameType.SnapshotBegin, (w) => {
    w.u53(groupId).u53(message.snapshot.data.byteLength);
    writeMessage(w, header);
  }, 256);
}

/** encodeSnapshotChunkHeader builds the frame header of a chunk; the data follows it unframed. */
export function encodeSnapshotChunkHeader(groupId: GroupId, dataBytes: number): Uint8Array {
  const w = new BinaryWriter(FRAME_PREFIX_BYTES + 1 + 8);
  w.u32(1 + 8 + dataBytes).u8(FrameType.SnapshotChunk).u53(groupId);
  return w.finish();
}

/** encodeSnapshotEnd closes the open stream (aborted: the receiver must discard it). */
export function encodeSnapshotEnd(groupId: GroupId, aborted: boolean): Uint8Array {
  return frame(FrameType.SnapshotEnd, (w) => { w.u53(groupId).bool(aborted); });
}

/** encodeSnapshotAck answers a stream. */
export function encodeSnapshotAck(groupId: GroupId, snapshotIndex: number, status: SnapshotStatus, reason: string): Uint8Array {
  return frame(FrameType.SnapshotAck, (w) => {
    w.u53(groupId).u53(snapshotIndex).u8(status === 'finished' ? 0 : 1).string(reason);
  });
}

/**
 * BatchFrames is the encoding of one flush: `buffers` are written in order (corked when more
 * than one). `oversized` lists the indexes of messages that alone exceed a frame; they were not
 * encoded.
 */
export interface BatchFrames {
  readonly buffers: Uint8Array[];
  readonly frames: number;
  readonly bytes: number;
  readonly oversized: number[];
}

/**
 * encodeBatchFrames encodes `messages[i]` of group `groups[i]` into as few Batch frames as
 * `frameBytesMax` allows. All records go into one buffer; the first frame's header is patched in
 * place, so the common case (one frame) is one buffer and one socket write. Later frames get a
 * small header buffer each, followed by a view of their records (no copy).
 */
export function encodeBatchFrames(groups: readonly GroupId[], messages: readonly Message[], frameBytesMax: number): BatchFrames {
  assert(groups.length === messages.length, 'groups and messages are parallel arrays');
  const recordBytesMax = frameBytesMax - (BATCH_HEADER_BYTES - FRAME_PREFIX_BYTES);
  const w = new BinaryWriter(estimateBatchBytes(messages));
  w.u32(0).u8(FrameType.Batch).u32(0);
  // Each range is a run of contiguous records that fits one frame; a record too large for any
  // frame stays in the buffer but outside every range.
  const ranges: { start: number; end: number; count: number }[] = [];
  let current = { start: BATCH_HEADER_BYTES, end: BATCH_HEADER_BYTES, count: 0 };
  const oversized: number[] = [];
  for (let i = 0; i < messages.length; i++) {
    const recordStart = w.length;
    w.u53(groups[i] ?? 0);
    writeMessage(w, messages[i] as Message);
    const recordEnd = w.length;
    if (recordEnd - recordStart > recordBytesMax) {
      oversized.push(i);
      if (current.count > 0) ranges.push(current);
      current = { start: recordEnd, end: recordEnd, count: 0 };
    } else if (recordEnd - current.start > recordBytesMax) {
      if (current.count > 0) ranges.push(current);
      current = { start: recordStart, end: recordEnd, count: 1 };
    } else {
      current.end = recordEnd;
      current.count += 1;
    }
  }
  if (current.count > 0) ranges.push(current);
  const bytes = w.finish();
  const buffers: Uint8Array[] = [];
  let total = 0;
  for (const range of ranges) {
    const length = 1 + 4 + (range.end - range.start);
    if (range.start === BATCH_HEADER_BYTES) {
      w.patchU32(0, length);
      w.patchU32(FRAME_PREFIX_BYTES + 1, range.count);
      buffers.push(bytes.subarray(0, range.end));
    } else {
      const header = new BinaryWriter(BATCH_HEADER_BYTES);
      header.u32(length).u8(FrameType.Batch).u32(range.count);
      buffers.push(header.finish(), bytes.subarray(range.start, range.end));
    }
    total += FRAME_PREFIX_BYTES + length;
  }
  return { buffers, frames: ranges.length, bytes: total, oversized };
}

/** estimateBatchBytes sizes the batch buffer so encoding rarely grows it (growth copies). */
function estimateBatchBytes(messages: readonly Message[]): number {
  let bytes = BATCH_HEADER_BYTES;
  for (const m of messages) {
    bytes += 8 + 64;
    if (m.type === 'MsgApp' || m.type === 'MsgProp') bytes += entriesBytes(m.entries);
  }
  return bytes;
}

/**
 * decodeFrame decodes the payload of a frame of `type` (the bytes after the type byte). Throws
 * CodecError on anything malformed, including trailing bytes and unknown types.
 */
export function decodeFrame(type: number, payload: Uint8Array, limits: DecodeLimits): Frame {
  // Entries must not be views of the socket chunk: one would keep the whole chunk alive for as
  // long as the entry stays in the in-memory log. A batch is copied once and its entries are
  // views of that copy (one allocation per frame instead of one per entry; the entries of one
  // frame are adjacent in the log and are compacted together).
  if (type === FrameType.Batch) {
    const own = Uint8Array.prototype.slice.call(payload) as Uint8Array;
    const r = new BinaryReader(own, { share: true });
    const result = decodeBody(type, r, limits);
    r.end(`frame type ${type}`);
    return result;
  }
  const r = new BinaryReader(payload);
  if (type === FrameType.SnapshotChunk) {
    // The data is a view of the payload (no copy); the receiver copies it into the snapshot.
    return { type, groupId: r.u53('group id'), data: payload.subarray(r.offset) };
  }
  const result = decodeBody(type, r, limits);
  // A hello of another protocol version may carry other fields: it is refused, not malformed.
  const foreign = (result.type === FrameType.Hello || result.type === FrameType.HelloOk) &&
    (result.magic !== PEER_PROTOCOL_MAGIC || result.version !== PEER_PROTOCOL_VERSION);
  if (!foreign) r.end(`frame type ${type}`);
  return result;
}

function memberId(r: BinaryReader, what: string): NodeId {
  const id = r.u53(what);
  if (id === 0) throw new CodecError(`zero ${what}`, r.offset - 8);
  return id as NodeId;
}

function decodeBody(type: number, r: BinaryReader, limits: DecodeLimits): Frame {
  switch (type) {
    case FrameType.Hello: {
      const magic = r.u32('magic');
      if (magic !== PEER_PROTOCOL_MAGIC) return { type, magic, version: 0, clusterId: '', fromId: 0 as NodeId, toId: 0 as NodeId };
      const version = r.u16('version');
      if (version !== PEER_PROTOCOL_VERSION) return { type, magic, version, clusterId: '', fromId: 0 as NodeId, toId: 0 as NodeId };
      const clusterId = r.string('cluster id', limits.clusterIdBytesMax);
      return { type, magic, version, clusterId, fromId: memberId(r, 'sender id'), toId: memberId(r, 'target id') };
    }
    case FrameType.HelloOk: {
      const magic = r.u32('magic');
      const version = magic === PEER_PROTOCOL_MAGIC ? r.u16('version') : 0;
      if (version !== PEER_PROTOCOL_VERSION) return { type, magic, version, memberId: 0 as NodeId };
      return { type, magic, version, memberId: memberId(r, 'member id') };
    }
    case FrameType.Refuse:
      return { type, code: r.u16('refusal code'), reason: r.string('refusal reason', limits.refusalReasonBytesMax) };
    case FrameType.Batch: {
      const count = r.u32('message count');
      // Each record takes at least 8 (group) + 25 (message header) bytes: bound before allocating.
      if (count * 33 > r.remaining) throw new CodecError(`batch of ${count} messages in ${r.remaining} bytes`, r.offset - 4);
      const groups: GroupId[] = new Array<GroupId>(count);
      const messages: Message[] = new Array<Message>(count);
      for (let i = 0; i < count; i++) {
        groups[i] = r.u53('group id');
        messages[i] = readMessage(r);
      }
      return { type, groups, messages };
    }
    case FrameType.SnapshotBegin: {
      const groupId = r.u53('group id');
      const dataBytes = r.u53('snapshot bytes');
      const message = readMessage(r);
      if (message.type !== 'MsgSnap') throw new CodecError(`snapshot stream opened by ${message.type}`, r.offset);
      if (message.snapshot.data.byteLength !== 0) throw new CodecError('snapshot begin frame carries data', r.offset);
      return { type, groupId, dataBytes, message };
    }
    case FrameType.SnapshotEnd:
      return { type, groupId: r.u53('group id'), aborted: r.bool('aborted') };
    case FrameType.SnapshotAck: {
      const groupId = r.u53('group id');
      const snapshotIndex = r.u53('snapshot index');
      const code = r.u8('snapshot status');
      if (code > 1) throw new CodecError(`invalid snapshot status ${code}`, r.offset - 1);
      const reason = r.string('snapshot ack reason', limits.refusalReasonBytesMax);
      return { type, groupId, snapshotIndex, status: code === 0 ? 'finished' : 'failure', reason };
    }
    default:
      throw new CodecError(`unknown frame type ${type}`, 0);
  }
}
