/**
 * The committed generated code (gen/) must match its inputs: the manifest written by
 * scripts/gen-proto.mjs records the sha-256 of every .proto and every generated file. A .proto
 * edited without `npm run proto:gen`, or a generated file edited by hand, fails here. Where protoc
 * is installed, the generator also runs in --check mode and must reproduce gen/ byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../..');
const protoDir = path.join(root, 'src/api/proto');
const genDir = path.join(root, 'src/api/codec/gen');

interface Manifest {
  readonly inputs: Record<string, string>;
  readonly outputs: Record<string, string>;
}

function walk(dir: string, rel = ''): string[] {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = path.posix.join(rel, e.name);
    return e.isDirectory() ? walk(dir, r) : [r];
  }).sort();
}

const sha256 = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

test('stale: gen/manifest.json matches the .proto files and the generated files', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(genDir, 'manifest.json'), 'utf8')) as Manifest;
  const protos = walk(protoDir).filter((f) => f.endsWith('.proto'));
  assert.deepStrictEqual(Object.keys(manifest.inputs).sort(), protos, 'the set of .proto files changed: run npm run proto:gen');
  for (const f of protos) {
    assert.equal(sha256(path.join(protoDir, f)), manifest.inputs[f], `${f} changed since generation: run npm run proto:gen`);
  }
  const outputs = walk(genDir).filter((f) => f !== 'manifest.json');
  assert.deepStrictEqual(Object.keys(manifest.outputs).sort(), outputs, 'gen/ has files the generator did not write');
  for (const f of outputs) {
    assert.equal(sha256(path.join(genDir, f)), manifest.outputs[f], `gen/${f} was edited by hand: run npm run proto:gen`);
  }
});

test('stale: regenerating with protoc reproduces gen/ (where protoc is installed)', (t) => {
  const protoc = spawnSync(process.env['PROTOC'] ?? 'protoc', ['--version'], { encoding: 'utf8' });
  if (protoc.error !== undefined || protoc.status !== 0) {
    t.skip('protoc not installed (apt-get install -y protobuf-compiler); the manifest check above still ran');
    return;
  }
  const res = spawnSync(process.execPath, [path.join(root, 'scripts/gen-proto.mjs'), '--check'], { encoding: 'utf8', cwd: root });
  assert.equal(res.status, 0, `${res.stdout}${res.stderr}`);
});
