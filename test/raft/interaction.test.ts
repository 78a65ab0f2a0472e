import fs from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runDataDrivenFile } from './interaction/datadriven.js';
import { InteractionEnv } from './interaction/env.js';

/**
 * The Raft core's interaction scripts: one test per file of test/raft/testdata, each run in a
 * fresh InteractionEnv. Compiled to dist/test/raft/, so the sources are three levels up.
 * CONCORD_REWRITE=1 regenerates the expected traces (review the diff before committing).
 */
const testdata = new URL('../../../test/raft/testdata/', import.meta.url);
const files = fs.readdirSync(testdata).filter((name) => name.endsWith('.txt')).sort();

test('interaction testdata is present', () => {
  if (files.length === 0) throw new Error(`no scripts in ${fileURLToPath(testdata)}`);
});

for (const name of files) {
  test(`interaction ${name}`, () => {
    const env = new InteractionEnv();
    runDataDrivenFile(fileURLToPath(new URL(name, testdata)), (block) => env.handle(block));
  });
}
