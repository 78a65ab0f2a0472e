/**
 * Tests of the RawNode Ready/advance contract, driven by a minimal host loop over MemoryStorage
 * (persist, send, apply, advance): one Ready at a time; mustSync exactly when term, vote, entries
 * or a snapshot must be durable; a leader counts its own entries only once persisted; the byte
 * limits on committed entries per Ready and on the uncommitted tail; proposals without a leader;
 * and a restart from the storage restoring term, vote, commit and configuration.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AssertionError } from '../lib/assert.js';
import { Xoshiro128 } from '../lib/prng.js';
import type { RaftConfig } from './config.js';
import { decodeConfChange } from './conf-change-codec.js';
import { RaftErrorCode, isRaftError } from './errors.js';
import { RawNode } from './raw-node.js';
import { MemoryStorage } from './storage.js';
import {
  ConfChangeTransition, ConfChangeType, ENTRY_OVERHEAD_BYTES, EMPTY_CONF_STATE, EntryType, NONE,
  type ConfState, type Entry, type Message, type NodeId, type Ready,
} from './types.js';

const n = (id: number): NodeId => id as NodeId;
const bytes = (count: number, fill = 7): Uint8Array => new Uint8Array(count).fill(fill);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const textOf = (e: Entry): string => new TextDecoder().decode(e.data);

/** Host is one node and the durable and applied state its host keeps. */
interface Host {
  readonly node: RawNode;
  readonly storage: MemoryStorage;
  readonly applied: Entry[];
  readonly sent: Message[];
}

function confOf(...voters: number[]): ConfState {
  return { ...EMPTY_CONF_STATE, voters: voters.map(n) };
}

function start(options: { id?: number; storage?: MemoryStorage; voters?: number[]; config?: Partial<RaftConfig> } = {}): Host {
  const storage = options.storage ?? MemoryStorage.withConf(confOf(...(options.voters ?? [1])));
  const node = new RawNode({ id: n(options.id ?? 1), storage, prng: new Xoshiro128(1), ...options.config });
  return { node, storage, applied: [], sent: [] };
}

/** handle takes one Ready and does what its doc comment says, in order, then advances. */
function handle(h: Host): Ready {
  const rd = h.node.ready();
  if (rd.snapshot) h.storage.applySnapshot(rd.snapshot);
  h.storage.append(rd.entries);
  if (rd.hardState) h.storage.setHardState(rd.hardState);
  h.sent.push(...rd.messages);
  for (const e of rd.committedEntries) {
    h.applied.push(e);
    if (e.type === EntryType.ConfChange) h.node.applyConfChange(decodeConfChange(e.data));
  }
  h.node.advance();
  return rd;
}

function stabilize(h: Host): Ready[] {
  const out: Ready[] = [];
  while (h.node.hasReady()) {
    out.push(handle(h));
    assert.ok(out.length < 100, 'the node never quiesced');
  }
  return out;
}

/** leader starts a single-voter node and makes it leader, its no-op committed and applied. */
function leader(config: Partial<RaftConfig> = {}): Host {
  const h = start({ config });
  h.node.campaign();
  stabilize(h);
  assert.equal(h.node.raft.role, 'leader');
  assert.equal(h.node.raft.raftLog.applied, h.node.raft.raftLog.lastIndex());
  return h;
}

function dropped(f: () => void): void {
  assert.throws(f, (e: unknown) => isRaftError(e, RaftErrorCode.ProposalDropped), 'expected RAFT_PROPOSAL_DROPPED');
}

test('raw-node: ready() twice without advance() is a programmer error, and so is advance() without ready()', () => {
  const h = start();
  h.node.campaign();
  assert.equal(h.node.hasReady(), true);
  h.node.ready();
  assert.equal(h.node.hasReady(), false, 'nothing more is handed out while a Ready is in flight');
  assert.throws(() => h.node.ready(), AssertionError);
  h.node.advance();
  assert.throws(() => h.node.advance(), AssertionError);
  const fresh = start();
  assert.throws(() => fresh.node.advance(), AssertionError);
});

test('raw-node: an idle node has no Ready', () => {
  const h = leader();
  assert.equal(h.node.hasReady(), false);
  const fresh = start({ voters: [1, 2, 3] });
  assert.equal(fresh.node.hasReady(), false);
});

