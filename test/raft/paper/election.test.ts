/**
 * Tests tied to sentences of the Raft paper (Ongaro & Ousterhout, "In Search of an Understandable
 * Consensus Algorithm (Extended Version)"): §5.1 terms, §5.2 leader election, §5.4.1 election
 * restriction. Each test quotes the sentence it checks. Modelled on etcd-io/raft's
 * raft_paper_test.go: set up a node's state, step messages or ticks, check messages and state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Network, TestNode, describeAll, entriesOfTerms, entry, id, idsBySize, msgApp, msgHeartbeat,
  msgVote, msgVoteResp, ofType, sortByTo, NONE,
} from '../network.js';
import type { Role } from '../../../src/raft/types.js';

const PEERS = idsBySize(3);
const ELECTION_TICKS = 10;

function nodeInRole(role: Role): TestNode {
  const n = new TestNode(id(1), { peers: PEERS });
  if (role === 'candidate' || role === 'leader') {
    n.node.campaign();
    n.flush();
    assert.equal(n.role, 'candidate');
  }
  if (role === 'leader') {
    n.node.step(msgVoteResp({ from: 2, to: 1, term: n.term, reject: false }));
    n.flush();
    assert.equal(n.role, 'leader');
  }
  if (role === 'follower') {
    n.node.step(msgHeartbeat({ from: 2, to: 1, term: 1 }));
    n.flush();
    assert.equal(n.role, 'follower');
  }
  return n;
}

for (const role of ['follower', 'candidate', 'leader'] as const) {
  // "Current terms are exchanged whenever servers communicate; if one server's current term is
  // smaller than the other's, then it updates its current term to the larger value. If a
  // candidate or leader discovers that its term is out of date, it immediately reverts to
  // follower state." (§5.1)
  test(`§5.1: a ${role} that sees a larger term adopts it and reverts to follower`, () => {
    const n = nodeInRole(role);
    assert.equal(n.term, 1);
    n.stepAndFlush(msgApp({ from: 2, to: 1, term: 2, logTerm: 0, index: 0 }));
    assert.equal(n.term, 2);
    assert.equal(n.role, 'follower');
    assert.equal(n.lead, id(2), 'the sender of an AppendEntries at the new term is the leader');
    assert.equal(n.storage.initialState().hardState.term, 2, 'the new term is persisted');
  });
}

// "If a server receives a request with a stale term number, it rejects the request." (§5.1)
test('§5.1: if a server receives a request with a stale term number, it rejects the request', () => {
  const n = new TestNode(id(1), {
    peers: PEERS, log: [entry(1, 1)], hardState: { term: 2, vote: NONE, commit: 0 },
  });
  n.flush();
  // A deposed leader of term 1 tries to append and to advance the commit index.
  const replies = n.stepAndFlush(msgApp({ from: 2, to: 1, term: 1, logTerm: 1, index: 1, entries: [entry(1, 2)], commit: 2 }));
  assert.equal(n.lastIndex, 1, 'the stale AppendEntries must not append');
  assert.equal(n.committed, 0, 'the stale AppendEntries must not advance the commit index');
  assert.equal(n.term, 2);
  assert.equal(n.lead, NONE, 'a stale sender is not recognised as leader');
  for (const m of replies) {
    assert.ok(m.term >= 2, `a reply to a stale request carries the current term: ${describeAll([m])}`);
    if (m.type === 'MsgAppResp') assert.ok(m.term > 1, 'never an acceptance at the stale term');
  }
  // The deposed leader is told the current term, so it steps down, also without PreVote and
  // CheckQuorum (the defaults here): a member whose configuration is stale may never send it a
  // vote request that would carry the term instead.
  assert.ok(ofType(replies, 'MsgAppResp').some((m) => m.to === 2 && m.term === 2), `the stale leader learns term 2: ${describeAll(replies)}`);
  // A stale RequestVote is not granted either.
  const voteReplies = n.stepAndFlush(msgVote({ from: 3, to: 1, term: 1, logTerm: 1, index: 5 }));
  assert.equal(n.vote, NONE, 'no vote cast for a stale candidate');
  for (const m of ofType(voteReplies, 'MsgVoteResp')) assert.ok(m.reject || m.term > 1, describeAll([m]));
});

// "When servers start up, they begin as followers." (§5.2)
test('§5.2: when servers start up, they begin as followers', () => {
  assert.equal(new TestNode(id(1), { peers: PEERS }).role, 'follower');
  const restarted = new TestNode(id(1), { peers: PEERS, log: [entry(3, 1)], hardState: { term: 5, vote: id(1), commit: 1 } });
  assert.equal(restarted.role, 'follower', 'a restarted former leader/candidate starts as follower');
  assert.equal(restarted.term, 5);
  assert.equal(restarted.vote, id(1), 'the persisted vote is kept');
});

// "Leaders send periodic heartbeats (AppendEntries RPCs that carry no log entries) to all
// followers in order to maintain their authority." (§5.2)
test('§5.2: leaders send periodic heartbeats to all followers', () => {
  const n = nodeInRole('leader');
  const msgs = sortByTo(ofType(n.tick(1), 'MsgHeartbeat'));
  assert.deepEqual(msgs.map((m) => [m.from, m.to, m.term]), [[1, 2, 1], [1, 3, 1]], describeAll(msgs));
});

// "A server remains in follower state as long as it receives valid RPCs from a leader or
// candidate." (§5.2)
test('§5.2: a follower that keeps hearing from the leader never starts an election', () => {
  const net = Network.ofSize(3);
  net.campaign(1);
  assert.equal(net.node(1).role, 'leader');
  for (let t = 0; t < 10 * ELECTION_TICKS; t++) {
    net.tickAll();
    net.stabilize();
  }
  assert.equal(net.node(1).role, 'leader');
  for (const n of net.nodes.values()) assert.equal(n.term, 1, `node ${n.id} changed term`);
});

for (const start of ['follower', 'candidate'] as const) {
  // "If a follower receives no communication over a period of time called the election timeout,
  // then it assumes there is no viable leader and begins an election to choose a new leader. To
  // begin an election, a follower increments its current term and transitions to candidate state.
  // It then votes for itself and issues RequestVote RPCs in parallel to each of the other servers
  // in the cluster." ... "each candidate ... times out and starts a new election by incrementing
  // its term and initiating another round of RequestVote RPCs." (§5.2)
  test(`§5.2: ${start === 'follower' ? 'followers' : 'candidates that get no majority'} increment term and become candidates after election timeout`, () => {
    const n = new TestNode(id(1), {
      peers: PEERS, log: entriesOfTerms([1, 1]), hardState: { term: 1, vote: NONE, commit: 0 },
    });
    n.flush();
    if (start === 'candidate') {
      n.node.campaign();
      n.flush();
      assert.equal(n.term, 2);
    }
    const termBefore = n.term;
    let ticks = 0;
    let msgs: ReturnType<TestNode['tick']> = [];
    while (msgs.length === 0 && ticks < 3 * ELECTION_TICKS) {
      msgs = n.tick(1);
      ticks++;
    }
    assert.ok(ticks >= ELECTION_TICKS && ticks < 2 * ELECTION_TICKS, `timed out after ${ticks} ticks, want [e, 2e)`);
    assert.equal(n.term, termBefore + 1);
    assert.equal(n.role, 'candidate');
    assert.equal(n.vote, id(1), 'the candidate votes for itself');
    assert.equal(n.storage.initialState().hardState.vote, id(1), 'the self-vote is persisted');
    const votes = sortByTo(msgs);
    assert.deepEqual(votes.map((m) => [m.type, m.to, m.term]), [['MsgVote', 2, termBefore + 1], ['MsgVote', 3, termBefore + 1]], describeAll(msgs));
    for (const m of ofType(votes, 'MsgVote')) assert.deepEqual([m.logTerm, m.index], [1, 2], 'RequestVote carries the last log term and index');
  });
}

// "A candidate wins an election if it receives votes from a majority of the servers in the full
// cluster for the same term." ... "a candidate ... continues in this state until ... (a) it wins
// the election, (b) another server establishes itself as leader, or (c) a period of time goes by
// with no winner." (§5.2)
test('§5.2: candidate wins with votes from a majority', () => {
  const cases: { size: number; votes: Record<number, boolean>; want: 'leader' | 'candidate' | 'lost' }[] = [
    { size: 1, votes: {}, want: 'leader' },
    { size: 3, votes: { 2: true, 3: true }, want: 'leader' },
    { size: 3, votes: { 2: true }, want: 'leader' },
    { size: 5, votes: { 2: true, 3: true, 4: true, 5: true }, want: 'leader' },
    { size: 5, votes: { 2: true, 3: true, 4: true }, want: 'leader' },
    { size: 5, votes: { 2: true, 3: true }, want: 'leader' },
    { size: 3, votes: { 2: false, 3: false }, want: 'lost' },
    { size: 5, votes: { 2: false, 3: false, 4: false, 5: false }, want: 'lost' },
    { size: 5, votes: { 2: true, 3: false, 4: false, 5: false }, want: 'lost' },
    { size: 3, votes: {}, want: 'candidate' },
    { size: 5, votes: { 2: true }, want: 'candidate' },
    { size: 5, votes: { 2: false, 3: false }, want: 'candidate' },
    { size: 5, votes: {}, want: 'candidate' },
    { size: 4, votes: { 2: true }, want: 'candidate' }, // 2 of 4 is not a majority
    { size: 4, votes: { 2: true, 3: true }, want: 'leader' },
  ];
  for (const c of cases) {
    const label = `size ${c.size} votes ${JSON.stringify(c.votes)}`;
    const n = new TestNode(id(1), { peers: idsBySize(c.size) });
    n.node.campaign();
    n.flush();
    for (const [from, granted] of Object.entries(c.votes)) {
      n.node.step(msgVoteResp({ from: Number(from), to: 1, term: n.term, reject: !granted }));
    }
    n.flush();
    assert.equal(n.term, 1, label);
    if (c.want === 'lost') assert.notEqual(n.role, 'leader', label);
    else assert.equal(n.role, c.want, label);
  }
});

// "Each server will vote for at most one candidate in a given term, on a first-come-first-served
// basis." (§5.2)
test('§5.2: each server votes for at most one candidate in a given term, first-come-first-served', () => {
  const cases = [
    { vote: NONE, candidate: 2, reject: false },
    { vote: NONE, candidate: 3, reject: false },
    { vote: id(2), candidate: 2, reject: false },
    { vote: id(3), candidate: 3, reject: false },
    { vote: id(2), candidate: 3, reject: true },
    { vote: id(3), candidate: 2, reject: true },
  ];
  for (const c of cases) {
    const n = new TestNode(id(1), { peers: PEERS, hardState: { term: 1, vote: c.vote, commit: 0 } });
    n.flush();
    const out = n.stepAndFlush(msgVote({ from: c.candidate, to: 1, term: 1, logTerm: 0, index: 0 }));
    const resp = ofType(out, 'MsgVoteResp');
    assert.equal(resp.length, 1, describeAll(out));
    assert.deepEqual([resp[0]!.to, resp[0]!.term, resp[0]!.reject], [c.candidate, 1, c.reject], JSON.stringify(c));
    assert.equal(n.vote, c.reject ? c.vote : id(c.candidate));
  }
  // Two candidates in the same term, one after the other: only the first gets the vote.
  const n = new TestNode(id(1), { peers: PEERS });
  const first = ofType(n.stepAndFlush(msgVote({ from: 2, to: 1, term: 1, logTerm: 0, index: 0 })), 'MsgVoteResp');
  const second = ofType(n.stepAndFlush(msgVote({ from: 3, to: 1, term: 1, logTerm: 0, index: 0 })), 'MsgVoteResp');
  assert.deepEqual([first[0]?.reject, second[0]?.reject], [false, true]);
});

// "While waiting for votes, a candidate may receive an AppendEntries RPC from another server
// claiming to be leader. If the leader's term (included in its RPC) is at least as large as the
// candidate's current term, then the candidate recognizes the leader as legitimate and returns to
// follower state." (§5.2)
test('§5.2: a candidate that hears from a leader of at least its term returns to follower', () => {
  for (const term of [1, 2]) {
    const n = nodeInRole('candidate');
    n.stepAndFlush(msgApp({ from: 2, to: 1, term, logTerm: 0, index: 0 }));
    assert.equal(n.role, 'follower', `term ${term}`);
    assert.equal(n.term, term);
    assert.equal(n.lead, id(2));
  }
  // "If the term in the RPC is smaller than the candidate's current term, then the candidate
  // rejects the RPC and continues in candidate state."
  const n = nodeInRole('candidate');
  n.node.campaign(); // term 2
  n.flush();
  n.stepAndFlush(msgApp({ from: 2, to: 1, term: 1, logTerm: 0, index: 0 }));
  assert.equal(n.role, 'candidate');
  assert.equal(n.term, 2);
});

/** ticksToTimeout ticks `n` until it sends something (its election) and returns the tick count. */
function ticksToTimeout(n: TestNode): number {
  for (let ticks = 1; ticks <= 4 * ELECTION_TICKS; ticks++) {
    n.node.tick();
    if (n.flush().length > 0) return ticks;
  }
  assert.fail(`node ${n.id} never timed out`);
}

