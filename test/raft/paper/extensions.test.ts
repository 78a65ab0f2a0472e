/**
 * Tests tied to the Raft thesis (Ongaro, "Consensus: Bridging Theory and Practice") for the
 * extensions Concord turns on by default — §6.2 CheckQuorum, §4.2.3 disruptive servers, §9.6
 * PreVote, §6.4.1 leader leases — and to the paper's §6 rule that elections in a joint
 * configuration need both majorities. Each test quotes what it checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Network, TestNode, id, idsBySize, msgHeartbeat, msgVote, ofType,
} from '../network.js';
import {
  ConfChangeTransition, ConfChangeType, EMPTY_CONF_STATE,
} from '../../../src/raft/types.js';

const ELECTION_TICKS = 10;
const DEFAULTS = { preVote: true, checkQuorum: true } as const;

/** tickRounds ticks every node `n` times, running the network to quiet after each tick. */
function tickRounds(net: Network, n: number): void {
  for (let t = 0; t < n; t++) {
    net.tickAll();
    net.stabilize();
  }
}

// "... a leader steps down if an election timeout elapses without a successful round of
// heartbeats to a majority of its cluster; this allows clients to retry their requests with
// another server." (thesis §6.2)
test('§6.2 (thesis): with CheckQuorum a leader cut off from a majority steps down within an election timeout', () => {
  const net = Network.ofSize(3, DEFAULTS);
  net.campaign(1);
  assert.equal(net.node(1).role, 'leader');
  tickRounds(net, 3);
  net.isolate(1);
  let steppedDownAfter = -1;
  for (let t = 1; t <= 2 * ELECTION_TICKS && steppedDownAfter < 0; t++) {
    net.node(1).node.tick();
    net.stabilize();
    if (net.node(1).role !== 'leader') steppedDownAfter = t;
  }
  assert.ok(steppedDownAfter > 0, 'the isolated leader never stepped down');
  assert.ok(steppedDownAfter <= 2 * ELECTION_TICKS);
  // A leader that hears from its followers stays.
  const healthy = Network.ofSize(3, DEFAULTS);
  healthy.campaign(1);
  tickRounds(healthy, 5 * ELECTION_TICKS);
  assert.equal(healthy.node(1).role, 'leader');
  assert.equal(healthy.node(1).term, 1);
});

// "Raft's solution uses heartbeats to determine when a valid leader exists. ... if a server
// receives a RequestVote request within the minimum election timeout of hearing from a current
// leader, it does not update its term or grant its vote." ... "leadership transfer ... the
// RequestVote ... should include a special flag" to bypass this. (thesis §4.2.3)
test('§4.2.3 (thesis): a server that recently heard from a leader ignores RequestVote, unless it is a leadership transfer', () => {
  const n = new TestNode(id(1), { peers: idsBySize(3), config: DEFAULTS });
  n.stepAndFlush(msgHeartbeat({ from: 2, to: 1, term: 1 }));
  assert.equal(n.lead, id(2));
  const out = n.stepAndFlush(msgVote({ from: 3, to: 1, term: 2, logTerm: 0, index: 0 }));
  assert.equal(n.term, 1, 'the term was updated by a disruptive RequestVote');
  assert.ok(ofType(out, 'MsgVoteResp').every((m) => m.reject), 'the vote was granted while the leader is live');
  assert.equal(n.lead, id(2));

  const t = new TestNode(id(1), { peers: idsBySize(3), config: DEFAULTS });
  t.stepAndFlush(msgHeartbeat({ from: 2, to: 1, term: 1 }));
  const granted = t.stepAndFlush({ ...msgVote({ from: 3, to: 1, term: 2, logTerm: 0, index: 0 }), transfer: true });
  assert.equal(t.term, 2);
  assert.deepEqual(ofType(granted, 'MsgVoteResp').map((m) => [m.to, m.reject]), [[3, false]]);
});

// "The Pre-Vote algorithm ... a candidate would first ask other servers whether its log was
// up-to-date enough to get their vote. Only if the candidate believed it could get votes from a
// majority of the cluster would it increment its term and start a normal election." ... "a server
// that rejoins the cluster ... will not disrupt it." (thesis §9.6)
test('§9.6 (thesis): with PreVote a partitioned server does not raise its term, and rejoining does not disrupt the leader', () => {
  const net = Network.ofSize(3, DEFAULTS);
  net.campaign(1);
  net.isolate(3);
  for (let t = 0; t < 10 * ELECTION_TICKS; t++) {
    net.tickAll();
    net.stabilize();
  }
  assert.equal(net.node(3).term, 1, 'the partitioned server raised its term');
  assert.notEqual(net.node(3).role, 'leader');
  net.heal();
  tickRounds(net, 3 * ELECTION_TICKS);
  assert.equal(net.node(1).role, 'leader', 'the rejoining server disrupted the leader');
  for (const n of net.nodes.values()) assert.equal(n.term, 1, `node ${n.id}`);
});

