/**
 * Unit tests of Progress, the leader's view of one follower: state transitions (probe, replicate,
 * snapshot) and where each restarts `next`, flow control (paused after one probe, when inflights
 * are full, always in snapshot), acknowledgements (maybeUpdate), rejections (maybeDecrTo) and
 * the rendering used in traces. Also a small test of ProgressTracker's quorum helpers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AssertionError } from '../../lib/assert.js';
import { JointConfig } from '../quorum/joint.js';
import { MajorityConfig } from '../quorum/majority.js';
import type { LogIndex, NodeId } from '../types.js';
import { Inflights } from './inflights.js';
import { Progress, ProgressState } from './progress.js';
import { ProgressTracker, describeTrackerConfig, type ProgressMap } from './progress-tracker.js';

function progress(args: { match?: LogIndex; next?: LogIndex; state?: ProgressState; inflightsMax?: number; isLearner?: boolean } = {}): Progress {
  const pr = new Progress({
    match: args.match ?? 0,
    next: args.next ?? 1,
    isLearner: args.isLearner ?? false,
    recentActive: true,
    inflights: new Inflights(args.inflightsMax ?? 256, 0),
  });
  switch (args.state ?? ProgressState.Probe) {
    case ProgressState.Probe: break;
    case ProgressState.Replicate: pr.becomeReplicate(); pr.next = args.next ?? pr.next; break;
    case ProgressState.Snapshot: pr.becomeSnapshot(10); break;
  }
  return pr;
}

test('progress: isPaused: probe and replicate follow msgAppFlowPaused; snapshot always pauses', () => {
  for (const state of [ProgressState.Probe, ProgressState.Replicate, ProgressState.Snapshot]) {
    for (const paused of [false, true]) {
      const pr = progress({ state });
      pr.msgAppFlowPaused = paused;
      assert.equal(pr.isPaused(), state === ProgressState.Snapshot ? true : paused, `${state} paused=${paused}`);
    }
  }
});

test('progress: sentEntries in probe pauses after a non-empty MsgApp only; next does not move', () => {
  const pr = progress({ match: 1, next: 2 });
  pr.sentEntries(0, 0);
  assert.equal(pr.isPaused(), false, 'an empty probe does not pause');
  pr.sentEntries(3, 30);
  assert.equal(pr.isPaused(), true);
  assert.equal(pr.next, 2, 'probe does not advance next optimistically');
  assert.equal(pr.inflights.count, 0);
});

test('progress: sentEntries in replicate advances next, records inflights and pauses when full', () => {
  const pr = progress({ match: 5, state: ProgressState.Replicate, inflightsMax: 2 });
  assert.equal(pr.next, 6);
  pr.sentEntries(3, 30);
  assert.equal(pr.next, 9);
  assert.equal(pr.inflights.count, 1);
  assert.equal(pr.isPaused(), false);
  pr.sentEntries(0, 0); // an empty MsgApp does not use a slot
  assert.equal(pr.inflights.count, 1);
  pr.sentEntries(1, 10);
  assert.equal(pr.next, 10);
  assert.equal(pr.isPaused(), true, 'inflights full');
  // Acknowledging the first message (last index 8) frees its slot.
  assert.equal(pr.maybeUpdate(8), true);
  pr.inflights.freeLE(8);
  assert.equal(pr.isPaused(), false);
  assert.equal(pr.inflights.count, 1);
});

test('progress: sentEntries in snapshot state is a programmer error', () => {
  const pr = progress({ state: ProgressState.Snapshot });
  assert.throws(() => pr.sentEntries(1, 1), AssertionError);
});

test('progress: becomeProbe restarts at match + 1, or past a snapshot just sent', () => {
  const fromReplicate = progress({ match: 1, next: 5, state: ProgressState.Replicate });
  fromReplicate.inflights.add(4, 1);
  fromReplicate.becomeProbe();
  assert.equal(fromReplicate.state, ProgressState.Probe);
  assert.equal(fromReplicate.next, 2);
  assert.equal(fromReplicate.inflights.count, 0, 'inflights are reset');

  const pendingAhead = progress({ match: 1, next: 5 });
  pendingAhead.becomeSnapshot(10);
  pendingAhead.becomeProbe();
  assert.equal(pendingAhead.next, 11);
  assert.equal(pendingAhead.pendingSnapshot, 0);

  const matchAhead = progress({ match: 15, next: 16 });
  matchAhead.becomeSnapshot(10);
  matchAhead.becomeProbe();
  assert.equal(matchAhead.next, 16);

  const failed = progress({ match: 1, next: 5 });
  failed.becomeSnapshot(10);
  failed.pendingSnapshot = 0; // what reportSnapshot(failure) does
  failed.becomeProbe();
  assert.equal(failed.next, 2);
});

test('progress: becomeReplicate starts at match + 1 and unpauses; becomeSnapshot records the index', () => {
  const pr = progress({ match: 1, next: 5 });
  pr.msgAppFlowPaused = true;
  pr.becomeReplicate();
  assert.equal(pr.state, ProgressState.Replicate);
  assert.equal(pr.next, 2);
  assert.equal(pr.isPaused(), false);

  pr.becomeSnapshot(10);
  assert.equal(pr.state, ProgressState.Snapshot);
  assert.equal(pr.pendingSnapshot, 10);
  assert.equal(pr.match, 1);
  assert.equal(pr.isPaused(), true);
});

test('progress: maybeUpdate raises match and next, unpauses, and reports whether match moved', () => {
  const cases: { n: LogIndex; want: boolean; match: LogIndex; next: LogIndex }[] = [
    { n: 1, want: false, match: 3, next: 5 }, // stale ack
    { n: 2, want: false, match: 3, next: 5 },
    { n: 3, want: false, match: 3, next: 5 }, // same as match
    { n: 4, want: true, match: 4, next: 5 }, // below next
    { n: 5, want: true, match: 5, next: 6 }, // next moves past the ack
    { n: 8, want: true, match: 8, next: 9 },
  ];
  for (const c of cases) {
    const pr = progress({ match: 3, next: 5 });
    pr.msgAppFlowPaused = true;
    assert.equal(pr.maybeUpdate(c.n), c.want, `n=${c.n}`);
    assert.equal(pr.match, c.match, `n=${c.n} match`);
    assert.equal(pr.next, c.next, `n=${c.n} next`);
    assert.equal(pr.msgAppFlowPaused, !c.want, `n=${c.n}: an ack that moves match unpauses`);
    assert.ok(pr.match < pr.next, 'invariant match < next');
  }
});

test('progress: maybeDecrTo in replicate rolls back to match + 1 unless the rejection is stale', () => {
  const cases: { rejected: LogIndex; hint: LogIndex; want: boolean; next: LogIndex }[] = [
    { rejected: 5, hint: 5, want: false, next: 10 }, // rejected <= match: stale
    { rejected: 4, hint: 4, want: false, next: 10 },
    { rejected: 9, hint: 9, want: true, next: 6 },
    { rejected: 9, hint: 0, want: true, next: 6 }, // the hint is not used in replicate
  ];
  for (const c of cases) {
    const pr = progress({ match: 5, next: 10, state: ProgressState.Replicate });
    assert.equal(pr.maybeDecrTo(c.rejected, c.hint), c.want, `rejected ${c.rejected}`);
    assert.equal(pr.next, c.next, `rejected ${c.rejected}`);
  }
});

test('progress: maybeDecrTo in probe counts only the last probe and honours the hint, never below match + 1', () => {
  const cases: { match: LogIndex; next: LogIndex; rejected: LogIndex; hint: LogIndex; want: boolean; wantNext: LogIndex }[] = [
    { match: 0, next: 10, rejected: 5, hint: 5, want: false, wantNext: 10 }, // not next - 1: stale
    { match: 0, next: 10, rejected: 10, hint: 5, want: false, wantNext: 10 },
    { match: 0, next: 10, rejected: 9, hint: 9, want: true, wantNext: 9 }, // hint >= rejected: next = rejected
    { match: 0, next: 10, rejected: 9, hint: 20, want: true, wantNext: 9 },
    { match: 0, next: 10, rejected: 9, hint: 3, want: true, wantNext: 4 }, // next = hint + 1
    { match: 0, next: 10, rejected: 9, hint: 0, want: true, wantNext: 1 },
    { match: 5, next: 10, rejected: 9, hint: 2, want: true, wantNext: 6 }, // never below match + 1
    { match: 0, next: 1, rejected: 0, hint: 0, want: true, wantNext: 1 },
  ];
  for (const c of cases) {
    const pr = progress({ match: c.match, next: c.next });
    pr.msgAppFlowPaused = true;
    assert.equal(pr.maybeDecrTo(c.rejected, c.hint), c.want, JSON.stringify(c));
    assert.equal(pr.next, c.wantNext, JSON.stringify(c));
    assert.equal(pr.msgAppFlowPaused, !c.want, `${JSON.stringify(c)}: an accepted rejection unpauses the probe`);
  }
});

test("progress: clone copies the state; changing the copy's fields leaves the original alone", () => {
  const pr = progress({ match: 3, next: 7, state: ProgressState.Replicate });
  pr.next = 7;
  pr.msgAppFlowPaused = true;
  pr.leaseAckTick = 12;
  const copy = pr.clone();
  assert.deepEqual(
    [copy.match, copy.next, copy.state, copy.msgAppFlowPaused, copy.leaseAckTick, copy.isLearner, copy.recentActive],
    [3, 7, ProgressState.Replicate, true, 12, false, true]);
  copy.match = 6;
  copy.isLearner = true;
  copy.becomeProbe();
  assert.equal(pr.match, 3);
  assert.equal(pr.isLearner, false);
  assert.equal(pr.state, ProgressState.Replicate);
});

test('progress: toString names the state and the flags', () => {
  const pr = progress({ match: 1, next: 2 });
  assert.equal(pr.toString(), 'probe match=1 next=2');
  pr.isLearner = true;
  pr.recentActive = false;
  pr.sentEntries(1, 1);
  assert.equal(pr.toString(), 'probe match=1 next=2 learner paused inactive');
  const full = progress({ match: 1, state: ProgressState.Replicate, inflightsMax: 1 });
  full.sentEntries(2, 2);
  assert.equal(full.toString(), 'replicate match=1 next=4 paused inflight=1[full]');
  const snap = progress({ match: 1, next: 2, state: ProgressState.Snapshot });
  assert.equal(snap.toString(), 'snapshot match=1 next=2 paused pendingSnap=10');
});

test('progress-tracker: committed, quorumActive and tallyVotes count voters only, in both halves', () => {
  const ids = (...n: number[]): NodeId[] => n as NodeId[];
  const progressMap: ProgressMap = new Map();
  const matches: Record<number, number> = { 1: 9, 2: 7, 3: 3, 4: 8, 5: 100 };
  for (const id of [1, 2, 3, 4, 5]) {
    const pr = progress({ match: matches[id]!, next: matches[id]! + 1, isLearner: id === 5 });
    pr.recentActive = id === 1 || id === 4 || id === 5;
    progressMap.set(id as NodeId, pr);
  }
  const config = {
    voters: new JointConfig(new MajorityConfig(ids(1, 2, 3)), new MajorityConfig(ids(1, 4))),
    learners: new Set(ids(5)), learnersNext: new Set<NodeId>(), autoLeave: true,
  };
  const trk = new ProgressTracker(config, progressMap, 256, 0);
  assert.deepEqual(trk.ids(), [1, 2, 3, 4, 5]);
  assert.equal(describeTrackerConfig(trk.config), 'voters=(1 2 3)&&(1 4) learners=(5) autoleave');
  // Incoming (9 7 3) commits 7, outgoing (9 8) commits 8: the joint config commits 7.
  assert.equal(trk.committed(), 7);
  // Active: 1 and 4 (and learner 5, which does not count): incoming has only 1 of 3.
  assert.equal(trk.quorumActive(), false);
  progressMap.get(2 as NodeId)!.recentActive = true;
  assert.equal(trk.quorumActive(), true);
  assert.equal(trk.isVoter(4 as NodeId), true);
  assert.equal(trk.isVoter(5 as NodeId), false);
  assert.equal(trk.isSingleton(), false);
  assert.deepEqual(trk.confState(), { voters: [1, 2, 3], votersOutgoing: [1, 4], learners: [5], learnersNext: [], autoLeave: true });

  trk.recordVote(1 as NodeId, true);
  trk.recordVote(2 as NodeId, true);
  trk.recordVote(5 as NodeId, true); // a learner's vote is not counted
  trk.recordVote(2 as NodeId, false); // a second answer is ignored
  assert.deepEqual(trk.tallyVotes(), { granted: 2, rejected: 0, result: 'pending' });
  trk.recordVote(4 as NodeId, false);
  assert.deepEqual(trk.tallyVotes(), { granted: 2, rejected: 1, result: 'lost' });
  trk.resetVotes();
  assert.deepEqual(trk.tallyVotes(), { granted: 0, rejected: 0, result: 'pending' });
});
