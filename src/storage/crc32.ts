import * as zlib from 'node:zlib';
import { assert } from '../lib/assert.js';

assert(typeof zlib.crc32 === 'function', 'Concord storage needs zlib.crc32 (Node.js >= 20.15)');

/** crc32 is CRC-32 (IEEE, as zlib) of `bytes`, continuing from `previous` when given. */
export function crc32(bytes: Uint8Array, previous = 0): number {
  return zlib.crc32(bytes, previous) >>> 0;
}