// "Raft uses randomized election timeouts to ensure that split votes are rare ... election
// timeouts are chosen randomly from a fixed interval (e.g., 150–300ms). This spreads out the
// servers so that in most cases only a single server will time out." (§5.2)
test('§5.2: randomized election timeouts spread elections', () => {
  // One node draws every timeout in [e, 2e) over many rounds, and nothing outside it.
  const n = new TestNode(id(1), { peers: PEERS });
  const seen = new Set<number>();
  for (let round = 0; round < 50 * ELECTION_TICKS; round++) {
    n.stepAndFlush(msgHeartbeat({ from: 2, to: 1, term: n.term + 1 })); // follower again, at a new term
    seen.add(ticksToTimeout(n));
  }
  const want = Array.from({ length: ELECTION_TICKS }, (_, i) => ELECTION_TICKS + i);
  assert.deepEqual([...seen].sort((a, b) => a - b), want);

  // Different nodes draw different timeouts: among 5 followers of a leader that went silent,
  // in most rounds only one times out first (etcd's bound: conflicts in at most 30% of rounds).
  const size = 5;
  const nodes = idsBySize(size).map((p) => new TestNode(p, { peers: idsBySize(size) }));
  const rounds = 300;
  let conflicts = 0;
  const firstTimeouts = new Set<string>();
  for (let round = 0; round < rounds; round++) {
    const term = Math.max(...nodes.map((x) => x.term)) + 1;
    for (const x of nodes) x.stepAndFlush(msgHeartbeat({ from: x.id === id(1) ? 2 : 1, to: x.id, term }));
    let timedOut: number[] = [];
    for (let tick = 0; timedOut.length === 0; tick++) {
      assert.ok(tick < 4 * ELECTION_TICKS, 'no node timed out');
      for (const x of nodes) {
        x.node.tick();
        if (x.flush().length > 0) timedOut.push(x.id);
      }
    }
    if (timedOut.length > 1) conflicts++;
    if (round < 20) firstTimeouts.add(timedOut.join(','));
  }
  assert.ok(conflicts / rounds <= 0.3, `${conflicts}/${rounds} rounds had simultaneous timeouts`);
  assert.ok(firstTimeouts.size > 1, 'the same node(s) always time out first: timeouts are not drawn per node');
});

