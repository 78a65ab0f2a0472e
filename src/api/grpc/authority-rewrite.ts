import { assert } from '../../lib/assert.js';
import { H2Flag as FrameFlag, H2FrameType as FrameType, h2FrameHeaderBytes as frameHeaderBytes } from './h2-frames.js';
import { encodeHpackInteger, HpackDynamicTable, parseHeaderBlock } from './hpack-decode.js';

/**
 * The pieces of the :authority fix (authority-fix.ts) that are pure byte work: which authority
 * nghttp2 accepts, how one is rewritten, the per-connection header block rewriter, and taking
 * header blocks out of / putting them into HTTP/2 frames.
 */

// The frame vocabulary is h2-frames.ts's, under the names this module's users know.
export {
  H2Flag as FrameFlag,
  H2FrameType as FrameType,
  h2FrameHeaderBytes as frameHeaderBytes,
  h2PrefaceBytes as http2PrefaceBytes,
} from './h2-frames.js';
/**
 * frameBytesMax is the SETTINGS_MAX_FRAME_SIZE node:http2 announces (the default, 16384; the
 * ClientPortServer does not change it): the largest frame payload we send to node, and above
 * which node refuses a client's frame anyway.
 */
export const frameBytesMax = 16_384;
/** headerBlockBytesMax bounds one buffered header block (frames included); above → close. */
export const headerBlockBytesMax = 64 * 1024;
/** sniffBytesMax bounds the bytes held while waiting for the first header block; above → rewrite path. */
export const sniffBytesMax = headerBlockBytesMax + 16 * 1024;
/**
 * hpackTableBytesMax is node's SETTINGS_HEADER_TABLE_SIZE (the default 4096; not changed by the
 * ClientPortServer): the largest dynamic table the client's encoder may use towards us.
 */
export const hpackTableBytesMax = 4096;


/** AuthorityFixError: a connection the fix refuses (header block over its bound). Stable code. */
export class AuthorityFixError extends Error {
  readonly code = 'CONCORD_AUTHORITY_FIX';
}

/** FrameError: frames that break RFC 9113 framing rules; the fix then stops and lets node answer. */
export class FrameError extends Error {
  readonly code = 'CONCORD_HTTP2_FRAME';
}

/**
 * validAuthorityByte[b] is 1 for the bytes nghttp2's `nghttp2_check_authority` accepts in
 * `:authority` and `host`: RFC 3986 unreserved, sub-delims, ':', '@', '[', ']' and '%'.
 */
const validAuthorityByte = new Uint8Array(256);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@[]%") {
  validAuthorityByte[c.charCodeAt(0)] = 1;
}

/** isAcceptableAuthority tells whether nghttp2 (as a server) accepts this `:authority`/`host` value. */
export function isAcceptableAuthority(value: Uint8Array): boolean {
  for (let i = 0; i < value.length; i++) if (validAuthorityByte[value[i]!] === 0) return false;
  return true;
}

/**
 * rewriteAuthority returns the host:port part of an authority that nghttp2 refuses: drops a
 * leading `scheme://`, cuts at the next '/', '?' or '#', then drops any byte nghttp2 would still
 * refuse. The result is never longer than the input (the dynamic-table argument relies on it).
 */
export function rewriteAuthority(value: Uint8Array): Buffer {
  let start = 0;
  for (let i = 0; i + 2 < value.length; i++) {
    if (value[i] === 0x3a && value[i + 1] === 0x2f && value[i + 2] === 0x2f) {
      start = i + 3; // "://"
      break;
    }
    if (value[i] === 0x2f) break; // a '/' before any "://": no scheme
  }
  let end = start;
  while (end < value.length && value[end] !== 0x2f && value[end] !== 0x3f && value[end] !== 0x23) end++;
  const out = Buffer.allocUnsafe(end - start);
  let o = 0;
  for (let i = start; i < end; i++) if (validAuthorityByte[value[i]!] === 1) out[o++] = value[i]!;
  return out.subarray(0, o);
}

const authorityName = Buffer.from(':authority');
const hostName = Buffer.from('host');

/**
 * AuthorityRewriter rewrites the header blocks of one connection, client to server. It mirrors
 * the CLIENT's HPACK dynamic table (all literals decoded, Huffman included, so entry sizes are
 * right) and re-emits each block with the same representations in the same order, replacing
 * only an unacceptable `:authority`/`host` literal value by rewriteAuthority(value), as a plain
 * (non-Huffman) string.
 *
 * Why node's decoder stays in step: indexed, size-update and unchanged literal representations
 * act identically on both tables; a rewritten literal with incremental indexing adds an entry
 * of the same name with a value no longer than the client's. Invariant (newest first): node's
 * table is n1..nk, the client's c1..cj, with j ≤ k and, for i ≤ j, ni the (possibly rewritten)
 * ci with size(ni) ≤ size(ci). Adding an entry or shrinking the maximum evicts oldest-first
 * until the sum fits; node's sum over its first j entries is ≤ the client's, so node keeps at
 * least the entries the client keeps (an entry too large for the client's table may still fit
 * node's: then node simply holds one more old entry). The client only references indexes
 * ≤ 61 + j, which therefore name the same field in both tables (with the rewritten value).
 */
