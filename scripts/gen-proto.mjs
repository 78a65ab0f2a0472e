#!/usr/bin/env node
// Regenerates the etcd v3 wire codecs from src/api/proto/**/*.proto (npm run proto:gen).
//   node scripts/gen-proto.mjs           write src/api/codec/gen/
//   node scripts/gen-proto.mjs --check   regenerate into a temp dir; exit 1 if the committed output differs
// Needs `protoc` (Debian: apt-get install -y protobuf-compiler; or PROTOC=/path/to/protoc) and the
// ts-proto dev dependency. The build and the tests do not: the output is committed.
//
// Output (docs/wire.md explains the choices):
//   gen/<pkg>/<file>.ts  ts-proto binary codecs (forceLong=bigint, Uint8Array bytes, oneof unions),
//                        post-processed so malformed input throws instead of ending a message early
//   gen/schema.ts        descriptor tables (fields, enums, services, HTTP paths) for the JSON mapping
//                        and the method table, plus the name -> codec registry
//   gen/manifest.json    sha-256 of every input and output file, checked by codec/stale.test.ts
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { fromBinary, isFieldSet } from '@bufbuild/protobuf';
import { FieldDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const protoDir = path.join(root, 'src/api/proto');
const outDir = path.join(root, 'src/api/codec/gen');
const require = createRequire(import.meta.url);
const { snakeToCamel } = require('ts-proto/build/src/case.js');
const tsProtoVersion = require('ts-proto/package.json').version;

/** TS_PROTO_OPTIONS are the ts-proto options; docs/wire.md says why each one. */
const TS_PROTO_OPTIONS = [
  'forceLong=bigint',
  'outputServices=false',
  'esModuleInterop=true',
  'useOptionals=messages',
  'importSuffix=.js',
  'oneof=unions-value',
  'outputJsonMethods=false',
  'outputPartialMethods=false',
  'enumsAsLiterals=true',
  'unrecognizedEnum=false',
].join(',');

function listProtos(dir, rel = '') {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = path.posix.join(rel, e.name);
    if (e.isDirectory()) return listProtos(dir, r);
    return e.name.endsWith('.proto') ? [r] : [];
  }).sort();
}

function run(cmd, args) {
  const res = spawnSync(cmd, args, { encoding: 'utf8' });
  if (res.error) {
    if (res.error.code === 'ENOENT') {
      console.error(`gen-proto: '${cmd}' not found. Install it (Debian: apt-get install -y protobuf-compiler) or set PROTOC.`);
      process.exit(2);
    }
    throw res.error;
  }
  if (res.status !== 0) {
    console.error(`gen-proto: ${cmd} ${args.join(' ')} failed:\n${res.stderr}`);
    process.exit(1);
  }
  return res.stdout;
}

function walk(dir, rel = '') {
  if (!fs.existsSync(path.join(dir, rel))) return [];
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = path.posix.join(rel, e.name);
    return e.isDirectory() ? walk(dir, r) : [r];
  }).sort();
}

const sha256 = (text) => crypto.createHash('sha256').update(text).digest('hex');

/** replaceExactly replaces every `from` in `text`, asserting how often it occurs (ts-proto's output shape). */
function replaceAll(text, from, to, file) {
  const count = text.split(from).length - 1;
  if (count === 0) throw new Error(`gen-proto: post-processing pattern not found in ${file}: ${from}`);
  return text.split(from).join(to);
}

/**
 * postProcess makes ts-proto's decoders strict where they are lenient: a zero tag or an
 * end-group tag ends ts-proto's loop silently (a truncated message would decode "fine"); here it
 * throws, and a message must end exactly at its length prefix.
 */
function postProcess(text, file) {
  text = replaceAll(
    text,
    '        if ((tag & 7) === 4 || tag === 0) {\n          break;\n        }\n',
    '        if ((tag & 7) === 4 || tag === 0) {\n          throw new globalThis.Error("invalid wire tag " + tag);\n        }\n',
    file,
  );
  text = replaceAll(
    text,
    '      }\n      return message;\n    } finally {',
    '      }\n      if (reader.pos !== end) {\n        throw new globalThis.Error("message overruns its length");\n      }\n      return message;\n    } finally {',
    file,
  );
  return text;
}

