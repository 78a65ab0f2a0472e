import { CodecError, type BinaryReader, type BinaryWriter } from '../lib/binary.js';

/**
 * Field encoders shared by the command and snapshot codecs, on top of lib/binary:
 * signed safe integers (sign byte + magnitude), int64/uint64 as two u32 halves (exact bigint),
 * optional fields behind a presence byte, and bounded element counts.
 */

export function writeI53(w: BinaryWriter, value: number): void {
  w.bool(value < 0).u53(Math.abs(value));
}

export function readI53(r: BinaryReader, what: string): number {
  const negative = readFlag(r, what, ' sign');
  const magnitude = r.u53(what);
  return negative ? -magnitude : magnitude;
}

/** writeU64 writes the low 64 bits of `value` (two's complement for negatives). */
export function writeU64(w: BinaryWriter, value: bigint): void {
  const bits = BigInt.asUintN(64, value);
  w.u32(Number(bits >> 32n)).u32(Number(bits & 0xffffffffn));
}

export function readU64(r: BinaryReader, what: string): bigint {
  // The field names are built only when a read fails (they are on the apply path of every write).
  if (r.remaining < 8) {
    r.u32(`${what} high`);
    r.u32(`${what} low`);
  }
  const high = r.u32();
  const low = r.u32();
  return high === 0 && low === 0 ? 0n : (BigInt(high) << 32n) | BigInt(low);
}

export function readI64(r: BinaryReader, what: string): bigint {
  return BigInt.asIntN(64, readU64(r, what));
}

export function writeOptional<T>(w: BinaryWriter, value: T | undefined, write: (v: T) => void): void {
  w.bool(value !== undefined);
  if (value !== undefined) write(value);
}

export function readOptional<T>(r: BinaryReader, what: string, read: () => T): T | undefined {
  return readPresence(r, what) ? read() : undefined;
}

/** readPresence reads an optional field's presence byte. */
export function readPresence(r: BinaryReader, what: string): boolean {
  return readFlag(r, what, ' presence');
}

/**
 * readFlag reads a bool named `what` + `suffix`; the name is concatenated only when the read
 * fails, so the error is the one `r.bool(name)` gives without building a string per field.
 */
function readFlag(r: BinaryReader, what: string, suffix: string): boolean {
  if (r.remaining < 1) return r.bool(what + suffix);
  const at = r.offset;
  const v = r.u8();
  if (v > 1) throw new CodecError(`invalid ${what}${suffix}: ${v}`, at);
  return v === 1;
}

/** readCount reads a u32 element count that cannot exceed the bytes left (each element >= `bytesMin`). */
export function readCount(r: BinaryReader, what: string, bytesMin = 1): number {
  const at = r.offset;
  const count = r.u32(`${what} count`);
  if (count * bytesMin > r.remaining) throw new CodecError(`${what} count ${count} exceeds the remaining bytes`, at);
  return count;
}

/** readEnum reads a u8 and checks it is one of `allowed`. */
export function readEnum<T extends number>(r: BinaryReader, what: string, allowed: readonly T[]): T {
  const at = r.offset;
  const v = r.u8(what);
  if (!(allowed as readonly number[]).includes(v)) throw new CodecError(`invalid ${what}: ${v}`, at);
  return v as T;
}

/**
 * withoutUndefined drops properties whose value is undefined, so decoded messages satisfy
 * exactOptionalPropertyTypes and compare equal to the messages that were encoded.
 */
export function withoutUndefined<T>(value: { [K in keyof T]: T[K] | undefined }): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = v;
  return out as T;
}
