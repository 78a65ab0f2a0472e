/**
 * Unit tests of the configuration Changer (joint consensus, thesis §4.3): simple changes, entering
 * and leaving a joint configuration, demotion of voters through learnersNext, promotion of
 * learners, the refusals (zero-voter joint, already joint, leaving a non-joint config, more than
 * one voter changed in a simple change, removing every voter), progress initialisation, and that
 * the changer never mutates its input. A property test runs random change sequences and checks
 * the configuration invariants after every accepted step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  EMPTY_TRACKER_CONFIG, describeTrackerConfig, type ProgressMap, type TrackerConfig,
} from '../tracker/progress-tracker.js';
import { ConfChangeType, type ConfChangeSingle, type LogIndex, type NodeId } from '../types.js';
import { Changer, type ChangeResult } from './changer.js';

interface State {
  readonly config: TrackerConfig;
  readonly progress: ProgressMap;
}

const EMPTY: State = { config: EMPTY_TRACKER_CONFIG, progress: new Map() };
const LAST_INDEX = 10;

/** changes parses `v1 l2 r3` (add voter 1, add learner 2, remove 3). */
function changes(spec: string): ConfChangeSingle[] {
  const types = { v: ConfChangeType.AddVoter, l: ConfChangeType.AddLearner, r: ConfChangeType.RemoveNode } as const;
  return spec.split(' ').filter((s) => s !== '').map((s) => {
    const type = types[s[0] as keyof typeof types];
    assert.ok(type, `bad change ${s}`);
    return { type, nodeId: Number(s.slice(1)) as NodeId };
  });
}

function changer(s: State, lastIndex: LogIndex = LAST_INDEX): Changer {
  return new Changer(s.config, s.progress, lastIndex, 256, 0);
}

function ok(r: ChangeResult): State {
  if (!r.ok) assert.fail(`unexpected refusal: ${r.error}`);
  return { config: r.config, progress: r.progress };
}

function refused(r: ChangeResult, pattern: RegExp): void {
  assert.equal(r.ok, false, 'expected a refusal');
  if (!r.ok) assert.match(r.error, pattern);
}

const simple = (s: State, spec: string): State => ok(changer(s).simple(changes(spec)));
const enter = (s: State, autoLeave: boolean, spec: string): State => ok(changer(s).enterJoint(autoLeave, changes(spec)));
const leave = (s: State): State => ok(changer(s).leaveJoint());

/** show renders the config and the progress map (`3L`: progress of 3 marked learner). */
function show(s: State): string {
  const prs = [...s.progress.entries()].sort(([a], [b]) => a - b).map(([id, pr]) => `${id}${pr.isLearner ? 'L' : ''}`);
  return `${describeTrackerConfig(s.config)} progress=[${prs.join(' ')}]`;
}

/** bootstrap builds a non-joint config of voters `v...` and learners `l...` one step at a time. */
function bootstrap(spec: string): State {
  let s = EMPTY;
  for (const c of spec.split(' ')) s = simple(s, c);
  return s;
}

test('changer: simple changes add and remove one voter at a time', () => {
  let s = simple(EMPTY, 'v1');
  assert.equal(show(s), 'voters=(1) progress=[1]');
  s = simple(s, 'v2');
  assert.equal(show(s), 'voters=(1 2) progress=[1 2]');
  s = simple(s, 'v2'); // adding an existing voter is a no-op
  assert.equal(show(s), 'voters=(1 2) progress=[1 2]');
  s = simple(s, 'l3');
  assert.equal(show(s), 'voters=(1 2) learners=(3) progress=[1 2 3L]');
  s = simple(s, 'l3 l4'); // learners do not count as voter changes
  assert.equal(show(s), 'voters=(1 2) learners=(3 4) progress=[1 2 3L 4L]');
  s = simple(s, 'r1');
  assert.equal(show(s), 'voters=(2) learners=(3 4) progress=[2 3L 4L]');
  s = simple(s, 'r9'); // removing an unknown node is a no-op
  assert.equal(show(s), 'voters=(2) learners=(3 4) progress=[2 3L 4L]');
  s = simple(s, 'r4');
  assert.equal(show(s), 'voters=(2) learners=(3) progress=[2 3L]');
});

test('changer: simple refuses two voters changed at once, in any combination', () => {
  const s = bootstrap('v1 v2 v3');
  refused(changer(s).simple(changes('v4 v5')), /more than one voter changed/);
  refused(changer(s).simple(changes('r1 r2')), /more than one voter changed/);
  refused(changer(s).simple(changes('v4 r1')), /more than one voter changed/);
  refused(changer(s).simple(changes('l1 l2')), /more than one voter changed/); // two demotions
  // Changes that cancel out are one net change or none.
  assert.equal(show(simple(s, 'v4 r4 v5')), 'voters=(1 2 3 5) progress=[1 2 3 5]');
  assert.equal(show(simple(s, 'r1 v1')), 'voters=(1 2 3) progress=[1 2 3]');
});

