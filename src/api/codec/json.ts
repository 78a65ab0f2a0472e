/**
 * The JSON mapping of etcd's gRPC gateway (grpc-gateway v1, `runtime.JSONPb{OrigName: true}`,
 * EmitDefaults false, which wraps golang/protobuf's jsonpb), driven by the descriptor tables in
 * gen/schema.ts.
 *
 * Output (`toJson`), as the gateway prints it:
 * - keys are the proto field names as written in the .proto (`create_revision`, `TTL`, `peerURLs`),
 *   in declaration order;
 * - 64-bit integers are decimal strings, 32-bit integers and floats are numbers;
 * - bytes are standard padded base64; enums are their value names (a number if unknown);
 * - a field at its zero value (0, false, "", empty bytes, empty list, enum value 0, absent
 *   submessage) is omitted — so a PUT event has no `type`, an expired lease's keep-alive no `TTL`;
 *   a present submessage prints even when empty (`{}`), and the set member of a oneof prints even
 *   at its zero value (`"version":"0"` in a Compare).
 *
 * Input (`fromJson`), as jsonpb's Unmarshaler with AllowUnknownFields accepts it:
 * - keys by proto name or by lowerCamelCase json name (`range_end` or `rangeEnd`); unknown keys
 *   are ignored; `null` means absent;
 * - integers as JSON numbers or decimal strings; a 64-bit value given as a number must be a safe
 *   integer (JSON.parse has already rounded anything larger: send those as strings);
 * - bytes as base64 (standard or URL-safe, padding optional, nothing else);
 * - enums by name or by number.
 * Anything else (wrong JSON type, out-of-range integer, bad base64, unknown enum name, two
 * members of one oneof) throws a WireError with code CONCORD_WIRE_BAD_JSON naming the field.
 */
import { decodeBase64, encodeBase64 } from './base64.js';
import {
  ENUM_SCHEMAS,
  MESSAGE_FNS,
  MESSAGE_SCHEMAS,
  type FieldSchema,
  type MessageTypeName,
  type MessageTypes,
} from './gen/schema.js';
import { WireError, WireErrorCode } from './wire-error.js';

/** JsonValue is a value JSON.stringify prints as is. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
/** JsonObject is a JSON object. */
export interface JsonObject {
  [key: string]: JsonValue;
}

/** JSON_DEPTH_MAX bounds message nesting in JSON input (nested Txn), as the binary decoder does. */
export const JSON_DEPTH_MAX = 100;