// "Raft uses the voting process to prevent a candidate from winning an election unless its log
// contains all committed entries. ... The RequestVote RPC implements this restriction: the RPC
// includes information about the candidate's log, and the voter denies its vote if its own log
// is more up-to-date than that of the candidate. Raft determines which of two logs is more
// up-to-date by comparing the index and term of the last entries in the logs. If the logs have
// last entries with different terms, then the log with the later term is more up-to-date. If the
// logs end with the same term, then whichever log is longer is more up-to-date." (§5.4.1)
test('§5.4.1: voter denies vote if its own log is more up-to-date', () => {
  const cases: { log: number[]; logTerm: number; index: number; reject: boolean }[] = [
    // same last term
    { log: [1], logTerm: 1, index: 1, reject: false },
    { log: [1], logTerm: 1, index: 2, reject: false },
    { log: [1, 1], logTerm: 1, index: 1, reject: true },
    // candidate has the later last term
    { log: [1], logTerm: 2, index: 1, reject: false },
    { log: [1], logTerm: 2, index: 2, reject: false },
    { log: [1, 1], logTerm: 2, index: 1, reject: false },
    // voter has the later last term
    { log: [2], logTerm: 1, index: 1, reject: true },
    { log: [2], logTerm: 1, index: 2, reject: true },
    { log: [2, 1], logTerm: 1, index: 1, reject: true },
    { log: [1, 2], logTerm: 1, index: 5, reject: true }, // longer, but ends in an older term
  ];
  for (const c of cases) {
    const n = new TestNode(id(1), { peers: PEERS, log: entriesOfTerms(c.log), hardState: { term: 2, vote: NONE, commit: 0 } });
    n.flush();
    const out = ofType(n.stepAndFlush(msgVote({ from: 2, to: 1, term: 3, logTerm: c.logTerm, index: c.index })), 'MsgVoteResp');
    assert.equal(out.length, 1, JSON.stringify(c));
    assert.equal(out[0]!.reject, c.reject, JSON.stringify(c));
    assert.equal(out[0]!.term, 3, JSON.stringify(c));
    assert.equal(n.vote, c.reject ? NONE : id(2), JSON.stringify(c));
  }
});

// "Raft uses the voting process to prevent a candidate from winning an election unless its log
// contains all committed entries. A candidate must contact a majority of the cluster in order to
// be elected, which means that every committed entry must be present in at least one of those
// servers." (§5.4.1)
test('§5.4.1: a candidate whose log lacks a committed entry cannot win; one that has it can', () => {
  const net = Network.ofSize(3);
  net.campaign(1);
  net.isolate(3);
  net.propose(1, 'committed-while-3-was-away');
  assert.equal(net.node(2).committed, net.node(1).lastIndex);
  assert.ok(net.node(3).lastIndex < net.node(1).lastIndex);
  net.heal();
  net.isolate(1); // the old leader is gone; 2 and 3 can talk
  net.campaign(3);
  assert.notEqual(net.node(3).role, 'leader', 'node 3 lacks a committed entry and must not be elected');
  net.campaign(2);
  assert.equal(net.node(2).role, 'leader');
  assert.ok(net.node(2).log().some((e) => new TextDecoder().decode(e.data) === 'committed-while-3-was-away'));
  assert.deepEqual(net.node(3).log().map((e) => [e.term, e.index]).slice(0, 3), net.node(2).log().map((e) => [e.term, e.index]).slice(0, 3));
});
