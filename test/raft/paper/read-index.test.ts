/**
 * Tests tied to the Raft thesis (Ongaro, "Consensus: Bridging Theory and Practice"), §6.4
 * "Processing read-only queries more efficiently" (ReadIndex). Each test quotes what it checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CONFIGS, Network, TestNode, configSuffix, describeAll, entriesOfTerms, id, idsBySize, ofType, NONE,
  type NodeOptions,
} from '../network.js';

const PEERS = idsBySize(3);
const ELECTION_TICKS = 10;

function elected(config: NodeOptions['config']): Network {
  const net = Network.ofSize(3, config);
  net.campaign(1);
  assert.equal(net.node(1).role, 'leader');
  return net;
}

for (const config of CONFIGS) {
  const suffix = configSuffix(config);

  // "1. ... the leader saves its current commit index in a local variable readIndex. ...
  // 3. The leader needs to make sure it hasn't been superseded by a newer leader of which it is
  // unaware. It issues a new round of heartbeats and waits for their acknowledgments from a majority
  // of the cluster. Once these acknowledgments are received, the leader knows that there could not
  // have existed a leader for a greater term at the moment it sent the heartbeats. Thus, the
  // readIndex was, at the time, the largest commit index ever seen by any server in the cluster."
  // (thesis §6.4)
  test(`§6.4 (thesis): the leader answers a read with its commit index only after a heartbeat round confirms it${suffix}`, () => {
    const net = elected(config);
    net.propose(1, 'x');
    const leader = net.node(1);
    const commit = leader.committed;
    leader.node.readIndex('r1');
    const out = leader.flush();
    assert.deepEqual(leader.readStates, [], 'no answer before a quorum confirmed the leadership');
    const beats = ofType(out, 'MsgHeartbeat');
    assert.deepEqual(beats.map((m) => [m.to, m.context]).sort(), [[2, 'r1'], [3, 'r1']], describeAll(out));
    net.queue.push(...out);
    net.stabilize();
    assert.deepEqual(leader.readStates, [{ index: commit, context: 'r1' }]);
  });

  // "... the leader knows that there could not have existed a leader for a greater term at the
  // moment it sent the heartbeats" — so without acknowledgments from a majority there is no answer.
  test(`§6.4 (thesis): a leader cut off from the majority never answers a read${suffix}`, () => {
    const net = elected(config);
    net.isolate(1);
    net.node(1).node.readIndex('stale');
    // Meanwhile the rest elect a new leader and commit a write the old leader cannot see.
    for (let t = 0; t < 4 * ELECTION_TICKS; t++) {
      net.tickAll();
      net.stabilize();
    }
    const newLeader = net.leaders().find((n) => n.id !== id(1));
    assert.ok(newLeader, 'the majority elected no new leader');
    net.propose(newLeader.id, 'newer');
    assert.ok(newLeader.applied.some((e) => new TextDecoder().decode(e.data) === 'newer'));
    assert.deepEqual(net.node(1).readStates, [], 'a deposed leader served a read that could miss a newer write');
  });

  // "1. If the leader has not yet marked an entry from its current term committed, it waits until
  // it has done so. The Leader Completeness Property guarantees that a leader has all committed
  // entries, but at the start of its term, it may not know which those are." (thesis §6.4)
  test(`§6.4 (thesis): a new leader answers reads only once an entry of its own term is committed${suffix}`, () => {
    const hardState = { term: 1, vote: NONE, commit: 1 };
    const net = new Network(PEERS.map((p) => new TestNode(p, { peers: PEERS, log: entriesOfTerms([1, 1]), hardState, config })));
    const leader = net.node(1);
    leader.node.campaign();
    // Deliver the vote round, but not yet the new leader's first MsgApp round.
    for (let round = 0; leader.role !== 'leader'; round++) {
      assert.ok(round < 10, 'not elected');
      net.flushAll();
      net.deliver();
    }
    assert.equal(leader.term, 2);
    assert.ok(leader.committed < 3, 'the no-op of term 2 must not be committed yet');
    leader.node.readIndex('early');
    net.stabilize();
    assert.equal(leader.readStates.length, 1, `the read was never answered:\n${net.trace.join('\n')}`);
    assert.ok(leader.readStates[0]!.index >= 3,
      `read index ${leader.readStates[0]!.index} predates the leader's own no-op (3): a committed entry could be missing`);
  });

  // "The follower issues a request to the leader to fetch the current readIndex ... The leader
  // then runs through steps 1-3 above ... The follower then waits for its state machine to advance
  // at least as far as the readIndex." (thesis §6.4, read-only queries on followers)
  test(`§6.4 (thesis): a follower serves reads with a read index fetched from the leader${suffix}`, () => {
    const net = elected(config);
    net.propose(1, 'x');
    const commit = net.node(1).committed;
    net.node(2).node.readIndex('from-follower');
    net.stabilize();
    assert.deepEqual(net.node(2).readStates, [{ index: commit, context: 'from-follower' }]);
    assert.ok(net.node(2).applied.length >= commit, 'the follower has applied up to the read index');
  });

  // "... the leader can amortize the cost of confirming its leadership: it can use a single round
  // of heartbeats for any number of read-only queries that it has accumulated." (thesis §6.4)
  test(`§6.4 (thesis): one heartbeat round confirms every read queued before it${suffix}`, () => {
    const net = elected(config);
    const leader = net.node(1);
    for (const ctx of ['a', 'b', 'c']) leader.node.readIndex(ctx);
    const out = leader.flush();
    assert.ok(ofType(out, 'MsgHeartbeat').length <= 2 * 3, describeAll(out));
    net.queue.push(...out);
    net.stabilize();
    assert.deepEqual(leader.readStates.map((r) => r.context).sort(), ['a', 'b', 'c']);
    for (const r of leader.readStates) assert.equal(r.index, leader.committed);
  });
}
