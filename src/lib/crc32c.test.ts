import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c, crc32cFinish, crc32cUpdate, CRC32C_START } from './crc32c.js';

test('crc32c matches the standard check value and incremental feeding', () => {
  const data = new TextEncoder().encode('123456789');
  assert.equal(crc32c(data), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  const split = crc32cFinish(crc32cUpdate(crc32cUpdate(CRC32C_START, data.subarray(0, 4)), data.subarray(4)));
  assert.equal(split, 0xe3069283);
});
