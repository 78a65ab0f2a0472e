/**
 * Tests of the describe* formatters shared by logs, interaction traces and the simulator: each
 * message type's line, entries (printable, binary, truncated, conf changes), states and a Ready
 * with its empty parts omitted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeConfChange } from './conf-change-codec.js';
import {
  defaultDataFormatter, describeConfChange, describeConfState, describeEntries, describeEntry, describeHardState,
  describeMessage, describeReadState, describeReady, describeSnapshot, describeSoftState,
} from './describe.js';
import {
  ConfChangeTransition, ConfChangeType, EMPTY_CONF_STATE, EntryType, NONE, Role,
  type ConfChange, type Entry, type Message, type NodeId, type Ready,
} from './types.js';

const n = (id: number): NodeId => id as NodeId;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const normal = (term: number, index: number, data = ''): Entry => ({ term, index, type: EntryType.Normal, data: text(data) });

test('describe: the default data formatter quotes printable ASCII and hex-encodes the rest', () => {
  assert.equal(defaultDataFormatter(text('hello "x"')), '"hello \\"x\\""');
  assert.equal(defaultDataFormatter(new Uint8Array([0, 1, 0xff])), '0x0001ff');
  assert.equal(defaultDataFormatter(text('a\n')), '0x610a', 'a control character makes it binary');
  assert.equal(defaultDataFormatter(text('x'.repeat(64))), JSON.stringify('x'.repeat(64)));
  assert.equal(defaultDataFormatter(text('x'.repeat(65))), JSON.stringify('x'.repeat(64) + '…'));
  assert.equal(defaultDataFormatter(new Uint8Array(32)), '0x' + '00'.repeat(32));
  assert.equal(defaultDataFormatter(new Uint8Array(33)), '0x' + '00'.repeat(32) + '…');
});

test('describe: conf changes render as v/l/r ids plus a non-auto transition; empty is leave-joint', () => {
  const cc = (transition: ConfChange['transition'], ...changes: [ConfChange['changes'][number]['type'], number][]): ConfChange =>
    ({ transition, changes: changes.map(([type, id]) => ({ type, nodeId: n(id) })), context: new Uint8Array() });
  assert.equal(describeConfChange(cc(ConfChangeTransition.Auto,
    [ConfChangeType.AddVoter, 2], [ConfChangeType.AddLearner, 3], [ConfChangeType.RemoveNode, 4])), 'v2 l3 r4');
  assert.equal(describeConfChange(cc(ConfChangeTransition.JointExplicit, [ConfChangeType.AddVoter, 5])), 'v5 transition=joint-explicit');
  assert.equal(describeConfChange(cc(ConfChangeTransition.Auto)), 'leave-joint');
});

test('describe: entries show term/index, type and data', () => {
  assert.equal(describeEntry(normal(2, 11)), '2/11 EntryNormal');
  assert.equal(describeEntry(normal(2, 12, 'x')), '2/12 EntryNormal "x"');
  assert.equal(describeEntry(normal(2, 12, 'x'), (d) => `<${d.length}>`), '2/12 EntryNormal <1>');
  const cc: Entry = {
    term: 3, index: 4, type: EntryType.ConfChange,
    data: encodeConfChange({ transition: ConfChangeTransition.Auto, changes: [{ type: ConfChangeType.AddVoter, nodeId: n(4) }], context: new Uint8Array() }),
  };
  assert.equal(describeEntry(cc), '3/4 EntryConfChange v4');
  assert.equal(describeEntries([normal(1, 1), normal(1, 2, 'y')], '  '), '  1/1 EntryNormal\n  1/2 EntryNormal "y"');
});

test('describe: states, snapshots and read states', () => {
  assert.equal(describeHardState({ term: 1, vote: n(2), commit: 3 }), 'HardState Term:1 Vote:2 Commit:3');
  assert.equal(describeSoftState({ leader: n(1), role: Role.Leader }), 'Lead:1 State:leader');
  assert.equal(describeConfState({ voters: [n(3), n(1), n(2)], votersOutgoing: [n(1)], learners: [n(10), n(9)], learnersNext: [], autoLeave: true }),
    'Voters:[1 2 3] VotersOutgoing:[1] Learners:[9 10] LearnersNext:[] AutoLeave:true');
  assert.equal(describeSnapshot({ metadata: { index: 5, term: 2, confState: EMPTY_CONF_STATE }, data: new Uint8Array(9) }),
    'Snapshot Index:5 Term:2 Voters:[] VotersOutgoing:[] Learners:[] LearnersNext:[] AutoLeave:false');
  assert.equal(describeReadState({ index: 7, context: 'a"b' }), 'ReadState Index:7 Context:"a\\"b"');
});

test('describe: one line per message type', () => {
  const base = { from: n(1), to: n(2), term: 3 };
  const cases: [Message, string][] = [
    [{ ...base, type: 'MsgApp', logTerm: 2, index: 5, commit: 4, commitOnly: false, entries: [normal(3, 6, 'x')] },
      '1->2 MsgApp Term:3 Log:2/5 Commit:4 Entries:[3/6 EntryNormal "x"]'],
    [{ ...base, type: 'MsgApp', logTerm: 2, index: 5, commit: 4, commitOnly: false, entries: [] }, '1->2 MsgApp Term:3 Log:2/5 Commit:4'],
    [{ ...base, type: 'MsgApp', logTerm: 2, index: 5, commit: 4, commitOnly: true, entries: [] }, '1->2 MsgApp Term:3 Log:2/5 Commit:4 CommitOnly'],
    [{ ...base, type: 'MsgAppResp', index: 6, reject: false, rejectHint: 0, logTerm: 0 }, '1->2 MsgAppResp Term:3 Log:0/6'],
    [{ ...base, type: 'MsgAppResp', index: 6, reject: true, rejectHint: 3, logTerm: 1 }, '1->2 MsgAppResp Term:3 Log:1/6 Rejected (Hint: 3)'],
    [{ ...base, type: 'MsgVote', logTerm: 2, index: 5, transfer: false }, '1->2 MsgVote Term:3 Log:2/5'],
    [{ ...base, type: 'MsgPreVote', logTerm: 2, index: 5, transfer: true }, '1->2 MsgPreVote Term:3 Log:2/5 Transfer'],
    [{ ...base, type: 'MsgVoteResp', reject: true }, '1->2 MsgVoteResp Term:3 Rejected'],
    [{ ...base, type: 'MsgPreVoteResp', reject: false }, '1->2 MsgPreVoteResp Term:3'],
    [{ ...base, type: 'MsgHeartbeat', commit: 4, context: '', sentTick: 9 }, '1->2 MsgHeartbeat Term:3 Commit:4'],
    [{ ...base, type: 'MsgHeartbeat', commit: 4, context: 'r1', sentTick: 9 }, '1->2 MsgHeartbeat Term:3 Commit:4 Context:"r1"'],
    [{ ...base, type: 'MsgHeartbeatResp', context: 'r1', sentTick: 9 }, '1->2 MsgHeartbeatResp Term:3 Context:"r1"'],
    [{ ...base, type: 'MsgHeartbeatResp', context: '', sentTick: 9 }, '1->2 MsgHeartbeatResp Term:3'],
    [{ ...base, type: 'MsgSnap', snapshot: { metadata: { index: 5, term: 2, confState: EMPTY_CONF_STATE }, data: new Uint8Array() } },
      '1->2 MsgSnap Term:3 Snapshot Index:5 Term:2 Voters:[] VotersOutgoing:[] Learners:[] LearnersNext:[] AutoLeave:false'],
    [{ ...base, term: 0, type: 'MsgProp', entries: [normal(0, 0, 'p')] }, '1->2 MsgProp Term:0 Entries:[0/0 EntryNormal "p"]'],
    [{ ...base, term: 0, type: 'MsgReadIndex', context: 'q' }, '1->2 MsgReadIndex Term:0 Context:"q"'],
    [{ ...base, type: 'MsgReadIndexResp', index: 8, context: 'q' }, '1->2 MsgReadIndexResp Term:3 Index:8 Context:"q"'],
    [{ ...base, type: 'MsgTimeoutNow' }, '1->2 MsgTimeoutNow Term:3'],
    [{ ...base, type: 'MsgTransferLeader', target: n(3) }, '1->2 MsgTransferLeader Term:3 Target:3'],
  ];
  for (const [m, want] of cases) assert.equal(describeMessage(m), want);
});

test('describe: a Ready lists only its non-empty parts, in handling order', () => {
  const empty: Ready = {
    softState: undefined, hardState: undefined, readStates: [], entries: [], snapshot: undefined,
    committedEntries: [], messages: [], mustSync: false,
  };
  assert.equal(describeReady(empty), 'Ready MustSync=false:');
  const full: Ready = {
    softState: { leader: NONE, role: Role.Candidate },
    hardState: { term: 2, vote: n(1), commit: 0 },
    readStates: [{ index: 1, context: 'r' }],
    entries: [normal(2, 1)],
    snapshot: { metadata: { index: 0, term: 0, confState: EMPTY_CONF_STATE }, data: new Uint8Array() },
    committedEntries: [normal(1, 1, 'c')],
    messages: [{ from: n(1), to: n(2), term: 2, type: 'MsgVote', logTerm: 0, index: 0, transfer: false }],
    mustSync: true,
  };
  assert.equal(describeReady(full), [
    'Ready MustSync=true:',
    'Lead:0 State:candidate',
    'HardState Term:2 Vote:1 Commit:0',
    'ReadStates:',
    'ReadState Index:1 Context:"r"',
    'Entries:',
    '2/1 EntryNormal',
    'Snapshot Index:0 Term:0 Voters:[] VotersOutgoing:[] Learners:[] LearnersNext:[] AutoLeave:false',
    'CommittedEntries:',
    '1/1 EntryNormal "c"',
    'Messages:',
    '1->2 MsgVote Term:2 Log:0/0',
  ].join('\n'));
});
