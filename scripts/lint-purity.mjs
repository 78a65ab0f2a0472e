#!/usr/bin/env node
// Purity lint: the pure folders (DESIGN §2) import no `node:*` or package modules and use no
// async, timers, wall clock, randomness or process state. It walks the TypeScript AST, so a
// mention inside a comment or string is not flagged and a real use cannot hide behind spacing.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
/** Folders whose non-test files must stay pure; code there may import only pure folders. */
const pureDirs = ['src/lib', 'src/raft', 'src/kv'];
/** Packages that are pure data-structure code and may be imported by pure folders. */
const purePackages = new Set(['sorted-btree']);
const bannedGlobals = new Set([
  'Date', 'process', 'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval',
  'clearImmediate', 'queueMicrotask', 'performance', 'require', 'globalThis', 'Promise', 'crypto',
]);

function listFiles(dir) {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs)) return [];
  const out = [];
  for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(rel));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push(rel);
  }
  return out;
}

function isPurePath(rel) {
  return pureDirs.some((dir) => rel === dir || rel.startsWith(dir + path.sep));
}

const problems = [];
for (const file of pureDirs.flatMap(listFiles)) {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const report = (node, what) => {
    const { line, character } = source.getLineAndCharacterOfPosition(node.getStart(source));
    problems.push(`${file}:${line + 1}:${character + 1}: ${what}`);
  };
  const checkSpecifier = (node, specifier) => {
    if (purePackages.has(specifier)) return;
    if (!specifier.startsWith('.')) {
      report(node, `imports '${specifier}': pure code imports only relative pure modules`);
      return;
    }
    const target = path.normalize(path.join(path.dirname(file), specifier));
    if (!isPurePath(target)) report(node, `imports '${specifier}', which is outside the pure folders`);
  };
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier &&
        ts.isStringLiteral(node.moduleSpecifier)) {
      checkSpecifier(node, node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      report(node, 'dynamic import');
    } else if (ts.isAwaitExpression(node)) {
      report(node, 'await');
    } else if (ts.canHaveModifiers(node) &&
        (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.AsyncKeyword)) {
      report(node, 'async function');
    } else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) &&
        node.expression.text === 'Math' && node.name.text === 'random') {
      report(node, 'Math.random (use the injected Prng)');
    } else if (ts.isIdentifier(node) && bannedGlobals.has(node.text) && !isNameOnly(node)) {
      report(node, `uses '${node.text}'`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}

/** isNameOnly is true where an identifier names a property or member rather than a value. */
function isNameOnly(node) {
  const parent = node.parent;
  if (!parent) return false;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return true;
  if ((ts.isPropertyAssignment(parent) || ts.isPropertySignature(parent) ||
       ts.isPropertyDeclaration(parent) || ts.isMethodDeclaration(parent) ||
       ts.isMethodSignature(parent) || ts.isGetAccessor(parent) || ts.isSetAccessor(parent) ||
       ts.isEnumMember(parent)) && parent.name === node) return true;
  if (ts.isQualifiedName(parent) && parent.right === node) return true;
  return false;
}

if (problems.length > 0) {
  console.error(`purity lint: ${problems.length} problem(s) in pure folders (${pureDirs.join(', ')}):`);
  for (const problem of problems) console.error('  ' + problem);
  process.exit(1);
}
console.log(`purity lint: ok (${pureDirs.join(', ')})`);
