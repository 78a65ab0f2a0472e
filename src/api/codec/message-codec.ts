/**
 * Binary codecs for every etcd v3 message, on top of the generated ts-proto functions
 * (gen/, from scripts/gen-proto.mjs). One module-level BinaryWriter is reused by every encode: its
 * buffer grows once to the largest message seen instead of once per message, which makes encoding
 * about 4x faster; encoding is synchronous, so the writer is never shared by two calls at once.
 *
 * Ownership: `decode` returns `bytes` fields as views into the input (no copy). The caller must not
 * reuse or overwrite the input buffer while the message is alive, and should copy (`.slice()`) a
 * key or value that it keeps long-term, so that a small key does not pin a large frame.
 * `encode` returns a fresh Uint8Array that the caller owns.
 *
 * A message may carry its own encoder (kv-list-encode.ts: a Range answer still holding the
 * store's records); encode and encodeFrame use it when it is there.
 */
import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import { MESSAGE_FNS, type MessageTypeName, type MessageTypes } from './gen/schema.js';
import { fromJson, toJson, type JsonObject } from './json.js';
import { directEncode, type DirectlyEncoded } from './kv-list-encode.js';
import { WireError, WireErrorCode } from './wire-error.js';

/** MessageCodec is everything the serving layers do with one message type. */
export interface MessageCodec<T> {
  /** typeName is the full proto name: `etcdserverpb.RangeRequest`. */
  readonly typeName: MessageTypeName;
  /** encode serializes to protobuf bytes (a fresh array). Throws WireError (int64 out of range). */
  encode(message: T): Uint8Array;
  /**
   * encodeFrame serializes into a gRPC length-prefixed message: 1 byte compressed flag (0), a
   * 4-byte big-endian length, then the message, in one allocation.
   */
  encodeFrame(message: T): Buffer;
  /** decode parses protobuf bytes; unknown fields are skipped. Throws WireError when malformed. */
  decode(bytes: Uint8Array): T;
  /** toJson maps to etcd's gateway JSON (see json.ts). */
  toJson(message: T): JsonObject;
  /** fromJson maps from gateway JSON (see json.ts). Throws WireError. */
  fromJson(json: unknown): T;
  /** create returns a message with every field at its default (empty bytes, 0n, no submessages). */
  create(): T;
}

/**
 * SHARED_WRITER_BYTES_MAX bounds the memory the shared writer keeps after a large message (a
 * snapshot chunk, a big range): past it, the writer is dropped and a fresh one starts small.
 */
const SHARED_WRITER_BYTES_MAX = 1 << 20;
let sharedWriter = new BinaryWriter();
const GRPC_FRAME_PREFIX = new Uint8Array(5);
const EMPTY = new Uint8Array(0);

function encodeWith<T>(typeName: MessageTypeName, encodeInto: (m: T, w: BinaryWriter) => BinaryWriter, message: T, framed: boolean): Uint8Array {
  const writer = sharedWriter;
  try {
    if (framed) writer.raw(GRPC_FRAME_PREFIX);
    const bytes = encodeInto(message, writer).finish();
    if (framed) setFramePrefix(bytes);
    if (bytes.length > SHARED_WRITER_BYTES_MAX) sharedWriter = new BinaryWriter();
    return bytes;
  } catch (error) {
    sharedWriter = new BinaryWriter(); // the failed encode left the writer mid-message
    throw encodeError(typeName, error);
  }
}

/** setFramePrefix writes the gRPC prefix (flag 0, big-endian length) into the first 5 bytes. */
function setFramePrefix(bytes: Uint8Array): void {
  const length = bytes.length - 5;
  bytes[0] = 0;
  bytes[1] = length >>> 24;
  bytes[2] = (length >>> 16) & 0xff;
  bytes[3] = (length >>> 8) & 0xff;
  bytes[4] = length & 0xff;
}

function encodeError(typeName: MessageTypeName, error: unknown): WireError {
  return new WireError(WireErrorCode.Malformed, `cannot encode ${typeName}: ${describeCause(error)}`, { cause: error });
}

/** asUint8Array views a Buffer as a plain Uint8Array (what decode hands out for bytes fields is then a Uint8Array too). */
function asUint8Array(bytes: Buffer): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** encodeDirect runs a message's own encoder (undefined: it declined, use the generated one). */
function encodeDirect(typeName: MessageTypeName, message: unknown, prefixBytes: number): Buffer | undefined {
  const direct = (message as Partial<DirectlyEncoded>)[directEncode];
  if (direct === undefined) return undefined;
  try {
    return direct.call(message as DirectlyEncoded, prefixBytes);
  } catch (error) {
    throw encodeError(typeName, error);
  }
}

function describeCause(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function makeCodec<K extends MessageTypeName>(typeName: K): MessageCodec<MessageTypes[K]> {
  type T = MessageTypes[K];
  // The registry maps each name to the functions of that very type; TypeScript cannot see that
  // through the indexed access, hence the one cast.
  const fns = MESSAGE_FNS[typeName] as unknown as {
    encode(message: T, writer: BinaryWriter): BinaryWriter;
    decode(input: BinaryReader | Uint8Array): T;
  };
  const encodeInto = (m: T, w: BinaryWriter): BinaryWriter => fns.encode(m, w);
  return {
    typeName,
    encode(message) {
      const direct = encodeDirect(typeName, message, 0);
      return direct === undefined ? encodeWith(typeName, encodeInto, message, false) : asUint8Array(direct);
    },
    encodeFrame(message) {
      const direct = encodeDirect(typeName, message, 5);
      if (direct === undefined) return asBuffer(encodeWith(typeName, encodeInto, message, true));
      setFramePrefix(direct);
      return direct;
    },
    decode(bytes) {
      try {
        return fns.decode(bytes);
      } catch (error) {
        throw new WireError(WireErrorCode.Malformed, `cannot decode ${typeName}: ${describeCause(error)}`, { cause: error });
      }
    },
    toJson: (message) => toJson(typeName, message),
    fromJson: (json) => fromJson(typeName, json),
    create: () => fns.decode(EMPTY),
  };
}

const codecs = new Map<MessageTypeName, MessageCodec<unknown>>();

/** codecFor returns the (cached) codec of a message type. */
export function codecFor<K extends MessageTypeName>(typeName: K): MessageCodec<MessageTypes[K]> {
  let codec = codecs.get(typeName);
  if (codec === undefined) {
    codec = makeCodec(typeName) as MessageCodec<unknown>;
    codecs.set(typeName, codec);
  }
  return codec as MessageCodec<MessageTypes[K]>;
}

/** encodeMessage serializes `message` of type `typeName` to protobuf bytes. */
export function encodeMessage<K extends MessageTypeName>(typeName: K, message: MessageTypes[K]): Uint8Array {
  return codecFor(typeName).encode(message);
}

/** decodeMessage parses protobuf bytes as `typeName`. Throws WireError when malformed. */
export function decodeMessage<K extends MessageTypeName>(typeName: K, bytes: Uint8Array): MessageTypes[K] {
  return codecFor(typeName).decode(bytes);
}

/** isMessageTypeName narrows a string to a known message name. */
export function isMessageTypeName(name: string): name is MessageTypeName {
  return Object.prototype.hasOwnProperty.call(MESSAGE_FNS, name);
}