// "... the leader would use a lease ... a leader [may] respond to read-only queries without
// contacting the other servers ... once the leader's heartbeats were acknowledged by a majority
// of the cluster, it would extend its lease to start + (election timeout / clock drift bound),
// since the followers shouldn't time out before then." (thesis §6.4.1)
test('§6.4.1 (thesis): a lease read is served without a round trip, never after another leader could exist', () => {
  const config = { ...DEFAULTS, readOnlyOption: 'lease-based' } as const;
  const net = Network.ofSize(3, config);
  net.campaign(1);
  tickRounds(net, 3);
  const leader = net.node(1);
  leader.node.readIndex('warm');
  const sent = leader.flush();
  assert.deepEqual(leader.readStates.map((r) => r.context), ['warm'], 'a lease read needs no heartbeat round');
  assert.equal(ofType(sent, 'MsgHeartbeat').length, 0);

  net.isolate(1);
  let otherLeaderAt = -1;
  const askedAt = new Map<string, number>();
  for (let t = 0; t < 4 * ELECTION_TICKS; t++) {
    net.tickAll();
    net.stabilize();
    if (otherLeaderAt < 0 && net.leaders().some((n) => n.id !== id(1))) {
      otherLeaderAt = t;
      const newLeader = net.leaders().find((n) => n.id !== id(1))!;
      newLeader.node.propose(new TextEncoder().encode('write the old leader cannot see'));
      net.stabilize();
    }
    const ctx = `r${t}`;
    askedAt.set(ctx, t);
    try {
      leader.node.readIndex(ctx);
    } catch {
      // Refused (no longer leader): not an answer, which is fine.
    }
    net.stabilize();
  }
  assert.ok(otherLeaderAt >= 0, 'the majority never elected a new leader');
  const served = leader.readStates.map((r) => r.context).filter((c) => c !== 'warm');
  assert.ok(served.length > 0, 'the isolated leader served no read within its lease (lease reads do not work)');
  for (const ctx of served) {
    assert.ok(askedAt.get(ctx)! < otherLeaderAt, `read ${ctx} was served by the old leader after a new leader was elected at tick ${otherLeaderAt}`);
  }
});

// "Agreement (for elections and entry commitment) requires separate majorities from both the old
// and new configurations." (§6)
test('§6: in the joint configuration, winning an election needs a majority of the old AND of the new configuration', () => {
  const founders = idsBySize(3);
  const net = new Network([
    ...founders.map((p) => new TestNode(p, { peers: founders, bootstrap: true })),
    new TestNode(id(4), { confState: EMPTY_CONF_STATE }),
    new TestNode(id(5), { confState: EMPTY_CONF_STATE }),
  ]);
  net.stabilize(); // the founders apply the bootstrap entries (their configuration) first
  net.campaign(1);
  net.node(1).node.proposeConfChange({
    transition: ConfChangeTransition.JointExplicit,
    changes: [
      { type: ConfChangeType.AddVoter, nodeId: id(4) },
      { type: ConfChangeType.AddVoter, nodeId: id(5) },
      { type: ConfChangeType.RemoveNode, nodeId: id(2) },
      { type: ConfChangeType.RemoveNode, nodeId: id(3) },
    ],
    context: new Uint8Array(0),
  });
  net.stabilize();
  tickRounds(net, 2);
  for (const n of net.nodes.values()) {
    const cs = n.confStates.at(-1);
    assert.ok(cs, `node ${n.id} did not apply the joint config`);
    assert.deepEqual([[...cs.voters].sort(), [...cs.votersOutgoing].sort()], [[1, 4, 5], [1, 2, 3]], `node ${n.id}`);
  }
  // Node 1 is gone. 2 can reach only 3 (an old majority, no new one).
  const split = (a: readonly number[], b: readonly number[]): void => {
    net.heal();
    net.isolate(1);
    for (const x of a) for (const y of b) net.cut(x, y);
  };
  split([2, 3], [4, 5]);
  net.campaign(2);
  assert.notEqual(net.node(2).role, 'leader', 'elected with votes from the old configuration only');
  // 4 can reach only 5 (a new majority, no old one).
  net.campaign(4);
  assert.notEqual(net.node(4).role, 'leader', 'elected with votes from the new configuration only');
  // 4 reaching 3 and 5: {4,5} of the new and... only {3} of the old: still no.
  split([2], [3, 4, 5]);
  net.campaign(4);
  assert.notEqual(net.node(4).role, 'leader', 'elected with 1 of 3 of the old configuration');
  // With 2, 3, 4, 5 together, a node can win.
  net.heal();
  net.isolate(1);
  for (let attempt = 0; net.leaders().every((n) => n.id === id(1)) && attempt < 5; attempt++) net.campaign(4);
  assert.equal(net.node(4).role, 'leader');
});