// ---- descriptor tables ------------------------------------------------------------------------

const SCALAR = {
  1: 'double', 2: 'float', 3: 'int64', 4: 'uint64', 5: 'int32', 6: 'fixed64', 7: 'fixed32', 8: 'bool',
  9: 'string', 12: 'bytes', 13: 'uint32', 15: 'sfixed32', 16: 'sfixed64', 17: 'sint32', 18: 'sint64',
};
const TYPE_MESSAGE = 11;
const TYPE_ENUM = 14;
const LABEL_REPEATED = 3;

/** tsName is ts-proto's exported name of a (possibly nested) type: `RangeRequest_SortOrder`. */
function tsName(fullName, pkg) {
  return fullName.slice(pkg.length + 1).split('.').join('_');
}

/** tsProp is ts-proto's property name for a field or oneof (its maybeSnakeToCamel). */
function tsProp(name) {
  return name.includes('_') ? snakeToCamel(name) : name;
}

function leadingComment(file, pathKey) {
  const loc = file.sourceCodeInfo?.location.find((l) => l.path.join('.') === pathKey);
  return loc?.leadingComments ?? '';
}

function buildSchema(set, protoFiles) {
  const messages = [];
  const enums = [];
  const services = [];
  const fileOf = new Map(); // full type name -> { file, pkg, tsName }
  for (const file of set.file) {
    if (!protoFiles.includes(file.name)) continue;
    const pkg = file.package;
    const visitEnum = (e, prefix) => {
      const full = `${prefix}.${e.name}`;
      fileOf.set(full, { file: file.name, pkg, tsName: tsName(full, pkg) });
      enums.push({ name: full, values: e.value.map((v) => [v.name, v.number]) });
    };
    const visitMessage = (m, prefix) => {
      const full = `${prefix}.${m.name}`;
      fileOf.set(full, { file: file.name, pkg, tsName: tsName(full, pkg) });
      const fields = m.field.map((f) => {
        const oneof = isFieldSet(f, FieldDescriptorProtoSchema.field.oneofIndex) && !f.proto3Optional ? m.oneofDecl[f.oneofIndex].name : undefined;
        const kind = f.type === TYPE_MESSAGE ? 'message' : f.type === TYPE_ENUM ? 'enum' : SCALAR[f.type];
        if (!kind) throw new Error(`gen-proto: unsupported field type ${f.type} in ${full}.${f.name}`);
        return {
          name: f.name,
          jsonName: f.jsonName,
          prop: tsProp(f.name),
          number: f.number,
          kind,
          ...(kind === 'message' || kind === 'enum' ? { type: f.typeName.replace(/^\./, '') } : {}),
          ...(f.label === LABEL_REPEATED ? { repeated: true } : {}),
          ...(oneof !== undefined ? { oneof: tsProp(oneof) } : {}),
        };
      });
      messages.push({ name: full, fields });
      for (const e of m.enumType) visitEnum(e, full);
      for (const n of m.nestedType) visitMessage(n, full);
    };
    for (const e of file.enumType) visitEnum(e, pkg);
    for (const m of file.messageType) visitMessage(m, pkg);
    file.service.forEach((s, si) => {
      const methods = s.method.map((m, mi) => {
        const comment = leadingComment(file, `6.${si}.2.${mi}`);
        const http = /HTTP \(grpc-gateway\): (.*)/.exec(comment);
        const httpPaths = http ? [...http[1].matchAll(/POST (\S+?)(?:,|$|\s)/g)].map((x) => x[1]) : [];
        return {
          name: m.name,
          requestType: m.inputType.replace(/^\./, ''),
          responseType: m.outputType.replace(/^\./, ''),
          requestStream: m.clientStreaming === true,
          responseStream: m.serverStreaming === true,
          httpPaths,
        };
      });
      services.push({ name: `${pkg}.${s.name}`, methods });
    });
  }
  return { messages, enums, services, fileOf };
}

