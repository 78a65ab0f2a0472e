import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomChance, randomInt, Xoshiro128, type Prng } from '../../lib/prng.js';
import { done, lost } from '../test-support.js';
import type { SequencerHistory } from '../workload-histories.js';
import { checkWorkloadHistory } from './index.js';

type Call = SequencerHistory['calls'][number];
const call = (client: number, start: number, ret: number, count: number, first: number, name = 'n'): Call =>
  done(client, start, ret, { name, count }, { first: String(first) });
const unknown = (client: number, start: number, count: number, name = 'n'): Call => lost(client, start, { name, count });
const verdictOf = (calls: Call[]) => checkWorkloadHistory({ workload: 'sequencer', calls });

test('sequencer: disjoint, ordered, gapless ranges: ok', () => {
  const v = verdictOf([call(0, 0, 10, 3, 1), call(1, 5, 12, 1, 4), call(0, 13, 20, 2, 5), call(1, 0, 1, 1, 1, 'other')]);
  assert.equal(v.verdict, 'ok', v.summary);
  assert.match(v.summary, /4 calls \(0 unknown\) on 2 counter\(s\): 7 numbers/);
});

test('sequencer: a number handed out twice is a violation naming both calls', () => {
  const v = verdictOf([call(0, 0, 10, 3, 1), call(1, 5, 12, 2, 3)]);
  assert.equal(v.verdict, 'violation');
  assert.match(v.problems[0]!, /number 3 handed out twice: call #0 .* and call #1/);
});

test('sequencer: a call after another returned getting a lower number is a violation', () => {
  const v = verdictOf([call(0, 0, 5, 1, 2), call(1, 6, 9, 1, 1)]);
  assert.equal(v.verdict, 'violation');
  assert.match(v.problems[0]!, /real-time order broken: call #0 .* returned before call #1/);
  // Overlapping calls may take either order.
  assert.equal(verdictOf([call(0, 0, 5, 1, 2), call(1, 5, 9, 1, 1)]).verdict, 'ok');
});

test('sequencer: a gap is a violation unless unknown-outcome calls could fill it', () => {
  const gap = verdictOf([call(0, 0, 5, 1, 1), call(1, 6, 9, 1, 3)]);
  assert.equal(gap.verdict, 'violation');
  assert.match(gap.problems[0]!, /1 number\(s\) up to 2 were never handed out \(first gap 2\.\.2\)/);
  assert.equal(verdictOf([call(0, 0, 5, 1, 1), unknown(2, 1, 1), call(1, 6, 9, 1, 3)]).verdict, 'ok');
  // Too few unknown numbers for the gap.
  assert.equal(verdictOf([call(0, 0, 5, 1, 1), unknown(2, 1, 1), call(1, 6, 9, 1, 4)]).verdict, 'violation');
  // An unknown call made after number 3 returned cannot have taken number 2.
  const tooLate = verdictOf([call(0, 0, 5, 1, 1), call(1, 6, 9, 1, 3), unknown(2, 10, 5)]);
  assert.equal(tooLate.verdict, 'violation');
  // A gap at the start.
  assert.equal(verdictOf([call(0, 0, 5, 2, 3)]).verdict, 'violation');
});

test('sequencer: bad numbers and counts are violations', () => {
  assert.equal(verdictOf([call(0, 0, 5, 1, 0)]).verdict, 'violation');
  assert.equal(verdictOf([done(0, 0, 5, { name: 'n', count: 1 }, { first: 'x' })]).verdict, 'violation');
  assert.equal(verdictOf([call(0, 0, 5, 0, 1)]).verdict, 'violation');
});

test('sequencer: numbers beyond 2^53 are handled exactly', () => {
  const big = 2n ** 60n;
  const calls: Call[] = [unknown(0, 0, Number.MAX_SAFE_INTEGER), done(1, 1, 2, { name: 'n', count: 2 }, { first: big.toString() })];
  assert.equal(verdictOf(calls).verdict, 'violation');
});

/** generate draws calls on a real counter, each taking effect inside its interval (unknown ones maybe never). */
function generate(prng: Prng, calls: number): { calls: Call[]; effects: number } {
  type Draft = { client: number; start: number; end: number; count: number; effect: number | null; unknown: boolean };
  const drafts: Draft[] = [];
  const freeAt = [0, 0, 0, 0];
  for (let i = 0; i < calls; i++) {
    const client = randomInt(prng, freeAt.length);
    const start = freeAt[client]! + randomInt(prng, 4);
    const end = start + 1 + randomInt(prng, 12);
    freeAt[client] = end + 1;
    const unknown = randomChance(prng, 0.15);
    const effect = unknown && randomChance(prng, 0.5) ? null : start + randomInt(prng, (unknown ? 40 : end - start) + 1);
    drafts.push({ client, start, end, count: 1 + randomInt(prng, 3), effect, unknown });
  }
  const order = drafts.map((d, i) => i).filter((i) => drafts[i]!.effect !== null).sort((a, b) => drafts[a]!.effect! - drafts[b]!.effect! || a - b);
  const firsts = new Map<number, number>();
  let next = 1;
  for (const i of order) {
    firsts.set(i, next);
    next += drafts[i]!.count;
  }
  return {
    calls: drafts.map((d, i) => (d.unknown ? unknown(d.client, d.start, d.count) : call(d.client, d.start, d.end, d.count, firsts.get(i)!))),
    effects: order.length,
  };
}

test('sequencer fuzz: generated histories are accepted; a number handed to a second call is rejected', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const prng = new Xoshiro128(seed);
    const { calls } = generate(prng, 5 + randomInt(prng, 40));
    const v = verdictOf(calls);
    assert.equal(v.verdict, 'ok', `seed ${seed}: ${v.problems.join('\n')}`);
    const completed = calls.map((c, i) => ({ c, i })).filter(({ c }) => c.returnTime !== null);
    if (completed.length < 2) continue;
    const { c: victim, i } = completed[randomInt(prng, completed.length)]!;
    const { c: other } = completed.find(({ c }) => c !== victim)!;
    const corrupted = [...calls];
    corrupted[i] = call(victim.clientId, victim.callTime, victim.returnTime!, victim.input.count, Number((other as { output: { first: string } }).output.first));
    assert.equal(verdictOf(corrupted).verdict, 'violation', `seed ${seed}: duplicate not caught`);
  }
});
