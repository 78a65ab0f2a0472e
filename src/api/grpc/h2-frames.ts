/**
 * HTTP/2 frame vocabulary (RFC 9113 §6, §7, §11) and builders for the frames the server side of
 * a gRPC connection sends (h2-connection.ts). Pure (Buffer only).
 */

/** H2FrameType: every frame type of RFC 9113. */
export const H2FrameType = {
  data: 0x0,
  headers: 0x1,
  priority: 0x2,
  rstStream: 0x3,
  settings: 0x4,
  pushPromise: 0x5,
  ping: 0x6,
  goaway: 0x7,
  windowUpdate: 0x8,
  continuation: 0x9,
} as const;

/** H2Flag: frame flags (the same bit means different things per type). */
export const H2Flag = { endStream: 0x1, ack: 0x1, endHeaders: 0x4, padded: 0x8, priority: 0x20 } as const;

/** H2ErrorCode: RFC 9113 §7 error codes, sent in RST_STREAM and GOAWAY. */
export const H2ErrorCode = {
  noError: 0x0,
  protocolError: 0x1,
  internalError: 0x2,
  flowControlError: 0x3,
  settingsTimeout: 0x4,
  streamClosed: 0x5,
  frameSizeError: 0x6,
  refusedStream: 0x7,
  cancel: 0x8,
  compressionError: 0x9,
  connectError: 0xa,
  enhanceYourCalm: 0xb,
  inadequateSecurity: 0xc,
  http11Required: 0xd,
} as const;
export type H2ErrorCode = (typeof H2ErrorCode)[keyof typeof H2ErrorCode];

/** H2Setting: SETTINGS identifiers (RFC 9113 §6.5.2). */
export const H2Setting = {
  headerTableSize: 0x1,
  enablePush: 0x2,
  maxConcurrentStreams: 0x3,
  initialWindowSize: 0x4,
  maxFrameSize: 0x5,
  maxHeaderListSize: 0x6,
} as const;

/** h2FrameHeaderBytes: length u24, type u8, flags u8, reserved bit + stream id u31. */
export const h2FrameHeaderBytes = 9;
/** h2DefaultFrameBytesMax is SETTINGS_MAX_FRAME_SIZE's initial value; we announce no other. */
export const h2DefaultFrameBytesMax = 16_384;
/** h2FrameBytesLimit is the largest SETTINGS_MAX_FRAME_SIZE a peer may announce. */
export const h2FrameBytesLimit = 16_777_215;
/** h2DefaultWindowBytes is the initial flow-control window of a connection and of a stream. */
export const h2DefaultWindowBytes = 65_535;
/** h2WindowBytesMax: a flow-control window may never exceed 2^31 - 1 (§6.9.1). */
export const h2WindowBytesMax = 2 ** 31 - 1;
/** h2PrefaceBytes is the length of the client connection preface. */
export const h2PrefaceBytes = 24;
/** h2Preface is the client connection preface (§3.4). */
export const h2Preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** writeFrameHeader writes a frame header at `offset` of `out`. */
export function writeFrameHeader(out: Buffer, offset: number, length: number, type: number, flags: number, streamId: number): void {
  out[offset] = length >>> 16;
  out[offset + 1] = (length >>> 8) & 0xff;
  out[offset + 2] = length & 0xff;
  out[offset + 3] = type;
  out[offset + 4] = flags;
  out.writeUInt32BE(streamId, offset + 5);
}

/** settingsFrame builds a SETTINGS frame from [identifier, value] pairs. */
export function settingsFrame(settings: ReadonlyArray<readonly [id: number, value: number]>): Buffer {
  const out = Buffer.allocUnsafe(h2FrameHeaderBytes + 6 * settings.length);
  writeFrameHeader(out, 0, 6 * settings.length, H2FrameType.settings, 0, 0);
  let o = h2FrameHeaderBytes;
  for (const [id, value] of settings) {
    out.writeUInt16BE(id, o);
    out.writeUInt32BE(value, o + 2);
    o += 6;
  }
  return out;
}

/** settingsAckFrame acknowledges the peer's SETTINGS. */
export const settingsAckFrame: Buffer = Buffer.from([0, 0, 0, H2FrameType.settings, H2Flag.ack, 0, 0, 0, 0]);

/** windowUpdateFrame grants `increment` (1 .. 2^31 - 1) more bytes on a stream (0: the connection). */
export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const out = Buffer.allocUnsafe(h2FrameHeaderBytes + 4);
  writeFrameHeader(out, 0, 4, H2FrameType.windowUpdate, 0, streamId);
  out.writeUInt32BE(increment, h2FrameHeaderBytes);
  return out;
}

/** rstStreamFrame ends one stream with an error code. */
export function rstStreamFrame(streamId: number, code: H2ErrorCode): Buffer {
  const out = Buffer.allocUnsafe(h2FrameHeaderBytes + 4);
  writeFrameHeader(out, 0, 4, H2FrameType.rstStream, 0, streamId);
  out.writeUInt32BE(code, h2FrameHeaderBytes);
  return out;
}

/** goawayFrame tells the peer the last stream id we processed and why the connection ends. */
export function goawayFrame(lastStreamId: number, code: H2ErrorCode, debug = ''): Buffer {
  const debugBytes = Buffer.from(debug, 'utf8');
  const out = Buffer.allocUnsafe(h2FrameHeaderBytes + 8 + debugBytes.length);
  writeFrameHeader(out, 0, 8 + debugBytes.length, H2FrameType.goaway, 0, 0);
  out.writeUInt32BE(lastStreamId, h2FrameHeaderBytes);
  out.writeUInt32BE(code, h2FrameHeaderBytes + 4);
  debugBytes.copy(out, h2FrameHeaderBytes + 8);
  return out;
}

/** pingFrame builds a PING (or its ACK) carrying 8 opaque bytes. */
export function pingFrame(payload: Uint8Array, ack: boolean): Buffer {
  const out = Buffer.allocUnsafe(h2FrameHeaderBytes + 8);
  writeFrameHeader(out, 0, 8, H2FrameType.ping, ack ? H2Flag.ack : 0, 0);
  out.set(payload.subarray(0, 8), h2FrameHeaderBytes);
  return out;
}

/** H2ProtocolError: the peer broke RFC 9113; the connection ends with GOAWAY carrying `h2Code`. */
export class H2ProtocolError extends Error {
  readonly code = 'CONCORD_HTTP2_PROTOCOL';
  constructor(
    readonly h2Code: H2ErrorCode,
    message: string,
  ) {
    super(message);
  }
}