export class AuthorityRewriter {
  private readonly table = new HpackDynamicTable(hpackTableBytesMax);
  /** fieldsRewritten counts rewritten field lines. */
  fieldsRewritten = 0;

  /** rewriteBlock returns `block` itself when nothing needs rewriting, else a new block. Throws HpackError. */
  rewriteBlock(block: Buffer): Buffer {
    const representations = parseHeaderBlock(block, this.table);
    let pieces: Buffer[] | undefined;
    let copiedTo = 0;
    for (const r of representations) {
      if (r.type !== 'literal' || !isAuthorityName(r.name) || isAcceptableAuthority(r.value)) continue;
      const value = rewriteAuthority(r.value);
      assert(value.length <= r.value.length, 'rewritten authority must not grow');
      pieces ??= [];
      pieces.push(block.subarray(copiedTo, r.valueStart), plainStringLiteral(value));
      copiedTo = r.end;
      this.fieldsRewritten++;
    }
    if (pieces === undefined) return block;
    pieces.push(block.subarray(copiedTo));
    return Buffer.concat(pieces);
  }
}

function isAuthorityName(name: Buffer): boolean {
  return name.equals(authorityName) || name.equals(hostName);
}

function plainStringLiteral(value: Buffer): Buffer {
  const prefix: number[] = [];
  encodeHpackInteger(prefix, value.length, 7, 0x00);
  return Buffer.concat([Buffer.from(prefix), value]);
}

/** HeaderBlock is a header block taken out of its HEADERS (+ CONTINUATION) frames. */
export interface HeaderBlock {
  readonly block: Buffer;
  /** streamId is the 4 stream-id bytes of the HEADERS frame, as received. */
  readonly streamId: Buffer;
  readonly endStream: boolean;
  /** priority is the 5 priority bytes when the HEADERS frame had the PRIORITY flag. */
  readonly priority: Buffer | undefined;
}

/**
 * headerBlockOf joins the fragments of complete frames (HEADERS then CONTINUATION...), removing
 * padding and priority fields. Throws FrameError on a framing violation.
 */
export function headerBlockOf(frames: readonly Buffer[]): HeaderBlock {
  const first = frames[0];
  if (first === undefined || first[3] !== FrameType.headers) throw new FrameError('header block does not start with HEADERS');
  const flags = first[4]!;
  let payload = first.subarray(frameHeaderBytes);
  if (flags & FrameFlag.padded) {
    const padBytes = payload[0];
    if (padBytes === undefined || padBytes >= payload.length) throw new FrameError('HEADERS padding exceeds the payload');
    payload = payload.subarray(1, payload.length - padBytes);
  }
  let priority: Buffer | undefined;
  if (flags & FrameFlag.priority) {
    if (payload.length < 5) throw new FrameError('HEADERS too short for its priority fields');
    priority = payload.subarray(0, 5);
    payload = payload.subarray(5);
  }
  const fragments = [payload];
  for (let i = 1; i < frames.length; i++) {
    const frame = frames[i]!;
    if (frame[3] !== FrameType.continuation) throw new FrameError('header block interrupted by another frame');
    if (!frame.subarray(5, 9).equals(first.subarray(5, 9))) throw new FrameError('CONTINUATION on another stream');
    fragments.push(frame.subarray(frameHeaderBytes));
  }
  return {
    block: fragments.length === 1 ? payload : Buffer.concat(fragments),
    streamId: first.subarray(5, 9),
    endStream: (flags & FrameFlag.endStream) !== 0,
    priority,
  };
}

/** frameHeaderBlock frames a block as HEADERS + CONTINUATION, payloads ≤ frameBytesMax, no padding. */
export function frameHeaderBlock(h: HeaderBlock, block: Buffer): Buffer {
  const priorityBytes = h.priority === undefined ? 0 : 5;
  const firstBytes = Math.min(block.length, frameBytesMax - priorityBytes);
  const continuations = Math.ceil((block.length - firstBytes) / frameBytesMax);
  const out = Buffer.allocUnsafe(block.length + priorityBytes + frameHeaderBytes * (1 + continuations));
  let o = 0;
  let b = 0;
  for (let f = 0; f <= continuations; f++) {
    const isFirst = f === 0;
    const take = isFirst ? firstBytes : Math.min(block.length - b, frameBytesMax);
    const last = f === continuations;
    const length = take + (isFirst ? priorityBytes : 0);
    out.writeUIntBE(length, o, 3);
    out[o + 3] = isFirst ? FrameType.headers : FrameType.continuation;
    out[o + 4] =
      (last ? FrameFlag.endHeaders : 0) |
      (isFirst && h.endStream ? FrameFlag.endStream : 0) |
      (isFirst && h.priority !== undefined ? FrameFlag.priority : 0);
    h.streamId.copy(out, o + 5);
    o += frameHeaderBytes;
    if (isFirst && h.priority !== undefined) o += h.priority.copy(out, o);
    o += block.copy(out, o, b, b + take);
    b += take;
  }
  assert(o === out.length && b === block.length, 'frameHeaderBlock sizes');
  return out;
}