test('raw-node: a single-voter leader commits its entries only after the host persisted them', () => {
  const h = start();
  h.node.campaign();
  const rd1 = h.node.ready();
  assert.deepEqual(rd1.softState, { leader: 1, role: 'leader' });
  assert.deepEqual(rd1.hardState, { term: 1, vote: 1, commit: 0 });
  assert.deepEqual(rd1.entries.map((e) => [e.term, e.index, e.data.length]), [[1, 1, 0]], 'the no-op of the new term');
  assert.deepEqual(rd1.committedEntries, [], 'not committed: not yet durable on this node');
  assert.equal(rd1.mustSync, true);
  assert.equal(h.node.raft.raftLog.committed, 0);
  h.storage.append(rd1.entries);
  h.storage.setHardState(rd1.hardState!);
  h.node.advance();
  assert.equal(h.node.raft.raftLog.committed, 1, 'committed once advance() reports it persisted');

  const rd2 = handle(h);
  assert.deepEqual(rd2.hardState, { term: 1, vote: 1, commit: 1 });
  assert.deepEqual(rd2.committedEntries.map((e) => e.index), [1]);
  assert.deepEqual(rd2.entries, []);
  assert.equal(rd2.mustSync, false, 'a commit index change alone needs no fsync');

  h.node.propose(text('x'));
  const rd3 = handle(h);
  assert.deepEqual(rd3.entries.map((e) => [e.term, e.index, textOf(e)]), [[1, 2, 'x']]);
  assert.deepEqual(rd3.committedEntries, []);
  assert.equal(rd3.mustSync, true);
  const rd4 = handle(h);
  assert.deepEqual(rd4.committedEntries.map(textOf), ['x']);
  assert.equal(rd4.mustSync, false);
  assert.equal(h.node.hasReady(), false);
  assert.deepEqual(h.applied.map((e) => e.index), [1, 2]);
});

test('raw-node: the leader ignores a persistence report whose term does not match its log', () => {
  const h = leader();
  h.node.propose(text('a'));
  const rd = h.node.ready();
  h.storage.append(rd.entries);
  h.node.raft.onPersisted(rd.entries[0]!.index, rd.entries[0]!.term + 1); // wrong term: ignored
  assert.equal(h.node.raft.raftLog.committed, rd.entries[0]!.index - 1);
  h.node.advance();
  assert.equal(h.node.raft.raftLog.committed, rd.entries[0]!.index);
});

test('raw-node: mustSync is set by a term or vote change, entries or a snapshot, and by nothing else', () => {
  const h = start({ id: 1, voters: [1, 2, 3] });
  // A message from a higher term (not from a leader): term changes, vote and leader unknown.
  h.node.step({ type: 'MsgAppResp', from: n(2), to: n(1), term: 5, index: 0, reject: false, rejectHint: 0, logTerm: 0 });
  let rd = handle(h);
  assert.deepEqual(rd.hardState, { term: 5, vote: NONE, commit: 0 });
  assert.equal(rd.mustSync, true, 'term changed');
  // A vote in the same term: only the vote changes.
  h.node.step({ type: 'MsgVote', from: n(3), to: n(1), term: 5, logTerm: 0, index: 0, transfer: false });
  rd = handle(h);
  assert.deepEqual(rd.hardState, { term: 5, vote: 3, commit: 0 });
  assert.equal(rd.mustSync, true, 'vote changed');
  assert.deepEqual(rd.messages.map((m) => `${m.type} ${m.to}`), ['MsgVoteResp 3']);
  // The leader appends: entries must be durable before the acknowledgement.
  h.node.step({ type: 'MsgApp', from: n(3), to: n(1), term: 5, logTerm: 0, index: 0, commit: 0, commitOnly: false, entries: [{ term: 5, index: 1, type: EntryType.Normal, data: text('e') }] });
  rd = handle(h);
  assert.deepEqual(rd.softState, { leader: 3, role: 'follower' });
  assert.equal(rd.hardState, undefined);
  assert.equal(rd.entries.length, 1);
  assert.equal(rd.mustSync, true, 'entries');
  // A heartbeat that only moves the commit index and asks for a reply: no fsync.
  h.node.step({ type: 'MsgHeartbeat', from: n(3), to: n(1), term: 5, commit: 1, context: '', sentTick: 0 });
  rd = handle(h);
  assert.deepEqual(rd.hardState, { term: 5, vote: 3, commit: 1 });
  assert.deepEqual(rd.committedEntries.map(textOf), ['e']);
  assert.equal(rd.mustSync, false, 'commit only');
  h.node.step({ type: 'MsgHeartbeat', from: n(3), to: n(1), term: 5, commit: 1, context: '', sentTick: 1 });
  rd = handle(h);
  assert.equal(rd.hardState, undefined);
  assert.deepEqual(rd.messages.map((m) => m.type), ['MsgHeartbeatResp']);
  assert.equal(rd.mustSync, false, 'messages only');
  // A snapshot must be durable.
  h.node.step({
    type: 'MsgSnap', from: n(3), to: n(1), term: 5,
    snapshot: { metadata: { index: 10, term: 5, confState: confOf(1, 2, 3) }, data: new Uint8Array() },
  });
  rd = handle(h);
  assert.equal(rd.snapshot?.metadata.index, 10);
  assert.equal(rd.mustSync, true, 'snapshot');
  assert.equal(h.node.raft.raftLog.applied, 10, 'the snapshot counts as applied after advance');
});

