/**
 * Tests tied to the Raft thesis (Ongaro, "Consensus: Bridging Theory and Practice"), §3.10
 * "Leadership transfer extension". Each test quotes what it checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONFIGS, Network, configSuffix, describeAll, id, ofType, type NodeOptions } from '../network.js';
import { RaftErrorCode, isRaftError } from '../../../src/raft/errors.js';

const ELECTION_TICKS = 10;

function elected(config: NodeOptions['config']): Network {
  const net = Network.ofSize(3, config);
  net.campaign(1);
  assert.equal(net.node(1).role, 'leader');
  return net;
}

for (const config of CONFIGS) {
  const suffix = configSuffix(config);

  // "2. The prior leader transfers its log entries to the target server using the normal log
  // replication algorithm. 3. Once the target server has caught up, the prior leader sends it a
  // TimeoutNow request. This request has the same effect as the target server's election timer
  // firing: the target server starts a new election (incrementing its term and becoming a
  // candidate)." (thesis §3.10)
  test(`§3.10 (thesis): the leader sends TimeoutNow to an up-to-date target, which is elected at once${suffix}`, () => {
    const net = elected(config);
    net.propose(1, 'x');
    const term = net.node(1).term;
    net.node(1).node.transferLeadership(id(2));
    const out = net.node(1).flush();
    assert.deepEqual(ofType(out, 'MsgTimeoutNow').map((m) => m.to), [2], describeAll(out));
    net.queue.push(...out);
    net.stabilize();
    assert.equal(net.node(2).role, 'leader');
    assert.equal(net.node(2).term, term + 1);
    assert.equal(net.node(1).role, 'follower');
    assert.equal(net.node(1).lead, id(2));
  });

  test(`§3.10 (thesis): a target that is behind is first caught up, then sent TimeoutNow${suffix}`, () => {
    const net = elected(config);
    net.isolate(3);
    for (const d of ['a', 'b', 'c']) net.propose(1, d);
    net.heal();
    const last = net.node(1).lastIndex;
    assert.ok(net.node(3).lastIndex < last);
    net.node(1).node.transferLeadership(id(3));
    net.stabilize();
    const timeoutAt = net.trace.findIndex((l) => l.startsWith('1->3 MsgTimeoutNow'));
    assert.ok(timeoutAt >= 0, `no TimeoutNow sent:\n${net.trace.join('\n')}`);
    const caughtUpAt = net.trace.findIndex((l) => l.startsWith('3->1 MsgAppResp') && !l.includes('Rejected') && l.includes(`/${last}`));
    assert.ok(caughtUpAt >= 0 && caughtUpAt < timeoutAt, `TimeoutNow before the target acknowledged ${last}:\n${net.trace.join('\n')}`);
    assert.equal(net.node(3).role, 'leader');
    assert.deepEqual(net.node(3).log().slice(0, last).map((e) => e.term), net.node(1).log().slice(0, last).map((e) => e.term));
  });

  // "1. The prior leader stops accepting new client requests." ... "If the transfer does not
  // complete within about an election timeout, the prior leader aborts the transfer and resumes
  // accepting client requests." (thesis §3.10)
  test(`§3.10 (thesis): during a transfer the leader refuses proposals; after an election timeout it gives up and accepts again${suffix}`, () => {
    const net = elected(config);
    net.isolate(2); // the target will never answer
    net.propose(1, 'x'); // 2 is now behind
    net.node(1).node.transferLeadership(id(2));
    net.stabilize();
    assert.throws(() => net.node(1).node.propose(new TextEncoder().encode('during-transfer')),
      (e: unknown) => isRaftError(e, RaftErrorCode.ProposalDropped));
    for (let t = 0; t < 2 * ELECTION_TICKS; t++) {
      net.node(1).node.tick();
      net.node(3).node.tick();
      net.stabilize();
    }
    assert.equal(net.node(1).role, 'leader');
    const before = net.node(1).committed;
    net.propose(1, 'after-abort');
    assert.equal(net.node(1).committed, before + 1, 'the transfer was not aborted: proposals still refused or uncommitted');
  });
}