test('changer: simple refuses to remove every voter and to run in a joint config', () => {
  refused(changer(bootstrap('v1')).simple(changes('r1')), /removed all voters/);
  refused(changer(bootstrap('v1')).simple(changes('l1')), /removed all voters/);
  refused(changer(EMPTY).simple(changes('l1')), /removed all voters/);
  const joint = enter(bootstrap('v1 v2'), false, 'v3');
  refused(changer(joint).simple(changes('v4')), /joint/);
});

test('changer: promotion of a learner and demotion of a voter in simple changes keep the progress', () => {
  let s = bootstrap('v1 v2 l3');
  const pr3 = s.progress.get(3 as NodeId)!;
  pr3.match = 7;
  s = simple(s, 'v3');
  assert.equal(show(s), 'voters=(1 2 3) progress=[1 2 3]');
  assert.equal(s.progress.get(3 as NodeId)!.match, 7, 'a promoted learner keeps its match');
  s = simple(s, 'l2');
  assert.equal(show(s), 'voters=(1 3) learners=(2) progress=[1 2L 3]');
});

test('changer: new members start probing at the last index and count as recently active', () => {
  const s = changer(bootstrap('v1'), 42).simple(changes('v2'));
  const pr = ok(s).progress.get(2 as NodeId)!;
  assert.equal(pr.match, 0);
  assert.equal(pr.next, 42);
  assert.equal(pr.recentActive, true);
  assert.equal(pr.state, 'probe');
  const fresh = ok(changer(EMPTY, 0).simple(changes('v1'))).progress.get(1 as NodeId)!;
  assert.equal(fresh.next, 1, 'next is at least 1 (match < next)');
});

test('changer: enterJoint keeps the old voters as the outgoing half; leaveJoint drops them', () => {
  const s = bootstrap('v1 v2 v3');
  const joint = enter(s, false, 'r1 v4');
  assert.equal(show(joint), 'voters=(2 3 4)&&(1 2 3) progress=[1 2 3 4]');
  assert.equal(joint.config.voters.isJoint, true);
  assert.equal(joint.config.autoLeave, false);
  const left = leave(joint);
  assert.equal(show(left), 'voters=(2 3 4) progress=[2 3 4]');
  assert.equal(left.config.voters.isJoint, false);
});

test('changer: enterJoint with autoLeave records it; leaveJoint clears it', () => {
  const joint = enter(bootstrap('v1 v2'), true, 'v3 v4');
  assert.equal(show(joint), 'voters=(1 2 3 4)&&(1 2) autoleave progress=[1 2 3 4]');
  assert.equal(show(leave(joint)), 'voters=(1 2 3 4) progress=[1 2 3 4]');
});

test('changer: enterJoint refusals: zero voters, already joint, removing every incoming voter', () => {
  refused(changer(EMPTY).enterJoint(false, changes('v1')), /zero-voter/);
  const joint = enter(bootstrap('v1 v2'), false, 'v3');
  refused(changer(joint).enterJoint(false, changes('v4')), /already joint/);
  refused(changer(bootstrap('v1 v2')).enterJoint(false, changes('r1 r2')), /removed all voters/);
});

test("changer: leaveJoint refuses a config that isn't joint", () => {
  refused(changer(bootstrap('v1 v2')).leaveJoint(), /non-joint/);
  refused(changer(EMPTY).leaveJoint(), /non-joint/);
});

test('changer: a voter demoted in a joint change waits in learnersNext until the joint config is left', () => {
  const joint = enter(bootstrap('v1 v2 v3'), false, 'l3');
  assert.equal(show(joint), 'voters=(1 2)&&(1 2 3) learners_next=(3) progress=[1 2 3]');
  assert.equal(joint.progress.get(3 as NodeId)!.isLearner, false, 'still votes in the outgoing half');
  const left = leave(joint);
  assert.equal(show(left), 'voters=(1 2) learners=(3) progress=[1 2 3L]');
});

test('changer: learnersNext is undone by a later change in the same joint entry', () => {
  const s = bootstrap('v1 v2 v3');
  // Demoted then removed: not staged; its progress stays while it votes in the outgoing half.
  const removed = enter(s, false, 'l3 r3');
  assert.equal(show(removed), 'voters=(1 2)&&(1 2 3) progress=[1 2 3]');
  assert.equal(show(leave(removed)), 'voters=(1 2) progress=[1 2]');
  // Demoted then re-added as voter: nothing staged.
  const readded = enter(s, false, 'l3 v3');
  assert.equal(show(readded), 'voters=(1 2 3)&&(1 2 3) progress=[1 2 3]');
  // Demoted twice: still staged once.
  assert.equal(show(enter(s, false, 'l3 l3')), 'voters=(1 2)&&(1 2 3) learners_next=(3) progress=[1 2 3]');
});

