import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { frameMessage } from './deframer.js';
import type { MethodDef, MethodKind } from './method.js';

/**
 * The Echo test service: a tiny .proto the grpc-js client loads with proto-loader, and
 * hand-written protobuf codecs for the server side (exercising MethodDef the way the etcd codecs
 * will). Test-only.
 */
export const echoProto = `
syntax = "proto3";
package concord.test;
message EchoRequest { string message = 1; int32 count = 2; bytes payload = 3; }
message EchoResponse { string message = 1; int32 index = 2; bytes payload = 3; }
service Echo {
  rpc Unary(EchoRequest) returns (EchoResponse);
  rpc ServerStream(EchoRequest) returns (stream EchoResponse);
  rpc ClientStream(stream EchoRequest) returns (EchoResponse);
  rpc Bidi(stream EchoRequest) returns (stream EchoResponse);
}
`;

/** writeEchoProto writes the .proto to a temporary file and returns its path. */
export function writeEchoProto(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concord-echo-'));
  const file = path.join(dir, 'echo.proto');
  fs.writeFileSync(file, echoProto);
  return file;
}

/** EchoMessage is both EchoRequest and EchoResponse (field 2 is `count` or `index`). */
export interface EchoMessage {
  message: string;
  number: number;
  payload: Uint8Array;
}

const empty = new Uint8Array(0);

/** encodeEcho encodes fields 1 (string), 2 (int32 varint), 3 (bytes), skipping defaults. */
export function encodeEcho(m: EchoMessage): Uint8Array {
  const text = Buffer.from(m.message, 'utf8');
  const out = Buffer.allocUnsafe(text.length + m.payload.length + 32);
  let o = 0;
  const varint = (v: number): void => {
    let x = v >>> 0;
    while (x >= 0x80) {
      out[o++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    out[o++] = x;
  };
  if (text.length > 0) {
    out[o++] = 0x0a;
    varint(text.length);
    text.copy(out, o);
    o += text.length;
  }
  if (m.number !== 0) {
    out[o++] = 0x10;
    varint(m.number);
  }
  if (m.payload.length > 0) {
    out[o++] = 0x1a;
    varint(m.payload.length);
    out.set(m.payload, o);
    o += m.payload.length;
  }
  return out.subarray(0, o);
}

/** decodeEcho decodes what encodeEcho writes; throws on anything else. */
export function decodeEcho(bytes: Uint8Array): EchoMessage {
  const m: EchoMessage = { message: '', number: 0, payload: empty };
  let o = 0;
  const varint = (): number => {
    let v = 0;
    let shift = 0;
    for (;;) {
      if (o >= bytes.length) throw new Error('truncated varint');
      const b = bytes[o++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
      if (shift > 63) throw new Error('varint too long');
    }
  };
  while (o < bytes.length) {
    const tag = varint();
    if (tag === 0x0a || tag === 0x1a) {
      const n = varint();
      if (o + n > bytes.length) throw new Error('truncated field');
      const slice = bytes.subarray(o, o + n);
      o += n;
      if (tag === 0x0a) m.message = Buffer.from(slice.buffer, slice.byteOffset, slice.byteLength).toString('utf8');
      else m.payload = Uint8Array.prototype.slice.call(slice);
    } else if (tag === 0x10) {
      m.number = varint() | 0;
    } else {
      throw new Error(`unexpected tag ${tag}`);
    }
  }
  return m;
}

/** echoMethod builds the MethodDef of one Echo method. */
export function echoMethod(name: 'Unary' | 'ServerStream' | 'ClientStream' | 'Bidi'): MethodDef<EchoMessage, EchoMessage> {
  const kinds: Record<typeof name, MethodKind> = {
    Unary: 'unary',
    ServerStream: 'server-stream',
    ClientStream: 'client-stream',
    Bidi: 'bidi',
  };
  return { path: `/concord.test.Echo/${name}`, kind: kinds[name], decodeRequest: decodeEcho, encodeResponseFrame: (m) => frameMessage(encodeEcho(m)) };
}

/** echo builds an EchoMessage. */
export function echo(message: string, number = 0, payload: Uint8Array = empty): EchoMessage {
  return { message, number, payload };
}

/** echoFrame is `m` encoded with its 5-byte gRPC message prefix (uncompressed), as a client sends it. */
export function echoFrame(m: EchoMessage): Buffer {
  const body = encodeEcho(m);
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(body.length, 1);
  out.set(body, 5);
  return out;
}
