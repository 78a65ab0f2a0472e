/**
 * Property tests of the quorum math (src/raft/quorum) against naive references written here:
 * - committedIndex: the largest index i such that more than half the voters acked >= i
 *   (a missing ack counts as 0); the empty config commits everything (+Infinity);
 * - voteResult: brute force over every way the missing votes could still arrive: won when every
 *   completion wins, lost when none does, pending otherwise; the empty config always wins;
 * - the joint config needs both halves: committed = min of both, won only if both win.
 * fast-check prints the seed and the shrunk counterexample of any failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MajorityConfig, VoteResult } from '../../src/raft/quorum/majority.js';
import { JointConfig } from '../../src/raft/quorum/joint.js';
import type { LogIndex, NodeId } from '../../src/raft/types.js';

const RUNS = 1000;
/** Ids are drawn from a small range so that configs overlap and votes/acks hit non-voters too. */
const ID_MAX = 12;

const idArb = fc.integer({ min: 1, max: ID_MAX }).map((n) => n as NodeId);
/** A voter list of 0-9 entries; duplicates are allowed and must count once. */
const votersArb = fc.array(idArb, { minLength: 0, maxLength: 9 });
/** Acks for any id (voter or not); an id left out of the record is a missing ack. */
const acksArb = fc.dictionary(
  fc.integer({ min: 1, max: ID_MAX }).map(String),
  fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constant(undefined)),
);
const votesArb = fc.dictionary(fc.integer({ min: 1, max: ID_MAX }).map(String), fc.boolean());

type Acks = Record<string, number | undefined>;

function indexer(acks: Acks): (id: NodeId) => LogIndex | undefined {
  return (id) => acks[String(id)];
}

function voteMap(votes: Record<string, boolean>): Map<NodeId, boolean> {
  return new Map(Object.entries(votes).map(([k, v]) => [Number(k) as NodeId, v]));
}

/** refCommitted: the largest i such that more than half of `voters` acked >= i. */
function refCommitted(voters: readonly NodeId[], acks: Acks): number {
  const unique = [...new Set(voters)];
  if (unique.length === 0) return Number.POSITIVE_INFINITY;
  const ackOf = (id: NodeId): number => acks[String(id)] ?? 0;
  const top = Math.max(...unique.map(ackOf));
  for (let i = top; i >= 0; i--) {
    const count = unique.filter((id) => ackOf(id) >= i).length;
    if (2 * count > unique.length) return i;
  }
  assert.fail('unreachable: every voter acked >= 0');
}

/**
 * refVote: enumerates every completion of the missing votes of all `halves` (each a voter list)
 * and asks "does every half have more than half its voters granting?". Empty halves always win.
 */
function refVote(halves: readonly (readonly NodeId[])[], votes: Record<string, boolean>): VoteResult {
  const sets = halves.map((h) => [...new Set(h)]);
  const all = [...new Set(sets.flat())];
  const missing = all.filter((id) => votes[String(id)] === undefined);
  let wins = 0;
  const completions = 2 ** missing.length;
  for (let mask = 0; mask < completions; mask++) {
    const voteOf = (id: NodeId): boolean => {
      const j = missing.indexOf(id);
      return j >= 0 ? (mask & (1 << j)) !== 0 : votes[String(id)]!;
    };
    const won = sets.every((s) => s.length === 0 || 2 * s.filter(voteOf).length > s.length);
    if (won) wins++;
  }
  if (wins === completions) return VoteResult.Won;
  if (wins === 0) return VoteResult.Lost;
  return VoteResult.Pending;
}

test('quorum: MajorityConfig.committedIndex equals the naive largest majority-acked index', () => {
  fc.assert(
    fc.property(votersArb, acksArb, acksArb, (voters, acks, later) => {
      const config = new MajorityConfig(voters);
      assert.equal(config.committedIndex(indexer(acks)), refCommitted(voters, acks));
      // The same config again with other acknowledgements (its scratch space is reused).
      assert.equal(config.committedIndex(indexer(later)), refCommitted(voters, later));
    }),
    { numRuns: RUNS },
  );
});

test('quorum: MajorityConfig.voteResult equals brute-force counting over missing votes', () => {
  fc.assert(
    fc.property(votersArb, votesArb, (voters, votes) => {
      const got = new MajorityConfig(voters).voteResult(voteMap(votes));
      assert.equal(got, refVote([voters], votes));
    }),
    { numRuns: RUNS },
  );
});

test('quorum: JointConfig.committedIndex is the min of both halves (naive reference)', () => {
  fc.assert(
    fc.property(votersArb, votersArb, acksArb, (incoming, outgoing, acks) => {
      const joint = new JointConfig(new MajorityConfig(incoming), new MajorityConfig(outgoing));
      const got = joint.committedIndex(indexer(acks));
      assert.equal(got, Math.min(refCommitted(incoming, acks), refCommitted(outgoing, acks)));
      assert.equal(joint.isJoint, new Set(outgoing).size > 0);
      assert.deepEqual([...joint.ids()].sort((a, b) => a - b), [...new Set([...incoming, ...outgoing])].sort((a, b) => a - b));
    }),
    { numRuns: RUNS },
  );
});

test('quorum: JointConfig.voteResult wins only if both halves win (brute force over missing votes)', () => {
  fc.assert(
    fc.property(votersArb, votersArb, votesArb, (incoming, outgoing, votes) => {
      const joint = new JointConfig(new MajorityConfig(incoming), new MajorityConfig(outgoing));
      assert.equal(joint.voteResult(voteMap(votes)), refVote([incoming, outgoing], votes));
    }),
    { numRuns: RUNS },
  );
});