type Fields = Record<string, unknown>;
interface OneofValue {
  readonly $case: string;
  readonly value: unknown;
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
const DECIMAL = /^-?(?:0|[1-9][0-9]*)$/;
const EMPTY = new Uint8Array(0);

const enumNames = new Map<string, Map<number, string>>();
const enumNumbers = new Map<string, Map<string, number>>();
for (const [name, values] of Object.entries(ENUM_SCHEMAS)) {
  const byNumber = new Map<number, string>();
  for (const [valueName, n] of values) if (!byNumber.has(n)) byNumber.set(n, valueName);
  enumNames.set(name, byNumber);
  enumNumbers.set(name, new Map(values.map(([valueName, n]) => [valueName, n])));
}

function schemaOf(typeName: string): readonly FieldSchema[] {
  const fields = MESSAGE_SCHEMAS[typeName];
  if (fields === undefined) throw new Error(`json: no schema for message ${typeName}`);
  return fields;
}

function fieldType(field: FieldSchema): string {
  if (field.type === undefined) throw new Error(`json: field ${field.name} names no type`);
  return field.type;
}

// ---- output -----------------------------------------------------------------------------------

/** toJson maps a message to etcd's gateway JSON (see the module comment). */
export function toJson<K extends MessageTypeName>(typeName: K, message: MessageTypes[K]): JsonObject {
  return messageToJson(typeName, message as unknown as Fields);
}

function messageToJson(typeName: string, message: Fields): JsonObject {
  const out: JsonObject = {};
  for (const field of schemaOf(typeName)) {
    if (field.oneof !== undefined) {
      const member = message[field.oneof] as OneofValue | undefined;
      if (member !== undefined && member.$case === field.prop) out[field.name] = valueToJson(field, member.value);
      continue;
    }
    const value = message[field.prop];
    if (field.repeated === true) {
      const list = value as readonly unknown[];
      if (list.length > 0) out[field.name] = list.map((item) => valueToJson(field, item));
    } else if (!isZero(field, value)) {
      out[field.name] = valueToJson(field, value);
    }
  }
  return out;
}

function isZero(field: FieldSchema, value: unknown): boolean {
  switch (field.kind) {
    case 'message':
      return value === undefined;
    case 'bytes':
      return (value as Uint8Array).length === 0;
    default:
      return value === 0 || value === 0n || value === false || value === '';
  }
}

function valueToJson(field: FieldSchema, value: unknown): JsonValue {
  switch (field.kind) {
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return (value as bigint).toString();
    case 'int32':
    case 'uint32':
    case 'sint32':
    case 'fixed32':
    case 'sfixed32':
      return value as number;
    case 'double':
    case 'float': {
      const n = value as number;
      if (Number.isNaN(n)) return 'NaN';
      if (n === Infinity) return 'Infinity';
      if (n === -Infinity) return '-Infinity';
      return n;
    }
    case 'bool':
      return value as boolean;
    case 'string':
      return value as string;
    case 'bytes':
      return encodeBase64(value as Uint8Array);
    case 'enum': {
      const n = value as number;
      return enumNames.get(fieldType(field))?.get(n) ?? n;
    }
    case 'message':
      return messageToJson(fieldType(field), value as Fields);
  }
}

// ---- input ------------------------------------------------------------------------------------

/** fromJson maps gateway JSON (already parsed) to a message (see the module comment). */
export function fromJson<K extends MessageTypeName>(typeName: K, json: unknown): MessageTypes[K] {
  return messageFromJson(typeName, json, typeName, 0) as unknown as MessageTypes[K];
}

function bad(path: string, what: string): WireError {
  return new WireError(WireErrorCode.BadJson, `bad JSON for ${path}: ${what}`);
}

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '...' : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function messageFromJson(typeName: string, json: unknown, path: string, depth: number): Fields {
  if (depth >= JSON_DEPTH_MAX) throw bad(path, `nested deeper than ${JSON_DEPTH_MAX}`);
  if (!isObject(json)) throw bad(path, `expected an object, got ${describeJson(json)}`);
  const fns = MESSAGE_FNS[typeName as MessageTypeName] as { decode(input: Uint8Array): unknown } | undefined;
  if (fns === undefined) throw new Error(`json: no codec for message ${typeName}`);
  const message = fns.decode(EMPTY) as Fields;
  for (const field of schemaOf(typeName)) {
    // jsonpb takes the proto name or the json name, and the json name when both are present.
    const hasCamel = field.jsonName !== field.name && Object.prototype.hasOwnProperty.call(json, field.jsonName);
    const key = hasCamel ? field.jsonName : field.name;
    if (!hasCamel && !Object.prototype.hasOwnProperty.call(json, key)) continue;
    const raw = json[key];
    if (raw === null || raw === undefined) continue;
    const fieldPath = `${path}.${field.name}`;
    if (field.oneof !== undefined) {
      if (message[field.oneof] !== undefined) throw bad(fieldPath, `more than one member of oneof set`);
      message[field.oneof] = { $case: field.prop, value: valueFromJson(field, raw, fieldPath, depth) };
    } else if (field.repeated === true) {
      if (!Array.isArray(raw)) throw bad(fieldPath, `expected an array, got ${describeJson(raw)}`);
      message[field.prop] = raw.map((item: unknown, i) => {
        if (item === null) throw bad(`${fieldPath}[${i}]`, 'null in a list');
        return valueFromJson(field, item, `${fieldPath}[${i}]`, depth);
      });
    } else {
      message[field.prop] = valueFromJson(field, raw, fieldPath, depth);
    }
  }
  return message;
}

function valueFromJson(field: FieldSchema, raw: unknown, path: string, depth: number): unknown {
  switch (field.kind) {
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return bigintFromJson(raw, INT64_MIN, INT64_MAX, path);
    case 'uint64':
    case 'fixed64':
      return bigintFromJson(raw, 0n, UINT64_MAX, path);
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return int32FromJson(raw, -0x80000000, 0x7fffffff, path);
    case 'uint32':
    case 'fixed32':
      return int32FromJson(raw, 0, 0xffffffff, path);
    case 'double':
    case 'float':
      return floatFromJson(raw, path);
    case 'bool':
      if (typeof raw !== 'boolean') throw bad(path, `expected true or false, got ${describeJson(raw)}`);
      return raw;
    case 'string':
      if (typeof raw !== 'string') throw bad(path, `expected a string, got ${describeJson(raw)}`);
      return raw;
    case 'bytes': {
      if (typeof raw !== 'string') throw bad(path, `expected base64 text, got ${describeJson(raw)}`);
      const bytes = decodeBase64(raw);
      if (bytes === undefined) throw bad(path, `not base64: ${describeJson(raw)}`);
      return bytes;
    }
    case 'enum':
      return enumFromJson(fieldType(field), raw, path);
    case 'message':
      return messageFromJson(fieldType(field), raw, path, depth + 1);
  }
}

function bigintFromJson(raw: unknown, min: bigint, max: bigint, path: string): bigint {
  let value: bigint;
  if (typeof raw === 'number') {
    if (!Number.isSafeInteger(raw)) {
      throw bad(path, `${raw} is not an exact integer (send 64-bit integers as decimal strings)`);
    }
    value = BigInt(raw);
  } else if (typeof raw === 'string' && DECIMAL.test(raw)) {
    value = BigInt(raw);
  } else {
    throw bad(path, `expected an integer, got ${describeJson(raw)}`);
  }
  if (value < min || value > max) throw bad(path, `${value} is out of range`);
  return value;
}

function int32FromJson(raw: unknown, min: number, max: number, path: string): number {
  let value: number;
  if (typeof raw === 'number' && Number.isInteger(raw)) value = raw;
  else if (typeof raw === 'string' && DECIMAL.test(raw)) value = Number(raw);
  else throw bad(path, `expected an integer, got ${describeJson(raw)}`);
  if (value < min || value > max) throw bad(path, `${value} is out of range`);
  return value;
}

function floatFromJson(raw: unknown, path: string): number {
  if (typeof raw === 'number') return raw;
  if (raw === 'NaN') return NaN;
  if (raw === 'Infinity') return Infinity;
  if (raw === '-Infinity') return -Infinity;
  if (typeof raw === 'string' && raw.trim() !== '' && Number.isFinite(Number(raw))) return Number(raw);
  throw bad(path, `expected a number, got ${describeJson(raw)}`);
}

function enumFromJson(enumName: string, raw: unknown, path: string): number {
  if (typeof raw === 'string') {
    const n = enumNumbers.get(enumName)?.get(raw);
    if (n === undefined) throw bad(path, `unknown value ${JSON.stringify(raw)} for enum ${enumName}`);
    return n;
  }
  return int32FromJson(raw, -0x80000000, 0x7fffffff, path);
}
