import type net from 'node:net';
import type { Logger } from '../../lib/logger.js';
import { assert } from '../../lib/assert.js';
import { AuthorityFixStream } from './authority-fix-stream.js';
import { isGrpcContentType } from './content-type.js';
import { HpackDynamicTable, decodeHeaderBlock } from './hpack-decode.js';
import {
  AuthorityRewriter,
  FrameFlag,
  FrameType,
  frameHeaderBytes,
  headerBlockOf,
  hpackTableBytesMax,
  http2PrefaceBytes,
  sniffBytesMax,
} from './authority-rewrite.js';

/**
 * The :authority fix. gRPC clients dialing a target like `http://127.0.0.1:2379` (etcdctl 3.4's
 * maintenance connections: `passthrough:///http://…`) send that string as `:authority`; nghttp2
 * (inside node:http2) refuses an authority containing '/' with RST_STREAM PROTOCOL_ERROR and
 * has no switch for it, while etcd (Go) ignores it. So the client port looks at the first
 * header block of every HTTP/2 connection (`sniffFirstHeaders`): if its `:authority`/`host` is
 * acceptable to nghttp2 the raw socket goes to node as before (no cost afterwards); if not, the
 * connection goes through an `AuthorityFixStream` that rewrites every header block's
 * `:authority` literal to its host:port part. See docs/serving.md ("The :authority fix").
 */

/** SniffOptions configure sniffFirstHeaders. */
export interface SniffOptions {
  /** idleMs: no first header block within this → GOAWAY and close, as node does to an idle session (0: wait). */
  readonly idleMs: number;
  readonly logger: Logger;
  /** onIdleClose is called when the sniffer closes an idle connection. */
  readonly onIdleClose: () => void;
}

/** Deliver receives the connection to hand to node:http2: the socket itself, or an AuthorityFixStream. */
export type Deliver = (connection: net.Socket | AuthorityFixStream, rewriting: boolean) => void;
/**
 * DeliverGrpc receives a connection whose first request is gRPC, for Concord's own HTTP/2
 * framing (h2-connection.ts): the socket (flowing, its 'data' listeners removed) and every byte
 * read so far, preface included. PINGs answered here were cut; a SETTINGS ACK of ours may follow.
 */
export type DeliverGrpc = (socket: net.Socket, bytes: Buffer) => void;