test('raw-node: committedBytesPerReadyMax bounds the committed entries of each Ready', () => {
  const entryBytes = 50 + ENTRY_OVERHEAD_BYTES;
  const h = leader({ committedBytesPerReadyMax: 2 * entryBytes });
  const first = h.node.raft.raftLog.lastIndex() + 1;
  h.node.propose([1, 2, 3, 4, 5].map((i) => bytes(50, i)));
  const readies = stabilize(h);
  const batches = readies.map((rd) => rd.committedEntries.map((e) => e.index)).filter((b) => b.length > 0);
  assert.deepEqual(batches, [[first, first + 1], [first + 2, first + 3], [first + 4]]);
  for (const rd of readies) {
    const total = rd.committedEntries.reduce((s, e) => s + e.data.length + ENTRY_OVERHEAD_BYTES, 0);
    assert.ok(total <= 2 * entryBytes || rd.committedEntries.length === 1, `Ready over the limit: ${total}`);
  }
  assert.deepEqual(h.applied.slice(-5).map((e) => e.data[0]), [1, 2, 3, 4, 5], 'applied once each, in order');
});

test('raw-node: a single committed entry larger than committedBytesPerReadyMax is still handed out', () => {
  const h = leader({ committedBytesPerReadyMax: 10 });
  h.node.propose(bytes(100));
  stabilize(h);
  assert.equal(h.applied.at(-1)!.data.length, 100);
});

test('raw-node: uncommittedBytesMax drops proposals past the limit until the tail commits', () => {
  const h = leader({ uncommittedBytesMax: 100 });
  const last = (): number => h.node.raft.raftLog.lastIndex();
  const before = last();
  h.node.propose(bytes(60)); // 60
  dropped(() => h.node.propose(bytes(60))); // 120 > 100
  dropped(() => h.node.propose([bytes(30), bytes(30)])); // a batch is dropped whole
  assert.equal(last(), before + 1, 'dropped proposals are not in the log');
  h.node.propose(new Uint8Array()); // an empty payload always passes
  h.node.propose(bytes(40)); // exactly 100: allowed
  dropped(() => h.node.propose(bytes(1)));
  assert.equal(last(), before + 3);
  stabilize(h); // commit and apply releases the budget
  h.node.propose(bytes(60));
  h.node.propose(bytes(40));
  dropped(() => h.node.propose(bytes(1)));
});

test('raw-node: one proposal larger than uncommittedBytesMax is accepted when the tail is empty', () => {
  const h = leader({ uncommittedBytesMax: 100 });
  h.node.propose(bytes(500));
  dropped(() => h.node.propose(bytes(1)));
  stabilize(h);
  h.node.propose(bytes(1));
});

