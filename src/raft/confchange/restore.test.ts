/**
 * Tests of restoreConfig (rebuilding a configuration from a snapshot's ConfState): the empty and
 * a worked joint example, refusals of impossible ConfStates, and the round trip as a property:
 * for any valid ConfState, restore then render gives the same ConfState back, whatever the order
 * of its id lists, with a progress entry for exactly its members.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProgressTracker, describeTrackerConfig } from '../tracker/progress-tracker.js';
import { EMPTY_CONF_STATE, type ConfState, type NodeId } from '../types.js';
import { restoreConfig } from './restore.js';

function restore(cs: ConfState, lastIndex = 10): ProgressTracker {
  const { config, progress } = restoreConfig(cs, lastIndex, 256, 0);
  return new ProgressTracker(config, progress, 256, 0);
}

const ids = (...n: number[]): NodeId[] => n as NodeId[];

function sortedConfState(cs: ConfState): ConfState {
  const sort = (a: readonly NodeId[]): NodeId[] => [...a].sort((x, y) => x - y);
  return {
    voters: sort(cs.voters), votersOutgoing: sort(cs.votersOutgoing), learners: sort(cs.learners),
    learnersNext: sort(cs.learnersNext), autoLeave: cs.autoLeave,
  };
}

/**
 * confStateArb draws valid ConfStates: 1-5 voters, 0-4 learners; in a joint config the outgoing
 * half keeps some of the voters plus 0-2 removed ones, some of which are being demoted
 * (learnersNext). The lists come in random order.
 */
const confStateArb: fc.Arbitrary<ConfState> = fc.record({
  pool: fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { minLength: 11, maxLength: 11 }),
  voters: fc.integer({ min: 1, max: 5 }),
  learners: fc.integer({ min: 0, max: 4 }),
  removed: fc.integer({ min: 0, max: 2 }),
  retained: fc.nat(5),
  demoted: fc.nat(2),
  autoLeave: fc.boolean(),
  joint: fc.boolean(),
}).map((r) => {
  const pool = r.pool as NodeId[];
  const voters = pool.slice(0, r.voters);
  const learners = pool.slice(r.voters, r.voters + r.learners);
  const removed = r.joint ? pool.slice(r.voters + r.learners, r.voters + r.learners + r.removed) : [];
  const retained = r.joint ? voters.slice(0, Math.min(r.retained, voters.length)) : [];
  const votersOutgoing = [...removed, ...retained];
  const joint = votersOutgoing.length > 0;
  return {
    voters, learners, votersOutgoing,
    learnersNext: removed.slice(0, Math.min(r.demoted, removed.length)),
    autoLeave: joint && r.autoLeave,
  };
});

test('restore: the empty ConfState gives the empty configuration', () => {
  const trk = restore(EMPTY_CONF_STATE);
  assert.deepEqual(trk.confState(), EMPTY_CONF_STATE);
  assert.equal(trk.progress.size, 0);
});

test('restore: a joint ConfState with a demotion and a learner', () => {
  const cs: ConfState = {
    voters: ids(1, 2, 3), votersOutgoing: ids(1, 2, 4, 6), learners: ids(5), learnersNext: ids(4), autoLeave: true,
  };
  const trk = restore(cs, 7);
  assert.equal(describeTrackerConfig(trk.config), 'voters=(1 2 3)&&(1 2 4 6) learners=(5) learners_next=(4) autoleave');
  assert.deepEqual(trk.ids(), [1, 2, 3, 4, 5, 6]);
  assert.equal(trk.progress.get(5 as NodeId)!.isLearner, true);
  assert.equal(trk.progress.get(4 as NodeId)!.isLearner, false, 'a staged learner still votes in the outgoing half');
  for (const pr of trk.progress.values()) {
    assert.equal(pr.match, 0);
    assert.equal(pr.next, 7);
  }
});

test('restore: impossible ConfStates are refused', () => {
  // No voters at all.
  assert.throws(() => restore({ ...EMPTY_CONF_STATE, learners: ids(1) }), /cannot restore/);
  // The only voter is also a learner.
  assert.throws(() => restore({ ...EMPTY_CONF_STATE, voters: ids(1), learners: ids(1) }), /cannot restore/);
});

test('restore: property: restore then confState() round-trips any valid ConfState', () => {
  fc.assert(fc.property(confStateArb, fc.nat(100), (cs, lastIndex) => {
    const trk = restore(cs, lastIndex);
    assert.deepEqual(trk.confState(), sortedConfState(cs));
    const members = new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext]);
    assert.deepEqual(new Set(trk.ids()), members);
    for (const [id, pr] of trk.progress) {
      assert.equal(pr.isLearner, cs.learners.includes(id), `isLearner of ${id}`);
      assert.equal(pr.next, Math.max(lastIndex, 1));
      assert.ok(pr.match < pr.next);
    }
  }), { numRuns: 1000 });
});

test('restore: property: the order of the id lists does not matter', () => {
  const shuffled = confStateArb.chain((cs) => fc.record({
    cs: fc.constant(cs),
    perm: fc.record({
      voters: fc.shuffledSubarray([...cs.voters], { minLength: cs.voters.length }),
      votersOutgoing: fc.shuffledSubarray([...cs.votersOutgoing], { minLength: cs.votersOutgoing.length }),
      learners: fc.shuffledSubarray([...cs.learners], { minLength: cs.learners.length }),
      learnersNext: fc.shuffledSubarray([...cs.learnersNext], { minLength: cs.learnersNext.length }),
    }),
  }));
  fc.assert(fc.property(shuffled, ({ cs, perm }) => {
    const a = restore(cs);
    const b = restore({ ...perm, autoLeave: cs.autoLeave });
    assert.equal(describeTrackerConfig(b.config), describeTrackerConfig(a.config));
    assert.deepEqual(b.confState(), a.confState());
  }), { numRuns: 300 });
});
