import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c, crc32cBytewise, crc32cFinish, crc32cUpdate, CRC32C_START } from './crc32c.js';
import { Xoshiro128 } from './prng.js';

test('crc32c matches the standard check value and incremental feeding', () => {
  const data = new TextEncoder().encode('123456789');
  assert.equal(crc32c(data), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  const split = crc32cFinish(crc32cUpdate(crc32cUpdate(CRC32C_START, data.subarray(0, 4)), data.subarray(4)));
  assert.equal(split, 0xe3069283);
});

test('crc32c matches the iSCSI test vectors (RFC 3720 B.4)', () => {
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
});

test('eight bytes at a time equals one byte at a time, for any length, offset and split', () => {
  const prng = new Xoshiro128(20261130);
  const below = (n: number): number => prng.nextUint32() % n;
  const backing = new Uint8Array(4096);
  for (let i = 0; i < backing.length; i++) backing[i] = below(256);
  for (let round = 0; round < 2_000; round++) {
    const offset = below(16);
    const length = below(round < 1_000 ? 40 : 3_000);
    const data = backing.subarray(offset, offset + length);
    const expected = crc32cFinish(crc32cBytewise(CRC32C_START, data));
    assert.equal(crc32c(data), expected, `length ${length} at offset ${offset}`);
    const cut = below(length + 1);
    assert.equal(crc32cFinish(crc32cUpdate(crc32cUpdate(CRC32C_START, data.subarray(0, cut)), data.subarray(cut))), expected);
  }
});