const settingsFrame = Buffer.from([0, 0, 0, FrameType.settings, 0, 0, 0, 0, 0]);
const goawayIdleFrame = Buffer.from([0, 0, 8, FrameType.goaway, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

/**
 * sniffFirstHeaders reads an HTTP/2 connection whose first bytes (`seen`, the complete preface
 * and maybe more) were already read, up to its first complete header block, then calls
 * `deliver` once: with the socket itself (bytes put back, socket paused) if that block's
 * authority is acceptable to nghttp2, else with an AuthorityFixStream over it.
 *
 * Clients that wait for the server's SETTINGS before their first request (grpc-go: etcdctl,
 * clientv3) would wait forever, so when the first read holds no complete header block the
 * sniffer sends an empty SETTINGS frame itself (node's own SETTINGS follow once it has the
 * connection; an empty SETTINGS changes nothing). Its ACK must not reach node (nghttp2 treats
 * an unexpected SETTINGS ACK as a connection error): the socket is handed over only after the
 * ACK was seen and cut out, or the AuthorityFixStream drops it. PINGs arriving meanwhile are
 * answered here (and not passed on), so idle clients with keepalive do not time out.
 */
export function sniffFirstHeaders(socket: net.Socket, seen: Buffer, options: SniffOptions, deliver: Deliver, deliverGrpc?: DeliverGrpc): void {
  assert(seen.length >= http2PrefaceBytes, 'sniffFirstHeaders needs the complete preface');
  let buffered = seen;
  let parsedTo = http2PrefaceBytes; // frames before this offset are classified
  const cut: Array<[start: number, end: number]> = []; // frames answered here, not passed on
  const blockFrames: Buffer[] = [];
  let firstBlock: Buffer | undefined;
  let settingsSent = false;
  let ackSeen = false;
  let done = false;
  const timer = options.idleMs > 0 ? setTimeout(onIdle, options.idleMs) : undefined;

  function finish(): void {
    done = true;
    socket.off('data', onData);
    socket.off('close', onClose);
    if (timer !== undefined) clearTimeout(timer);
  }
  function keptBytes(): Buffer {
    if (cut.length === 0) return buffered;
    const pieces: Buffer[] = [];
    let from = 0;
    for (const [start, end] of cut) {
      pieces.push(buffered.subarray(from, start));
      from = end;
    }
    pieces.push(buffered.subarray(from));
    return Buffer.concat(pieces);
  }
  function handOver(rewriting: boolean): void {
    finish();
    const bytes = keptBytes();
    if (!rewriting) {
      socket.pause();
      socket.unshift(bytes);
      deliver(socket, false);
      return;
    }
    const acksToDrop = settingsSent && !ackSeen ? 1 : 0;
    deliver(new AuthorityFixStream(socket, bytes, acksToDrop, options.logger), true);
  }
  function onIdle(): void {
    if (done) return;
    finish();
    options.onIdleClose();
    socket.end(goawayIdleFrame);
  }
  function onClose(): void {
    if (!done) finish();
  }
  function classify(): void {
    while (buffered.length - parsedTo >= frameHeaderBytes) {
      const length = buffered.readUIntBE(parsedTo, 3);
      const end = parsedTo + frameHeaderBytes + length;
      if (end > buffered.length) return;
      const type = buffered[parsedTo + 3]!;
      const flags = buffered[parsedTo + 4]!;
      const frame = buffered.subarray(parsedTo, end);
      if (firstBlock === undefined && (type === FrameType.headers || type === FrameType.continuation || blockFrames.length > 0)) {
        blockFrames.push(frame);
        if (type !== FrameType.continuation && blockFrames.length > 1) firstBlock = Buffer.alloc(0); // framing error: node answers
        else if (flags & FrameFlag.endHeaders) firstBlock = joinOrEmpty(blockFrames);
      } else if (type === FrameType.settings && flags & FrameFlag.ack && length === 0 && settingsSent && !ackSeen) {
        ackSeen = true;
        cut.push([parsedTo, end]);
      } else if (type === FrameType.ping && (flags & FrameFlag.ack) === 0 && length === 8) {
        const pong = Buffer.from(frame);
        pong[4] = FrameFlag.ack;
        socket.write(pong);
        cut.push([parsedTo, end]);
      }
      parsedTo = end;
    }
  }
  function step(): void {
    classify();
    if (firstBlock !== undefined) {
      if (deliverGrpc !== undefined && isGrpcRequest(firstBlock)) {
        finish();
        deliverGrpc(socket, keptBytes());
        return;
      }
      if (needsRewrite(firstBlock)) return handOver(true);
      if (!settingsSent || ackSeen) return handOver(false);
    } else if (!settingsSent) {
      settingsSent = true;
      socket.write(settingsFrame);
    }
    if (buffered.length > sniffBytesMax) handOver(true); // the rewriting path handles anything
  }
  function onData(chunk: Buffer): void {
    buffered = Buffer.concat([buffered, chunk]);
    step();
  }
  socket.on('data', onData);
  socket.once('close', onClose);
  step();
}

function joinOrEmpty(frames: readonly Buffer[]): Buffer {
  try {
    return headerBlockOf(frames).block;
  } catch {
    return Buffer.alloc(0); // framing error: node answers it on the unwrapped socket
  }
}

/** isGrpcRequest tells whether a connection's first header block carries a gRPC content-type. */
function isGrpcRequest(block: Buffer): boolean {
  try {
    for (const [name, value] of decodeHeaderBlock(block, new HpackDynamicTable(hpackTableBytesMax))) {
      if (name === 'content-type') return isGrpcContentType(value);
    }
  } catch {
    // undecodable: node reports COMPRESSION_ERROR itself
  }
  return false;
}

/** needsRewrite tells whether a connection's first header block carries an authority nghttp2 refuses. */
function needsRewrite(block: Buffer): boolean {
  try {
    return new AuthorityRewriter().rewriteBlock(block) !== block;
  } catch {
    return false; // undecodable: node reports COMPRESSION_ERROR itself
  }
}
