/**
 * crc32c computes CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum etcd uses
 * for its hashes. Pure and table-driven; `crc32cUpdate` continues a running checksum so callers
 * can feed data in pieces: `crc32cFinish(crc32cUpdate(crc32cUpdate(CRC32C_START, a), b))`.
 */
const table: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC32C_START is the running value before any byte was fed. */
export const CRC32C_START = 0xffffffff;

/** crc32cUpdate feeds `data` into a running (un-finished) checksum. */
export function crc32cUpdate(running: number, data: Uint8Array): number {
  let c = running >>> 0;
  for (let i = 0; i < data.length; i++) c = (table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8)) >>> 0;
  return c;
}

/** crc32cFinish turns a running value into the checksum (an unsigned 32-bit integer). */
export function crc32cFinish(running: number): number {
  return (running ^ 0xffffffff) >>> 0;
}

/** crc32c returns the CRC-32C of `data`. */
export function crc32c(data: Uint8Array): number {
  return crc32cFinish(crc32cUpdate(CRC32C_START, data));
}
