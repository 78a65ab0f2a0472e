/**
 * Tests tied to sentences of the Raft paper: §5.3 log replication (with the AppendEntries rules of
 * Figure 2), §5.4.2 committing entries from previous terms, and §8's no-op at the start of a term.
 * Each test quotes the sentence it checks (etcd-io/raft raft_paper_test.go style).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Network, TestNode, acceptReply, acceptUntilQuiet, commitNoop, describeAll, electedLeader, entriesOfTerms, entry,
  id, idsBySize, msgApp, msgAppResp, ofType, sortByTo, text, NONE,
} from '../network.js';
import { EntryType, type Entry } from '../../../src/raft/types.js';

const PEERS = idsBySize(3);
const encode = (s: string): Uint8Array => new TextEncoder().encode(s);
const brief = (es: readonly Entry[]): string[] => es.map((e) => `${e.term}/${e.index}${e.data.byteLength ? ' ' + text(e) : ''}`);

// "Once a leader has been elected, it begins servicing client requests. Each client request
// contains a command to be executed by the replicated state machines. The leader appends the
// command to its log as a new entry, then issues AppendEntries RPCs in parallel to each of the
// other servers to replicate the entry." ... "When sending an AppendEntries RPC, the leader
// includes the index and term of the entry in its log that immediately precedes the new
// entries." ... "A log entry is committed once the leader that created the entry has replicated
// it on a majority of the servers." (§5.3)
test('§5.3: leader appends, replicates, commits when replicated on a majority', () => {
  const { leader, msgs } = electedLeader(1, PEERS);
  commitNoop(leader, msgs);
  const li = leader.lastIndex;

  leader.node.propose(encode('some data'));
  const out = sortByTo(ofType(leader.flush(), 'MsgApp'));
  assert.equal(leader.lastIndex, li + 1, 'the leader appends the command to its log');
  assert.equal(leader.committed, li, 'not committed before a majority has it');
  assert.deepEqual(brief(leader.log().slice(-1)), [`1/${li + 1} some data`], 'the new entry is persisted');
  assert.deepEqual(out.map((m) => [m.to, m.term, m.logTerm, m.index, brief(m.entries)]), [
    [2, 1, 1, li, [`1/${li + 1} some data`]],
    [3, 1, 1, li, [`1/${li + 1} some data`]],
  ], describeAll(out));

  leader.node.step(acceptReply(out[0]!));
  const after = leader.flush();
  assert.equal(leader.committed, li + 1, 'committed once on a majority (leader + 1 of 3)');
  assert.deepEqual(brief(leader.applied.slice(-1)), [`1/${li + 1} some data`], 'handed to the state machine');
  // "The leader keeps track of the highest index it knows to be committed, and it includes that
  // index in future AppendEntries RPCs (including heartbeats) so that the other servers
  // eventually find out."
  const later = [...after, ...leader.tick(1)];
  for (const to of [2, 3]) {
    const commits = later.filter((m) => m.to === to && (m.type === 'MsgApp' || m.type === 'MsgHeartbeat'))
      .map((m) => (m.type === 'MsgApp' || m.type === 'MsgHeartbeat' ? m.commit : -1));
    assert.ok(commits.length > 0, `nothing sent to ${to}: ${describeAll(later)}`);
    if (to === 2) assert.ok(commits.includes(li + 1), `follower 2 (which has the entry) learns commit ${li + 1}: ${describeAll(later)}`);
  }
});

// "A log entry is committed once the leader that created the entry has replicated it on a
// majority of the servers." (§5.3)
test('§5.3: an entry commits exactly when a majority (leader included) has it', () => {
  const cases: { size: number; acceptors: number[]; commits: boolean }[] = [
    { size: 1, acceptors: [], commits: true },
    { size: 3, acceptors: [], commits: false },
    { size: 3, acceptors: [2], commits: true },
    { size: 3, acceptors: [2, 3], commits: true },
    { size: 4, acceptors: [2], commits: false },
    { size: 4, acceptors: [2, 3], commits: true },
    { size: 5, acceptors: [], commits: false },
    { size: 5, acceptors: [2], commits: false },
    { size: 5, acceptors: [2, 3], commits: true },
    { size: 5, acceptors: [2, 3, 4, 5], commits: true },
  ];
  for (const c of cases) {
    const { leader, msgs } = electedLeader(1, idsBySize(c.size));
    if (c.size > 1) commitNoop(leader, msgs);
    const li = leader.lastIndex;
    leader.node.propose(encode('x'));
    for (const m of ofType(leader.flush(), 'MsgApp')) {
      if (c.acceptors.includes(m.to)) leader.node.step(acceptReply(m));
    }
    leader.flush();
    assert.equal(leader.committed > li, c.commits, JSON.stringify(c));
  }
});

// "When the leader commits an entry, it also commits all preceding entries in the leader's log,
// including entries created by previous leaders." (§5.3)
test('§5.3: committing an entry commits all preceding entries, including previous leaders\'', () => {
  for (const old of [[], [2], [1, 1], [1, 2]]) {
    const log = entriesOfTerms(old);
    const { leader, msgs } = electedLeader(1, PEERS, { log, hardState: { term: 2, vote: NONE, commit: 0 } });
    assert.equal(leader.term, 3);
    leader.node.propose(encode('some data'));
    acceptUntilQuiet(leader, [...msgs, ...leader.flush()]);
    const want = [...brief(log), `3/${old.length + 1}`, `3/${old.length + 2} some data`];
    assert.equal(leader.committed, old.length + 2, `old log ${old}`);
    assert.deepEqual(brief(leader.applied), want, `old log ${old}`);
  }
});

// "Once a follower learns that a log entry is committed, it applies the entry to its local state
// machine (in log order)." (§5.3)
test('§5.3: a follower applies committed entries, in log order', () => {
  for (const commit of [1, 2]) {
    const f = new TestNode(id(1), { peers: PEERS });
    f.stepAndFlush(msgApp({ from: 2, to: 1, term: 1, logTerm: 0, index: 0, entries: [entry(1, 1, 'a'), entry(1, 2, 'b')], commit }));
    assert.equal(f.committed, commit);
    assert.deepEqual(brief(f.applied), ['1/1 a', '1/2 b'].slice(0, commit));
  }
});

// "When sending an AppendEntries RPC, the leader includes the index and term of the entry in its
// log that immediately precedes the new entries. If the follower does not find an entry in its
// log with the same index and term, then it refuses the new entries." (§5.3)
test('§5.3: follower rejects AppendEntries when log doesn\'t contain matching entry; leader decrements nextIndex and retries', () => {
  // Follower side: the consistency check.
  const cases: { logTerm: number; index: number; reject: boolean; ackIndex: number }[] = [
    { logTerm: 0, index: 0, reject: false, ackIndex: 1 }, // matches the (committed) start of the log
    { logTerm: 1, index: 1, reject: false, ackIndex: 1 },
    { logTerm: 2, index: 2, reject: false, ackIndex: 2 },
    { logTerm: 1, index: 2, reject: true, ackIndex: 2 }, // same index, different term
    { logTerm: 3, index: 3, reject: true, ackIndex: 3 }, // no entry at index 3
  ];
  for (const c of cases) {
    const f = new TestNode(id(1), { peers: PEERS, log: entriesOfTerms([1, 2]), hardState: { term: 2, vote: NONE, commit: 1 } });
    f.flush();
    const out = ofType(f.stepAndFlush(msgApp({ from: 2, to: 1, term: 2, logTerm: c.logTerm, index: c.index, commit: 1 })), 'MsgAppResp');
    assert.equal(out.length, 1, JSON.stringify(c));
    const r = out[0]!;
    assert.equal(r.reject, c.reject, JSON.stringify(c));
    assert.equal(r.term, 2);
    if (c.reject) {
      assert.equal(r.index, c.index, `a rejection names the rejected index: ${JSON.stringify(c)}`);
      assert.ok(r.rejectHint < c.index && r.rejectHint <= 2, `the hint points below the mismatch, within the follower's log: ${describeAll([r])}`);
    } else {
      assert.ok(r.index >= c.ackIndex, `${JSON.stringify(c)}: ${describeAll([r])}`);
    }
    assert.deepEqual(f.logTerms(), [1, 2], 'a refused AppendEntries changes nothing');
  }
});

// "The leader handles inconsistencies by forcing the followers' logs to duplicate its own. ...
// After a rejection, the leader decrements nextIndex and retries the AppendEntries RPC.
// Eventually nextIndex will reach a point where the leader and follower logs match. When this
// happens, AppendEntries will succeed, which removes any conflicting entries in the follower's log
// and appends entries from the leader's log." (§5.3, Figure 7)
test('§5.3: the leader brings every follower log of Figure 7 in line with its own', () => {
  const leaderTerms = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const followers: Record<string, number[]> = {
    a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
    b: [1, 1, 1, 4],
    c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    e: [1, 1, 1, 4, 4, 4, 4],
    f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  };
  for (const [name, terms] of Object.entries(followers)) {
    const hardState = { term: 8, vote: NONE, commit: 0 };
    const net = new Network([
      new TestNode(id(1), { peers: PEERS, log: entriesOfTerms(leaderTerms), hardState }),
      new TestNode(id(2), { peers: PEERS, log: entriesOfTerms(terms), hardState }),
      // Node 3 has the leader's log, so the leader can be elected whatever 2 thinks.
      new TestNode(id(3), { peers: PEERS, log: entriesOfTerms(leaderTerms), hardState }),
    ]);
    net.campaign(1);
    assert.equal(net.node(1).role, 'leader', `case ${name}`);
    net.propose(1, 'after-election');
    const want = net.node(1).log();
    assert.deepEqual(brief(net.node(2).log()), brief(want), `case ${name}: the follower log duplicates the leader's`);
    assert.equal(net.node(2).committed, want.length, `case ${name}`);
    const diverged = terms.length < leaderTerms.length || terms.some((t, i) => i < leaderTerms.length && t !== leaderTerms[i]);
    if (diverged) {
      assert.ok(net.trace.some((line) => line.startsWith('2->1 MsgAppResp') && line.includes('Rejected')),
        `case ${name}: the follower first refused, then the leader retried lower:\n${net.trace.join('\n')}`);
    }
  }
});

// "If an existing entry conflicts with a new one (same index but different terms), delete the
// existing entry and all that follow it; append any new entries not already in the log."
// (Figure 2, AppendEntries receiver implementation, 3 and 4; §5.3)
test('§5.3: follower deletes conflicting entries and all that follow', () => {
  const cases: { index: number; logTerm: number; entries: Entry[]; want: string[] }[] = [
    { index: 2, logTerm: 2, entries: [entry(3, 3)], want: ['1/1', '2/2', '3/3'] },
    { index: 1, logTerm: 1, entries: [entry(3, 2), entry(4, 3)], want: ['1/1', '3/2', '4/3'] },
    { index: 0, logTerm: 0, entries: [entry(1, 1)], want: ['1/1', '2/2'] }, // already present: nothing is deleted
    { index: 0, logTerm: 0, entries: [entry(3, 1)], want: ['3/1'] },
    { index: 1, logTerm: 1, entries: [], want: ['1/1', '2/2'] }, // a heartbeat-like append deletes nothing
  ];
  for (const c of cases) {
    const f = new TestNode(id(1), { peers: PEERS, log: [entry(1, 1), entry(2, 2)], hardState: { term: 2, vote: NONE, commit: 0 } });
    f.flush();
    f.stepAndFlush(msgApp({ from: 2, to: 1, term: 4, logTerm: c.logTerm, index: c.index, entries: c.entries }));
    assert.deepEqual(f.log().map((e) => `${e.term}/${e.index}`), c.want, JSON.stringify({ ...c, entries: brief(c.entries) }));
    assert.deepEqual(f.log().map((e) => text(e)), c.want.map((s) => { const [t, i] = s.split('/'); return `t${t}i${i}`; }));
  }
  // A delayed, shorter copy of an AppendEntries already applied must not truncate the log.
  const f = new TestNode(id(1), { peers: PEERS });
  f.stepAndFlush(msgApp({ from: 2, to: 1, term: 1, logTerm: 0, index: 0, entries: [entry(1, 1), entry(1, 2), entry(1, 3)] }));
  f.stepAndFlush(msgApp({ from: 2, to: 1, term: 1, logTerm: 0, index: 0, entries: [entry(1, 1)] }));
  assert.deepEqual(f.logTerms(), [1, 1, 1], 'a stale duplicate AppendEntries truncated matching entries');
});

// "If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last new entry)."
// (Figure 2, AppendEntries receiver implementation, 5)
test('§5.3 (Figure 2): a follower commits only up to the last entry the AppendEntries vouched for', () => {
  // The follower has an extra, uncommitted 1/3 the new leader never had.
  const f = new TestNode(id(1), { peers: PEERS, log: entriesOfTerms([1, 1, 1]), hardState: { term: 1, vote: NONE, commit: 0 } });
  f.flush();
  f.stepAndFlush(msgApp({ from: 2, to: 1, term: 2, logTerm: 1, index: 1, entries: [entry(2, 2)], commit: 3 }));
  assert.deepEqual(f.logTerms(), [1, 2]);
  assert.equal(f.committed, 2, 'commit = min(leaderCommit 3, last new entry 2)');

  const g = new TestNode(id(1), { peers: PEERS, log: entriesOfTerms([1, 1, 1]), hardState: { term: 1, vote: NONE, commit: 0 } });
  g.flush();
  g.stepAndFlush(msgApp({ from: 2, to: 1, term: 2, logTerm: 1, index: 1, entries: [], commit: 3 }));
  assert.equal(g.committed, 1, 'an append vouching only for index 1 commits at most 1, never the unverified 1/2, 1/3');
  assert.ok(g.applied.every((e) => e.index <= 1));
});

// "Raft never commits log entries from previous terms by counting replicas. Only log entries from
// the leader's current term are committed by counting replicas; once an entry from the current
// term has been committed in this way, then all prior entries are committed indirectly because of
// the Log Matching Property." (§5.4.2, Figure 8)
test('§5.4.2: a leader never commits entries from previous terms by counting replicas', () => {
  const cases = [
    { ackIndex: 1, commit: 0 },
    { ackIndex: 2, commit: 0 }, // 2/2 (term 2) is on a majority, but the leader is in term 3
    { ackIndex: 3, commit: 3 }, // the no-op 3/3 on a majority commits it and, indirectly, 1/1 and 2/2
  ];
  for (const c of cases) {
    const { leader, msgs } = electedLeader(1, PEERS, { log: entriesOfTerms([1, 2]), hardState: { term: 2, vote: NONE, commit: 0 } });
    assert.equal(leader.term, 3);
    assert.ok(ofType(msgs, 'MsgApp').length > 0, describeAll(msgs));
    leader.node.step(msgAppResp({ from: 2, to: 1, term: 3, index: c.ackIndex }));
    leader.flush();
    assert.equal(leader.committed, c.commit, JSON.stringify(c));
  }
});

// Figure 8, as a run. (a) S1 leads term 1 and appends X at index 2 (only on itself). (b) S5 is
// elected for term 2 by S3, S4 and appends entries at index 2.. only on itself. (c) S1 is elected
// for term 3 by S2, S3 and replicates X to S2 and S3: X, from term 1, is now on a majority, but
// S1's own no-op has not reached anyone. X must not count as committed, because (d) S5 can still
// be elected by S2, S3, S4 (its last term, 2, is later than theirs) and overwrite X.
test('§5.4.2: Figure 8 — an old-term entry on a majority is not committed, and is overwritten', () => {
  const peers = idsBySize(5);
  const net = new Network(peers.map((p) => new TestNode(p, { peers })));
  const elect = (n: number): void => {
    for (let attempt = 0; net.node(n).role !== 'leader'; attempt++) {
      assert.ok(attempt < 3, `node ${n} cannot be elected:\n${net.trace.slice(-30).join('\n')}`);
      net.campaign(n);
    }
  };
  elect(1); // term 1, no-op 1/1 committed everywhere
  // (a)
  net.isolate(1);
  net.node(1).node.propose(encode('X'));
  net.stabilize();
  assert.deepEqual(net.node(1).logTerms(), [1, 1]);
  // (b)
  net.heal();
  net.isolate(1);
  net.isolate(2);
  net.filter = (m) => (m.from === 5 && m.type === 'MsgApp' ? 'drop' : 'deliver');
  elect(5);
  net.node(5).node.propose(encode('from-S5'));
  net.stabilize();
  assert.deepEqual(net.node(5).logTerms(), [1, 2, 2]);
  // (c)
  net.restart(1);
  net.heal();
  net.isolate(4);
  net.isolate(5);
  // S1's MsgApps reach S2 and S3 without S1's own term-3 entries (its no-op stays on S1).
  net.filter = (m) => (m.type === 'MsgApp' && m.from === 1
    ? { ...m, entries: m.entries.filter((e) => e.term < net.node(1).term) }
    : 'deliver');
  elect(1);
  for (const p of [1, 2, 3]) assert.deepEqual(net.node(p).log().slice(0, 2).map(text), ['', 'X'], `node ${p} has X at index 2`);
  assert.equal(net.node(1).committed, 1, 'S1 committed X, an entry of a previous term, by counting replicas');
  for (const p of [1, 2, 3]) assert.ok(net.node(p).applied.every((e) => text(e) !== 'X'), `node ${p} applied X`);
  // (d) S1 crashes again; S5 restarts and campaigns.
  net.filter = undefined;
  net.restart(5);
  net.heal();
  net.isolate(1);
  elect(5);
  net.stabilize();
  for (const p of [2, 3, 4, 5]) {
    assert.deepEqual(net.node(p).log().map(text).slice(1, 3), ['', 'from-S5'], `node ${p}: X was overwritten`);
    assert.ok(net.node(p).applied.every((e) => text(e) !== 'X'), `node ${p} applied X`);
  }
});

// "Leader Completeness Property ... a leader must have the latest information on which entries
// are committed ... Raft handles this by having each leader commit a blank no-op entry into the
// log at the start of its term." (§8)
test('§8: a leader commits a no-op at the start of its term', () => {
  const { leader } = electedLeader(1, PEERS, { log: entriesOfTerms([1]), hardState: { term: 1, vote: NONE, commit: 0 } });
  const last = leader.log().at(-1);
  assert.ok(last, 'the new leader appended nothing');
  assert.deepEqual([last.term, last.index, last.type, last.data.byteLength], [2, 2, EntryType.Normal, 0],
    'the first entry of the term is an empty normal entry');

  const net = Network.ofSize(3);
  net.campaign(1);
  for (const n of net.nodes.values()) {
    assert.equal(n.committed, 1, `node ${n.id}`);
    assert.deepEqual(n.applied.map((e) => [e.term, e.index, e.type, e.data.byteLength]), [[1, 1, EntryType.Normal, 0]], `node ${n.id}`);
  }
  // And a new leader's no-op commits what the old leader left uncommitted.
  net.cut(1, 3);
  net.filter = (m) => (m.type === 'MsgAppResp' ? 'drop' : 'deliver');
  net.propose(1, 'left-uncommitted');
  assert.deepEqual(net.node(2).logTerms(), [1, 1], 'node 2 has the entry');
  assert.equal(net.node(1).committed, 1, 'but the old leader never learned it was replicated');
  net.filter = undefined;
  net.heal();
  net.isolate(1);
  net.campaign(2);
  assert.equal(net.node(2).role, 'leader');
  for (const p of [2, 3]) {
    assert.deepEqual(brief(net.node(p).applied), ['1/1', '1/2 left-uncommitted', '2/3'], `node ${p}`);
  }
});

// "If followers crash or run slowly, or if network packets are lost, the leader retries
// AppendEntries RPCs indefinitely (even after it has responded to the client) until all followers
// eventually store all log entries." (§5.3)
for (const inflightMsgsMax of [256, 2]) {
  test(`§5.3: the leader retries lost AppendEntries until the follower has every entry (inflightMsgsMax=${inflightMsgsMax})`, () => {
    const net = Network.ofSize(3, { inflightMsgsMax });
    net.campaign(1);
    net.tickAll();
    net.stabilize(); // 3 is in the replicate state now
    net.filter = (m) => (m.type === 'MsgApp' && m.to === 3 ? 'drop' : 'deliver');
    for (let i = 0; i < 6; i++) net.propose(1, `lost-${i}`);
    assert.equal(net.node(1).committed, net.node(1).lastIndex, 'committed with 2 of 3');
    assert.ok(net.node(3).lastIndex < net.node(1).lastIndex);
    net.filter = undefined;
    for (let t = 0; t < 10 && net.node(3).lastIndex < net.node(1).lastIndex; t++) {
      net.tickAll();
      net.stabilize();
    }
    assert.deepEqual(brief(net.node(3).log()), brief(net.node(1).log()), `node 3 never caught up:\n${net.trace.slice(-20).join('\n')}`);
    assert.equal(net.node(3).committed, net.node(1).committed);
  });
}

// Not in the paper: an AppendEntries without entries whose only news is the commit index (the
// "commit notice" sent after an entry commits) is marked commitOnly when the leader already knows
// the follower holds the log through its index, and the follower does not acknowledge it: the
// acknowledgement could not change the leader's progress for it. A follower in probe state, or
// one whose match is below the index, is asked as before.
test('commit notices: commitOnly only to a replicating follower whose match covers the index; accepted ones are not acknowledged', () => {
  const { leader, msgs } = electedLeader(1, PEERS);
  const notices = commitNoop(leader, msgs);
  const li = leader.lastIndex;
  assert.deepEqual(
    sortByTo(ofType(notices, 'MsgApp')).map((m) => [m.to, m.index, m.commit, m.entries.length, m.commitOnly]),
    [
      [2, li, li, 0, true],
      [3, li, li, 0, true],
    ],
    describeAll(notices),
  );
  // A follower accepts the notice and commits, and sends nothing back.
  const follower = new TestNode(id(2), { peers: PEERS });
  const app = msgApp({ from: 1, to: 2, term: 1, logTerm: 0, index: 0, entries: entriesOfTerms([1]), commit: 0 });
  assert.equal(ofType(follower.stepAndFlush(app), 'MsgAppResp').length, 1, 'an append with entries is acknowledged');
  const notice = msgApp({ from: 1, to: 2, term: 1, logTerm: 1, index: 1, commit: 1, commitOnly: true });
  assert.deepEqual(follower.stepAndFlush(notice), [], 'an accepted commit notice is not acknowledged');
  assert.equal(follower.committed, 1, 'the notice still commits');
  // The same notice without the mark is acknowledged, as before.
  const unmarked = follower.stepAndFlush(msgApp({ from: 1, to: 2, term: 1, logTerm: 1, index: 1, commit: 1 }));
  assert.deepEqual(ofType(unmarked, 'MsgAppResp').map((m) => [m.index, m.reject]), [[1, false]]);
  // A marked notice the follower must reject (its log does not match) is answered with the rejection.
  const mismatch = follower.stepAndFlush(msgApp({ from: 1, to: 2, term: 1, logTerm: 1, index: 5, commit: 1, commitOnly: true }));
  assert.deepEqual(ofType(mismatch, 'MsgAppResp').map((m) => [m.index, m.reject]), [[5, true]]);
  // A new leader probing a follower (probe state, match 0) does not mark its empty appends.
  const fresh = electedLeader(1, PEERS).msgs;
  assert.ok(ofType(fresh, 'MsgApp').every((m) => !m.commitOnly), describeAll(fresh));
});