test('raw-node: a follower without a leader drops proposals and reads; with one it forwards them', () => {
  const h = start({ id: 1, voters: [1, 2, 3] });
  dropped(() => h.node.propose(text('p')));
  dropped(() => h.node.readIndex('r'));
  assert.equal(h.node.hasReady(), false, 'a dropped proposal leaves nothing behind');
  h.node.step({ type: 'MsgHeartbeat', from: n(2), to: n(1), term: 1, commit: 0, context: '', sentTick: 0 });
  stabilize(h);
  assert.equal(h.node.leader(), 2);
  h.node.propose(text('p'));
  const rd = handle(h);
  assert.deepEqual(rd.messages.map((m) => `${m.type} ${m.from}->${m.to} term=${m.term}`), ['MsgProp 1->2 term=0']);
  assert.equal(rd.entries.length, 0, 'a follower does not append its own proposals');

  const noForward = start({ id: 1, voters: [1, 2, 3], config: { disableProposalForwarding: true } });
  noForward.node.step({ type: 'MsgHeartbeat', from: n(2), to: n(1), term: 1, commit: 0, context: '', sentTick: 0 });
  stabilize(noForward);
  dropped(() => noForward.node.propose(text('p')));
});

test('raw-node: a candidate drops proposals', () => {
  const h = start({ id: 1, voters: [1, 2, 3], config: { preVote: false } });
  h.node.campaign();
  assert.equal(h.node.raft.role, 'candidate');
  dropped(() => h.node.propose(text('p')));
});

test('raw-node: restart from MemoryStorage restores term, vote, commit and configuration', () => {
  const h = leader();
  h.node.propose(text('a'));
  stabilize(h);
  h.node.proposeConfChange({
    transition: ConfChangeTransition.Auto,
    changes: [{ type: ConfChangeType.AddLearner, nodeId: n(2) }],
    context: new Uint8Array(),
  });
  stabilize(h);
  const confState = h.node.status().config;
  assert.deepEqual(confState, { voters: [1], votersOutgoing: [], learners: [2], learnersNext: [], autoLeave: false });
  const snapIndex = h.node.raft.raftLog.applied;
  h.storage.createSnapshot(snapIndex, confState, text('state'));
  h.node.propose(text('b'));
  stabilize(h);
  const { term, vote, commit } = h.node.status().hardState;
  assert.deepEqual(h.storage.initialState().hardState, { term, vote, commit });

  // Restart: the state machine has applied up to the snapshot only.
  const r = start({ storage: h.storage, config: { applied: snapIndex } });
  assert.deepEqual(r.node.status().hardState, { term, vote: 1, commit });
  assert.deepEqual(r.node.status().config, confState);
  assert.equal(r.node.raft.role, 'follower');
  assert.equal(r.node.raft.raftLog.lastIndex(), h.node.raft.raftLog.lastIndex());
  const rd = handle(r);
  assert.equal(rd.hardState, undefined, 'nothing new to persist');
  assert.equal(rd.softState, undefined);
  assert.equal(rd.mustSync, false);
  assert.deepEqual(rd.committedEntries.map(textOf), ['b'], 'committed but unapplied entries are handed out again');
  assert.equal(r.node.hasReady(), false);
  // The restarted node campaigns in a new term and keeps committing after its log.
  r.node.campaign();
  stabilize(r);
  assert.equal(r.node.raft.role, 'leader');
  assert.equal(r.node.raft.term, term + 1);
  r.node.propose(text('c'));
  stabilize(r);
  assert.equal(textOf(r.applied.at(-1)!), 'c');
  assert.equal(r.applied.at(-1)!.index, commit + 2, 'after the no-op of the new term');
});

test('raw-node: a vote survives a restart (no second vote in the same term)', () => {
  const h = start({ id: 1, voters: [1, 2, 3], config: { preVote: false } });
  h.node.step({ type: 'MsgVote', from: n(2), to: n(1), term: 4, logTerm: 0, index: 0, transfer: false });
  stabilize(h);
  assert.deepEqual(h.storage.initialState().hardState, { term: 4, vote: 2, commit: 0 });
  const r = start({ id: 1, storage: h.storage, config: { preVote: false } });
  r.node.step({ type: 'MsgVote', from: n(3), to: n(1), term: 4, logTerm: 0, index: 0, transfer: false });
  const rd = handle(r);
  const resp = rd.messages.find((m) => m.type === 'MsgVoteResp');
  assert.ok(resp && resp.type === 'MsgVoteResp');
  assert.equal(resp.reject, true, 'already voted for 2 in term 4');
  assert.equal(rd.hardState, undefined);
});