test('changer: a learner promoted in a joint change votes in the incoming half at once', () => {
  const joint = enter(bootstrap('v1 v2 l3'), false, 'v3');
  assert.equal(show(joint), 'voters=(1 2 3)&&(1 2) progress=[1 2 3]');
  assert.equal(show(leave(joint)), 'voters=(1 2 3) progress=[1 2 3]');
});

test('changer: a new learner in a joint change is a learner at once (it votes in neither half)', () => {
  const joint = enter(bootstrap('v1 v2'), false, 'l4 r2');
  assert.equal(show(joint), 'voters=(1)&&(1 2) learners=(4) progress=[1 2 4L]');
  assert.equal(show(leave(joint)), 'voters=(1) learners=(4) progress=[1 4L]');
});

test('changer: the input config and progress are never mutated', () => {
  const s = bootstrap('v1 v2 v3 l4');
  const before = show(s);
  const fields = (st: State): string => JSON.stringify([...st.progress].map(([id, pr]) => [id, pr.match, pr.next, pr.state, pr.isLearner]));
  const progressBefore = fields(s);
  const joint = enter(s, true, 'l3 r1 v4 v5');
  assert.equal(show(s), before);
  const jointBefore = show(joint);
  leave(joint);
  assert.equal(show(joint), jointBefore, 'leaveJoint must not mark the input progress as learner');
  changer(s).simple(changes('v4 v5')); // refused
  assert.equal(show(s), before);
  assert.equal(fields(s), progressBefore);
});

test('changer: property: accepted changes keep the configuration invariants', () => {
  const single = fc.record({
    type: fc.constantFrom(ConfChangeType.AddVoter, ConfChangeType.AddLearner, ConfChangeType.RemoveNode),
    nodeId: fc.integer({ min: 1, max: 6 }).map((n) => n as NodeId),
  });
  const step = fc.oneof(
    fc.record({ kind: fc.constant('simple' as const), changes: fc.array(single, { maxLength: 3 }) }),
    fc.record({ kind: fc.constant('enter' as const), autoLeave: fc.boolean(), changes: fc.array(single, { maxLength: 4 }) }),
    fc.record({ kind: fc.constant('leave' as const) }),
  );
  fc.assert(fc.property(fc.array(step, { maxLength: 20 }), (steps) => {
    let s: State = EMPTY;
    for (const st of steps) {
      const c = changer(s);
      const r = st.kind === 'simple' ? c.simple(st.changes) : st.kind === 'enter' ? c.enterJoint(st.autoLeave, st.changes) : c.leaveJoint();
      if (!r.ok) continue;
      const prev = s;
      s = { config: r.config, progress: r.progress };
      const incoming = s.config.voters.incoming.ids;
      const outgoing = s.config.voters.outgoing.ids;
      const { learners, learnersNext } = s.config;
      const members = new Set([...incoming, ...outgoing, ...learners, ...learnersNext]);
      assert.deepEqual([...s.progress.keys()].sort(), [...members].sort(), `progress is exactly the members: ${show(s)}`);
      assert.ok(incoming.size > 0, 'never zero voters after a change');
      for (const id of learners) {
        assert.ok(!incoming.has(id) && !outgoing.has(id), `learner ${id} is a voter: ${show(s)}`);
        assert.equal(s.progress.get(id)!.isLearner, true);
      }
      for (const id of [...incoming, ...outgoing]) assert.equal(s.progress.get(id)!.isLearner, false, `voter ${id} marked learner`);
      for (const id of learnersNext) assert.ok(outgoing.has(id) && !incoming.has(id), `learnersNext ${id}: ${show(s)}`);
      if (outgoing.size === 0) {
        assert.equal(s.config.autoLeave, false);
        assert.equal(learnersNext.size, 0);
      }
      if (st.kind === 'simple') {
        assert.equal(prev.config.voters.isJoint, false);
        const before = prev.config.voters.incoming.ids;
        const diff = [...before].filter((id) => !incoming.has(id)).length + [...incoming].filter((id) => !before.has(id)).length;
        assert.ok(diff <= 1, 'a simple change alters at most one voter');
      }
      if (st.kind === 'enter') {
        assert.deepEqual([...outgoing].sort(), [...prev.config.voters.incoming.ids].sort(), 'outgoing = previous voters');
      }
    }
  }), { numRuns: 500 });
});