function renderSchema(schema) {
  const { messages, enums, services, fileOf } = schema;
  const imports = new Map(); // module path -> alias
  const aliasOf = (file) => {
    const mod = './' + file.replace(/\.proto$/, '.js');
    if (!imports.has(mod)) imports.set(mod, file.replace(/\.proto$/, '').replace(/[^A-Za-z0-9]/g, '_'));
    return imports.get(mod);
  };
  const ref = (full) => {
    const info = fileOf.get(full);
    if (!info) throw new Error(`gen-proto: unknown type ${full}`);
    return `${aliasOf(info.file)}.${info.tsName}`;
  };
  const lines = [];
  const msgEntries = messages.map((m) => `  '${m.name}': ${ref(m.name)},`);
  const typeEntries = messages.map((m) => `  '${m.name}': ${ref(m.name)};`);
  const enumTypeEntries = enums.map((e) => `  '${e.name}': ${ref(e.name)};`);
  lines.push('// Code generated by scripts/gen-proto.mjs from src/api/proto. DO NOT EDIT.');
  lines.push('// Descriptor tables for the JSON mapping and the method table; the name -> codec registry.');
  lines.push('');
  lines.push("import type { MessageFns } from './mvccpb/kv.js';");
  for (const [mod, alias] of [...imports].sort()) lines.push(`import * as ${alias} from '${mod}';`);
  lines.push('');
  lines.push('/** FieldKind is a field\'s proto type; `message` and `enum` fields name their type. */');
  lines.push("export type FieldKind = 'double' | 'float' | 'int64' | 'uint64' | 'int32' | 'fixed64' | 'fixed32' | 'bool' | 'string' | 'bytes' | 'uint32' | 'sfixed32' | 'sfixed64' | 'sint32' | 'sint64' | 'message' | 'enum';");
  lines.push('');
  lines.push('/** FieldSchema describes one field: proto name, protoc json_name, ts-proto property, oneof (ts-proto property). */');
  lines.push('export interface FieldSchema {');
  lines.push('  readonly name: string;');
  lines.push('  readonly jsonName: string;');
  lines.push('  readonly prop: string;');
  lines.push('  readonly number: number;');
  lines.push('  readonly kind: FieldKind;');
  lines.push('  readonly type?: string;');
  lines.push('  readonly repeated?: true;');
  lines.push('  readonly oneof?: string;');
  lines.push('}');
  lines.push('');
  lines.push('/** MESSAGE_SCHEMAS lists every message\'s fields in declaration order (the order etcd\'s gateway prints them). */');
  lines.push('export const MESSAGE_SCHEMAS: Readonly<Record<string, readonly FieldSchema[]>> = {');
  for (const m of messages) {
    lines.push(`  '${m.name}': [`);
    for (const f of m.fields) lines.push(`    ${JSON.stringify(f)},`);
    lines.push('  ],');
  }
  lines.push('};');
  lines.push('');
  lines.push('/** ENUM_SCHEMAS maps every enum to its [name, number] values in declaration order. */');
  lines.push('export const ENUM_SCHEMAS: Readonly<Record<string, readonly (readonly [string, number])[]>> = {');
  for (const e of enums) lines.push(`  '${e.name}': ${JSON.stringify(e.values)},`);
  lines.push('};');
  lines.push('');
  lines.push('/** MethodSchema is one rpc as declared: streaming flags and the grpc-gateway POST paths. */');
  lines.push('export interface MethodSchema {');
  lines.push('  readonly service: string;');
  lines.push('  readonly name: string;');
  lines.push('  readonly requestType: MessageTypeName;');
  lines.push('  readonly responseType: MessageTypeName;');
  lines.push('  readonly requestStream: boolean;');
  lines.push('  readonly responseStream: boolean;');
  lines.push('  readonly httpPaths: readonly string[];');
  lines.push('}');
  lines.push('');
  lines.push('/** METHOD_SCHEMAS is every rpc of every service, keyed by its gRPC path, in declaration order. */');
  lines.push('export const METHOD_SCHEMAS = {');
  for (const s of services) {
    for (const m of s.methods) {
      lines.push(`  '/${s.name}/${m.name}': { service: '${s.name}', name: '${m.name}', requestType: '${m.requestType}', responseType: '${m.responseType}', requestStream: ${m.requestStream}, responseStream: ${m.responseStream}, httpPaths: ${JSON.stringify(m.httpPaths)} },`);
    }
  }
  lines.push('} as const satisfies Readonly<Record<string, MethodSchema>>;');
  lines.push('');
  lines.push('/** MessageTypes maps a full message name to its TypeScript type. */');
  lines.push('export interface MessageTypes {');
  lines.push(...typeEntries);
  lines.push('}');
  lines.push('');
  lines.push('/** EnumTypes maps a full enum name to its TypeScript type. */');
  lines.push('export interface EnumTypes {');
  lines.push(...enumTypeEntries);
  lines.push('}');
  lines.push('');
  lines.push('/** MessageTypeName is the full proto name of a message: `etcdserverpb.RangeRequest`. */');
  lines.push('export type MessageTypeName = keyof MessageTypes;');
  lines.push('');
  lines.push('/** MESSAGE_FNS maps a full message name to its ts-proto encode/decode functions. */');
  lines.push('export const MESSAGE_FNS: { readonly [K in MessageTypeName]: MessageFns<MessageTypes[K]> } = {');
  lines.push(...msgEntries);
  lines.push('};');
  lines.push('');
  return lines.join('\n');
}

