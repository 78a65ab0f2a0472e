import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WatchEvent, WatchHistory } from '../workload-histories.js';
import { checkWorkloadHistory } from './index.js';

const put = (revision: number, key: string, value: string): WatchEvent => ({ revision: String(revision), key, type: 'put', value });
const del = (revision: number, key: string): WatchEvent => ({ revision: String(revision), key, type: 'delete' });

/** Revisions 11..14 under /w/ starting from {a: 0}: put a=1, put b=1 + put c=1 (one txn), delete a, put b=2. */
const EVENTS: WatchEvent[] = [put(11, '/w/a', '1'), put(12, '/w/b', '1'), put(12, '/w/c', '1'), del(13, '/w/a'), put(14, '/w/b', '2')];

function history(overrides: Partial<WatchHistory> = {}): WatchHistory {
  return {
    workload: 'watch',
    prefix: '/w/',
    startRevision: '10',
    initial: { '/w/a': '0' },
    watchers: [{ id: 0, events: EVENTS }, { id: 1, events: [...EVENTS, put(15, '/w/z', 'later')] }],
    acknowledged: [
      { key: '/w/a', type: 'put', value: '1', revision: '11' },
      { key: '/w/a', type: 'delete', revision: '13' },
      { key: '/w/b', type: 'put', value: '2', revision: '14' },
    ],
    final: { revision: '14', kvs: { '/w/b': '2', '/w/c': '1' } },
    ...overrides,
  };
}

const problemsOf = (h: WatchHistory): string => checkWorkloadHistory(h).problems.join('\n');

test('watch: agreeing, gapless watchers whose events give the final contents: ok', () => {
  const verdict = checkWorkloadHistory(history());
  assert.equal(verdict.verdict, 'ok', verdict.problems.join('\n'));
  assert.match(verdict.summary, /2 watchers, 11 events, 3 acknowledged writes: 5 events agreed/);
});

test('watch: a delete that found nothing (no event at its revision) is accepted when the key was absent', () => {
  const acknowledged = [...history().acknowledged, { key: '/w/q', type: 'delete' as const, revision: '12' }];
  assert.equal(checkWorkloadHistory(history({ acknowledged })).verdict, 'ok');
  const atStart = [...history().acknowledged, { key: '/w/q', type: 'delete' as const, revision: '10' }];
  assert.equal(checkWorkloadHistory(history({ acknowledged: atStart })).verdict, 'ok');
  const presentAtStart = [...history().acknowledged, { key: '/w/a', type: 'delete' as const, revision: '10' }];
  assert.equal(checkWorkloadHistory(history({ acknowledged: presentAtStart })).verdict, 'violation');
  const present = [...history().acknowledged, { key: '/w/b', type: 'delete' as const, revision: '12' }];
  assert.equal(checkWorkloadHistory(history({ acknowledged: present })).verdict, 'violation');
});

test('watch: a gap in one watcher is a violation', () => {
  const gap = EVENTS.filter((e) => e.revision !== '13');
  const h = history({ watchers: [{ id: 0, events: EVENTS }, { id: 1, events: gap }] });
  assert.equal(checkWorkloadHistory(h).verdict, 'violation');
  assert.match(problemsOf(h), /watcher 1: 1 revision\(s\) in \(10, 14\] never delivered, first 13/);
});

test('watch: a duplicate event or a revision going back is a violation', () => {
  const dup = history({ watchers: [{ id: 0, events: EVENTS }, { id: 1, events: [...EVENTS.slice(0, 3), EVENTS[2]!, ...EVENTS.slice(3)] }] });
  assert.match(problemsOf(dup), /watcher 1: duplicate event put "\/w\/c"="1" @12/);
  const back = history({ watchers: [{ id: 0, events: [EVENTS[0]!, EVENTS[3]!, EVENTS[1]!, EVENTS[2]!, EVENTS[4]!] }] });
  assert.match(problemsOf(back), /watcher 0: put "\/w\/b"="1" @12 goes back after revision 13/);
  const early = history({ watchers: [{ id: 0, events: [put(10, '/w/a', '0'), ...EVENTS] }] });
  assert.match(problemsOf(early), /at or before the start revision 10/);
});

test('watch: divergent watchers are a violation', () => {
  const other = EVENTS.map((e) => (e.revision === '14' ? put(14, '/w/b', '3') : e));
  const h = history({ watchers: [{ id: 0, events: EVENTS }, { id: 1, events: other }] });
  assert.equal(checkWorkloadHistory(h).verdict, 'violation');
  assert.match(problemsOf(h), /watchers .* diverge at event 4/);
});

test('watch: events that do not give the final contents, or miss an acknowledged write, are violations', () => {
  const wrongFinal = history({ final: { revision: '14', kvs: { '/w/b': '2' } } });
  assert.match(problemsOf(wrongFinal), /key "\/w\/c": the events give "1" but the final read at 14 found absent/);
  const wrongAck = history({ acknowledged: [{ key: '/w/b', type: 'put', value: '9', revision: '14' }] });
  assert.match(problemsOf(wrongAck), /acknowledged put "\/w\/b"="9" @14 is not among the events/);
  const afterFinal = history({ acknowledged: [{ key: '/w/b', type: 'put', value: '2', revision: '15' }] });
  assert.match(problemsOf(afterFinal), /revision outside \(10, 14\]/);
});

test('watch: a compacted watcher is unknown (its prefix still checked); a failed final read is unknown', () => {
  const compacted = history({ watchers: [{ id: 0, events: EVENTS }, { id: 1, events: EVENTS.slice(0, 2), compacted: true }] });
  const verdict = checkWorkloadHistory(compacted);
  assert.equal(verdict.verdict, 'unknown');
  assert.match(verdict.summary, /watcher 1 was cancelled for compaction after 2 event\(s\)/);
  const badPrefix = history({ watchers: [{ id: 0, events: EVENTS }, { id: 1, events: [EVENTS[1]!], compacted: true }] });
  assert.equal(checkWorkloadHistory(badPrefix).verdict, 'violation');
  assert.equal(checkWorkloadHistory(history({ final: null })).verdict, 'unknown');
});
