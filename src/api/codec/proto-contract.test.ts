/**
 * The project's .proto files against etcd 3.4's own, where etcd's sources are installed (Debian's
 * golang-etcd-server-dev puts them under /usr/share/gocode): every message, field (type, name,
 * number, label), enum value, service and rpc signature must be identical. Elsewhere the test
 * skips; the method-table and golden tests still pin the contract.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../..');
const ETCD = process.env['ETCD_SRC'] ?? '/usr/share/gocode/src/go.etcd.io/etcd';
const PAIRS: readonly [string, string][] = [
  ['etcdserverpb/rpc.proto', 'etcdserver/etcdserverpb/rpc.proto'],
  ['mvccpb/kv.proto', 'mvcc/mvccpb/kv.proto'],
  ['authpb/auth.proto', 'auth/authpb/auth.proto'],
  ['v3lockpb/v3lock.proto', 'etcdserver/api/v3lock/v3lockpb/v3lock.proto'],
  ['v3electionpb/v3election.proto', 'etcdserver/api/v3election/v3electionpb/v3election.proto'],
];

/** declarations lists a .proto's declarations, comments and options stripped, one per line. */
function declarations(text: string): string[] {
  const stripped = text
    .replace(/\/\/[^\n]*/g, '')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/option\s*\(google\.api\.http\)\s*=\s*\{[\s\S]*?\};/g, '')
    .replace(/option\s*\([^)]*\)[^;]*;/g, '')
    .replace(/import\s+"[^"]*";/g, '');
  const out: string[] = [];
  const scope: string[] = [];
  for (const token of stripped.match(/[^{};]+[{};]|[{};]/g) ?? []) {
    const t = token.replace(/\s+/g, ' ').trim();
    if (t === '}' || t === '};') {
      scope.pop();
      continue;
    }
    if (t === ';' || t === '') continue;
    if (t.endsWith('{')) {
      const head = t.slice(0, -1).trim();
      // An rpc with an (emptied) options block is still one declaration.
      if (head.startsWith('rpc ')) out.push(`${scope.join('.')}: ${head}`);
      scope.push(head);
      continue;
    }
    out.push(`${scope.join('.')}: ${t.replace(/;$/, '').trim()}`);
  }
  return out;
}

test('proto-contract: our .proto files declare exactly what etcd 3.4 declares', (t) => {
  if (!fs.existsSync(path.join(ETCD, PAIRS[0]![1]))) {
    t.skip(`etcd sources not installed at ${ETCD}`);
    return;
  }
  for (const [ours, theirs] of PAIRS) {
    const mine = declarations(fs.readFileSync(path.join(root, 'src/api/proto', ours), 'utf8'));
    const etcd = declarations(fs.readFileSync(path.join(ETCD, theirs), 'utf8'));
    assert.deepStrictEqual(mine, etcd, ours);
    assert.ok(mine.length > 5, `${ours}: parsed declarations`);
  }
});
