import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLineLogger, formatLogLine } from './line-logger.js';

const at = new Date('2026-11-30T01:02:03.456Z');

test('formatLogLine: time, padded level, name, message, fields', () => {
  assert.equal(formatLogLine(at, 'info', 'm1', 'member started', { id: 'a1b2', term: 3, ok: true }),
    '2026-11-30T01:02:03.456Z info  [m1] member started id=a1b2 term=3 ok=true');
  assert.equal(formatLogLine(at, 'error', 'm1', 'x'), '2026-11-30T01:02:03.456Z error [m1] x');
});

test('formatLogLine keeps one line and quotes what is not a bare word', () => {
  const line = formatLogLine(at, 'warn', 'm1', 'two\nlines', {
    path: '/var/lib/x', text: 'a b', quote: 'say "hi"', err: new Error('boom\nmore'), obj: { a: [1n] },
    url: new URL('http://h:1'), none: undefined,
  });
  assert.equal(line, '2026-11-30T01:02:03.456Z warn  [m1] two lines path=/var/lib/x text="a b" quote="say \\"hi\\"" ' +
    'err="boom\\nmore" obj={"a":["1"]} url=http://h:1/ none=undefined');
  assert.ok(!line.includes('\n'));
});

test('createLineLogger filters below its level and writes whole lines', () => {
  const written: string[] = [];
  const logger = createLineLogger({ name: 'm2', level: 'warn', stream: { write: (text) => written.push(text) }, now: () => at });
  logger.debug('d');
  logger.info('i');
  logger.warn('w', { k: 1 });
  logger.error('e');
  assert.deepEqual(written, [
    '2026-11-30T01:02:03.456Z warn  [m2] w k=1\n',
    '2026-11-30T01:02:03.456Z error [m2] e\n',
  ]);
});