// ---- main -------------------------------------------------------------------------------------

function generate(target) {
  const protoc = process.env.PROTOC ?? 'protoc';
  const protoFiles = listProtos(protoDir);
  const plugin = path.join(root, 'node_modules/.bin/protoc-gen-ts_proto');
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(target, { recursive: true });
  run(protoc, [`--plugin=protoc-gen-ts_proto=${plugin}`, `--ts_proto_out=${target}`, `--ts_proto_opt=${TS_PROTO_OPTIONS}`, `-I${protoDir}`, ...protoFiles]);
  const protocVersion = run(protoc, ['--version']).trim();
  for (const rel of walk(target)) {
    const p = path.join(target, rel);
    fs.writeFileSync(p, postProcess(fs.readFileSync(p, 'utf8'), rel));
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gen-proto-'));
  try {
    const setFile = path.join(tmp, 'set.pb');
    run(protoc, [`--descriptor_set_out=${setFile}`, '--include_source_info', '--include_imports', `-I${protoDir}`, ...protoFiles]);
    const set = fromBinary(FileDescriptorSetSchema, fs.readFileSync(setFile));
    fs.writeFileSync(path.join(target, 'schema.ts'), renderSchema(buildSchema(set, protoFiles)));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const manifest = {
    generator: `ts-proto ${tsProtoVersion}, ${protocVersion}`,
    options: TS_PROTO_OPTIONS,
    inputs: Object.fromEntries(protoFiles.map((f) => [f, sha256(fs.readFileSync(path.join(protoDir, f)))])),
    outputs: Object.fromEntries(walk(target).map((f) => [f, sha256(fs.readFileSync(path.join(target, f)))])),
  };
  fs.writeFileSync(path.join(target, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

if (process.argv.includes('--check')) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gen-proto-check-'));
  try {
    generate(tmp);
    const fresh = walk(tmp);
    const committed = walk(outDir);
    const diffs = [...new Set([...fresh, ...committed])].filter((f) => {
      const a = path.join(tmp, f);
      const b = path.join(outDir, f);
      return !fs.existsSync(a) || !fs.existsSync(b) || !fs.readFileSync(a).equals(fs.readFileSync(b));
    });
    if (diffs.length > 0) {
      console.error(`gen-proto: committed output is stale (${diffs.join(', ')}); run npm run proto:gen`);
      process.exit(1);
    }
    console.log('gen-proto: committed output is up to date');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
} else {
  const manifest = generate(outDir);
  console.log(`gen-proto: ${Object.keys(manifest.outputs).length} files in ${path.relative(root, outDir)} (${manifest.generator})`);
}