test('quorum: a joint config with an empty outgoing half behaves exactly like its incoming half', () => {
  fc.assert(
    fc.property(votersArb, acksArb, votesArb, (voters, acks, votes) => {
      const single = new MajorityConfig(voters);
      const joint = new JointConfig(new MajorityConfig(voters));
      assert.equal(joint.committedIndex(indexer(acks)), single.committedIndex(indexer(acks)));
      assert.equal(joint.voteResult(voteMap(votes)), single.voteResult(voteMap(votes)));
      assert.equal(joint.toString(), single.toString());
    }),
    { numRuns: RUNS },
  );
});

test('quorum: committedIndex never decreases when acks grow', () => {
  fc.assert(
    fc.property(votersArb, acksArb, acksArb, (voters, before, bump) => {
      const after: Acks = { ...before };
      for (const [k, v] of Object.entries(bump)) after[k] = (before[k] ?? 0) + (v ?? 0);
      const cfg = new MajorityConfig(voters);
      assert.ok(cfg.committedIndex(indexer(after)) >= cfg.committedIndex(indexer(before)));
    }),
    { numRuns: RUNS },
  );
});

// Hand-picked examples (several from etcd-io/raft quorum/testdata).
const ids = (...xs: number[]): NodeId[] => xs as NodeId[];
const acked = (m: Record<number, number>): ((id: NodeId) => LogIndex | undefined) => (id) => m[id];

test('quorum: committedIndex hand-picked examples', () => {
  const cases: [NodeId[], Record<number, number>, number][] = [
    [ids(), {}, Number.POSITIVE_INFINITY],
    [ids(1), {}, 0],
    [ids(1), { 1: 12 }, 12],
    [ids(1, 2), { 1: 12 }, 0],
    [ids(1, 2), { 1: 12, 2: 5 }, 5],
    [ids(1, 2, 3), { 1: 100, 2: 101, 3: 99 }, 100],
    [ids(1, 2, 3), { 1: 100, 2: 101 }, 100],
    [ids(1, 2, 3), { 1: 100 }, 0],
    [ids(1, 2, 3, 4), { 1: 10, 2: 20, 3: 30, 4: 40 }, 20],
    [ids(1, 2, 3, 4, 5), { 1: 5, 2: 4, 3: 3, 4: 2, 5: 1 }, 3],
    [ids(1, 2, 3), { 1: 7, 2: 7, 3: 7, 9: 1000 }, 7], // a non-voter's ack does not count
  ];
  for (const [voters, acks, want] of cases) {
    assert.equal(new MajorityConfig(voters).committedIndex(acked(acks)), want, `voters ${voters} acks ${JSON.stringify(acks)}`);
  }
  const joint = new JointConfig(new MajorityConfig(ids(1, 2, 3)), new MajorityConfig(ids(3, 4, 5)));
  assert.equal(joint.committedIndex(acked({ 1: 9, 2: 9, 3: 4, 4: 5, 5: 5 })), 5);
  assert.equal(joint.committedIndex(acked({ 1: 9, 2: 9, 3: 9 })), 0);
  assert.equal(joint.committedIndex(acked({ 1: 9, 2: 9, 3: 9, 4: 9 })), 9);
  assert.equal(joint.toString(), '(1 2 3)&&(3 4 5)');
});

test('quorum: voteResult hand-picked examples', () => {
  const v = (m: Record<number, boolean>): Map<NodeId, boolean> =>
    new Map(Object.entries(m).map(([k, b]) => [Number(k) as NodeId, b]));
  const { Won, Lost, Pending } = VoteResult;
  const cases: [NodeId[], Record<number, boolean>, VoteResult][] = [
    [ids(), {}, Won],
    [ids(1), {}, Pending],
    [ids(1), { 1: true }, Won],
    [ids(1), { 1: false }, Lost],
    [ids(1, 2, 3), { 1: true }, Pending],
    [ids(1, 2, 3), { 1: true, 2: true }, Won],
    [ids(1, 2, 3), { 1: false, 2: false }, Lost],
    [ids(1, 2, 3), { 1: true, 2: false }, Pending],
    [ids(1, 2, 3, 4), { 1: true, 2: true, 3: false }, Pending],
    [ids(1, 2, 3, 4), { 1: true, 2: false, 3: false }, Lost],
    [ids(1, 2, 3, 4), { 1: true, 2: true, 4: true }, Won],
    [ids(1, 2, 3), { 1: true, 7: true, 8: true }, Pending], // non-voters' votes do not count
  ];
  for (const [voters, votes, want] of cases) {
    assert.equal(new MajorityConfig(voters).voteResult(v(votes)), want, `voters ${voters} votes ${JSON.stringify(votes)}`);
  }
  const joint = new JointConfig(new MajorityConfig(ids(1, 2, 3)), new MajorityConfig(ids(4, 5, 6)));
  assert.equal(joint.voteResult(v({ 1: true, 2: true })), Pending); // incoming won, outgoing pending
  assert.equal(joint.voteResult(v({ 1: true, 2: true, 4: false, 5: false })), Lost); // outgoing lost
  assert.equal(joint.voteResult(v({ 1: true, 2: true, 4: true, 6: true })), Won);
  assert.equal(joint.voteResult(v({ 1: false, 2: false, 4: true, 5: true })), Lost); // incoming lost
});
