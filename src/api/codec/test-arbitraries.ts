/**
 * fast-check arbitraries for every message, derived from the descriptor tables, for the codec
 * property tests. 64-bit fields draw their edge values (0, ±1, 2^53, 2^53+1, 2^63-1, -2^63,
 * 2^64-1) often. Messages nest at most `depthMax` levels (TxnRequest -> RequestOp -> TxnRequest).
 */
import fc from 'fast-check';
import { ENUM_SCHEMAS, MESSAGE_SCHEMAS, type FieldSchema, type MessageTypeName, type MessageTypes } from './gen/schema.js';

const INT64_EDGES = [0n, 1n, -1n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n)];
const UINT64_EDGES = [0n, 1n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n];

const int64Arb = fc.oneof(fc.constantFrom(...INT64_EDGES), fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n), fc.bigInt(-1000n, 1000n));
const uint64Arb = fc.oneof(fc.constantFrom(...UINT64_EDGES), fc.bigInt(0n, 2n ** 64n - 1n), fc.bigInt(0n, 1000n));

function valueArb(field: FieldSchema, depth: number, depthMax: number): fc.Arbitrary<unknown> {
  switch (field.kind) {
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return int64Arb;
    case 'uint64':
    case 'fixed64':
      return uint64Arb;
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return fc.integer({ min: -0x80000000, max: 0x7fffffff });
    case 'uint32':
    case 'fixed32':
      return fc.integer({ min: 0, max: 0xffffffff });
    case 'double':
    case 'float':
      return fc.double({ noNaN: true });
    case 'bool':
      return fc.boolean();
    case 'string':
      return fc.string({ unit: 'grapheme', maxLength: 12 });
    case 'bytes':
      return fc.uint8Array({ maxLength: 40 });
    case 'enum':
      return fc.constantFrom(...(ENUM_SCHEMAS[field.type ?? ''] ?? []).map(([, n]) => n));
    case 'message':
      return anyMessageArb(field.type ?? '', depth + 1, depthMax);
  }
}

function anyMessageArb(typeName: string, depth: number, depthMax: number): fc.Arbitrary<Record<string, unknown>> {
  const fields = MESSAGE_SCHEMAS[typeName];
  if (fields === undefined) throw new Error(`no schema for ${typeName}`);
  const deep = depth >= depthMax;
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  const oneofs = new Map<string, FieldSchema[]>();
  for (const field of fields) {
    if (field.oneof !== undefined) {
      oneofs.set(field.oneof, [...(oneofs.get(field.oneof) ?? []), field]);
    } else if (field.repeated === true) {
      parts[field.prop] = deep && field.kind === 'message' ? fc.constant([]) : fc.array(valueArb(field, depth, depthMax), { maxLength: 3 });
    } else if (field.kind === 'message') {
      parts[field.prop] = deep ? fc.constant(undefined) : fc.option(valueArb(field, depth, depthMax), { nil: undefined });
    } else {
      parts[field.prop] = valueArb(field, depth, depthMax);
    }
  }
  for (const [name, members] of oneofs) {
    const usable = members.filter((m) => !(deep && m.kind === 'message'));
    parts[name] = fc.oneof(
      fc.constant(undefined),
      ...usable.map((m) => valueArb(m, depth, depthMax).map((value) => ({ $case: m.prop, value }))),
    );
  }
  // fc.record builds null-prototype objects; the codecs build plain ones.
  return fc.record(parts).map((fieldValues) => ({ ...fieldValues })) as fc.Arbitrary<Record<string, unknown>>;
}

/** messageArb draws messages of one type in ts-proto's shape. */
export function messageArb<K extends MessageTypeName>(typeName: K, depthMax = 3): fc.Arbitrary<MessageTypes[K]> {
  return anyMessageArb(typeName, 0, depthMax) as unknown as fc.Arbitrary<MessageTypes[K]>;
}
