/**
 * Tests tied to the Raft paper §6 "Cluster membership changes" (joint consensus). Concord applies
 * a configuration when its entry is applied (as etcd-io/raft does), not when it is appended as
 * the paper says; that divergence is not tested here. What is tested is the joint rule itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network, TestNode, id, idsBySize, text } from '../network.js';
import {
  ConfChangeTransition, ConfChangeType, EMPTY_CONF_STATE, type ConfChange,
} from '../../../src/raft/types.js';

const encode = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * fiveNodes: 1, 2, 3 found the group (bootstrapped: the founding configuration is in the log);
 * 4 and 5 start empty and are added later.
 */
function fiveNodes(): Network {
  const founders = idsBySize(3);
  const net = new Network([
    ...founders.map((p) => new TestNode(p, { peers: founders, bootstrap: true })),
    new TestNode(id(4), { confState: EMPTY_CONF_STATE }),
    new TestNode(id(5), { confState: EMPTY_CONF_STATE }),
  ]);
  net.stabilize(); // the founders apply the bootstrap entries (their configuration) first
  return net;
}

// "In Raft the cluster first switches to a transitional configuration we call joint consensus
// ... Agreement (for elections and entry commitment) requires separate majorities from both the
// old and new configurations." (§6)
test('§6: in the joint configuration, committing needs a majority of the old AND of the new configuration', () => {
  const net = fiveNodes();
  net.campaign(1);
  assert.equal(net.node(1).role, 'leader');
  const cc: ConfChange = {
    transition: ConfChangeTransition.JointExplicit,
    changes: [
      { type: ConfChangeType.AddVoter, nodeId: id(4) },
      { type: ConfChangeType.AddVoter, nodeId: id(5) },
      { type: ConfChangeType.RemoveNode, nodeId: id(2) },
      { type: ConfChangeType.RemoveNode, nodeId: id(3) },
    ],
    context: new Uint8Array(0),
  };
  net.node(1).node.proposeConfChange(cc);
  net.stabilize();
  const joint = net.node(1).confStates.at(-1);
  assert.ok(joint, 'the conf change was not applied');
  assert.deepEqual([[...joint.voters].sort(), [...joint.votersOutgoing].sort()], [[1, 4, 5], [1, 2, 3]]);

  // Old majority {1,2,3} (and 3 of the 5 servers) have it, new majority {1,4,5} does not.
  net.isolate(4);
  net.isolate(5);
  const before = net.node(1).committed;
  net.propose(1, 'needs-both');
  assert.equal(net.node(1).committed, before, 'committed with a majority of the old configuration only');
  // With 4 back, {1,4} is a majority of the new configuration too.
  net.heal();
  net.isolate(5);
  net.stabilize();
  for (let t = 0; t < 3; t++) { net.tickAll(); net.stabilize(); }
  assert.ok(net.node(1).applied.some((e) => text(e) === 'needs-both'), 'not committed with majorities of both');

  // The symmetric case: new majority without an old majority.
  net.heal();
  net.isolate(2);
  net.isolate(3);
  const before2 = net.node(1).committed;
  net.propose(1, 'needs-old-too');
  assert.equal(net.node(1).committed, before2, 'committed with a majority of the new configuration only');

  // "Once C_new has been committed, the old configuration is irrelevant": leave the joint config.
  net.heal();
  net.stabilize();
  for (let t = 0; t < 3; t++) { net.tickAll(); net.stabilize(); }
  net.node(1).node.proposeConfChange({ transition: ConfChangeTransition.Auto, changes: [], context: new Uint8Array(0) });
  net.stabilize();
  const left = net.node(1).confStates.at(-1)!;
  assert.deepEqual([[...left.voters].sort(), left.votersOutgoing], [[1, 4, 5], []]);
  net.isolate(2);
  net.isolate(3);
  const before3 = net.node(1).committed;
  net.node(1).node.propose(encode('new-config-only'));
  net.stabilize();
  assert.ok(net.node(1).committed > before3, 'after leaving the joint config, {1,4,5} alone commits');
});

// "When adding a new server to the cluster ... the new servers join the cluster as non-voting
// members (the leader replicates log entries to them ...)" (§6); docs/raft-core-api.md: "A node
// joining later starts with an empty configuration and is brought up to date by the leader
// (snapshot or log)". Once up to date, the newcomer must hold the same configuration as everyone
// else — otherwise it cannot campaign or vote as a member of the new configuration.
test('§6: a server that joins with an empty configuration ends up with the group\'s configuration', () => {
  const net = fiveNodes();
  net.campaign(1);
  net.node(1).node.proposeConfChange({
    transition: ConfChangeTransition.Auto,
    changes: [{ type: ConfChangeType.AddVoter, nodeId: id(4) }],
    context: new Uint8Array(0),
  });
  net.stabilize();
  for (let t = 0; t < 3; t++) { net.tickAll(); net.stabilize(); }
  const want = net.node(1).node.status().config;
  assert.deepEqual([...want.voters].sort(), [1, 2, 3, 4]);
  assert.equal(net.node(4).lastIndex, net.node(1).lastIndex, 'the newcomer is caught up');
  const got = net.node(4).node.status().config;
  assert.deepEqual({ voters: [...got.voters].sort(), outgoing: [...got.votersOutgoing].sort() },
    { voters: [1, 2, 3, 4], outgoing: [] }, 'the new member does not know the configuration it is a member of');
  // And so, as a member, it can be elected once it has the longest log.
  net.isolate(1);
  for (let attempt = 0; net.node(4).role !== 'leader' && attempt < 3; attempt++) net.campaign(4);
  assert.equal(net.node(4).role, 'leader', 'the new voter cannot campaign');
});

// "Election Safety: at most one leader can be elected in a given term" (Figure 3) and "a
// candidate wins an election if it receives votes from a majority of the servers in the full
// cluster" (§5.2). A voter just added to {1,2,3} is one of four; cut off, it must not win alone.
test('§5.2/§6: a newly added voter cut off from the group cannot elect itself and commit alone', () => {
  const net = fiveNodes();
  net.campaign(1);
  net.node(1).node.proposeConfChange({
    transition: ConfChangeTransition.Auto,
    changes: [{ type: ConfChangeType.AddVoter, nodeId: id(4) }],
    context: new Uint8Array(0),
  });
  net.stabilize();
  for (let t = 0; t < 3; t++) { net.tickAll(); net.stabilize(); }
  assert.equal(net.node(4).lastIndex, net.node(1).lastIndex, 'the newcomer is caught up');
  net.isolate(4);
  for (let t = 0; t < 5 * 10; t++) {
    net.node(4).node.tick();
    net.stabilize();
  }
  assert.notEqual(net.node(4).role, 'leader', 'node 4 became leader with its own vote only (split brain)');
  const before = net.node(4).committed;
  try { net.node(4).node.propose(encode('split-brain')); } catch { /* refused: fine */ }
  net.stabilize();
  assert.equal(net.node(4).committed, before, 'node 4 committed an entry without a majority');
});
