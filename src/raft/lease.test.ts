/**
 * Tests of leader leases for ReadIndex (readOnlyOption 'lease-based', thesis §6.4.1): the leader
 * answers a read at once while a quorum acknowledged a heartbeat sent less than
 * electionTicks - leaseClockDriftTicks ticks ago; otherwise (no acknowledged heartbeat yet, a
 * stale lease, a leadership transfer in progress) it falls back to a heartbeat round, whose
 * acknowledgements renew the lease. The 'safe' option never answers without a round.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Xoshiro128 } from '../lib/prng.js';
import type { RaftConfig } from './config.js';
import { RawNode } from './raw-node.js';
import { MemoryStorage } from './storage.js';
import { EMPTY_CONF_STATE, type Message, type NodeId, type ReadState, type Ready } from './types.js';

const n = (id: number): NodeId => id as NodeId;
const ELECTION_TICKS = 10;
const DRIFT_TICKS = 2;

interface Host {
  readonly node: RawNode;
  readonly storage: MemoryStorage;
  readonly readStates: ReadState[];
}

/** Net is a few RawNodes with a message queue; `drop` filters what is delivered. */
class Net {
  readonly hosts = new Map<NodeId, Host>();
  queue: Message[] = [];
  drop: (m: Message) => boolean = () => false;

  constructor(size: number, config: Partial<RaftConfig>) {
    const voters = Array.from({ length: size }, (_, i) => n(i + 1));
    for (const id of voters) {
      const storage = MemoryStorage.withConf({ ...EMPTY_CONF_STATE, voters });
      const node = new RawNode({
        id, storage, prng: new Xoshiro128(id), electionTicks: ELECTION_TICKS, heartbeatTicks: 1,
        checkQuorum: true, leaseClockDriftTicks: DRIFT_TICKS, ...config,
      });
      this.hosts.set(id, { node, storage, readStates: [] });
    }
  }

  host(id: number): Host {
    return this.hosts.get(n(id))!;
  }

  /** handle runs one Ready of `id` through persist / send / apply / advance and returns it. */
  handle(id: number): Ready {
    const h = this.host(id);
    const rd = h.node.ready();
    h.storage.append(rd.entries);
    if (rd.hardState) h.storage.setHardState(rd.hardState);
    this.queue.push(...rd.messages);
    h.readStates.push(...rd.readStates);
    h.node.advance();
    return rd;
  }

  /** stabilize handles Readies and delivers messages until nothing is left. */
  stabilize(): void {
    for (let round = 0; round < 1000; round++) {
      let busy = false;
      for (const id of this.hosts.keys()) {
        if (this.host(id).node.hasReady()) {
          this.handle(id);
          busy = true;
        }
      }
      const msgs = this.queue;
      this.queue = [];
      for (const m of msgs) {
        if (!this.drop(m)) this.hosts.get(m.to)?.node.step(m);
        busy = true;
      }
      if (!busy) return;
    }
    assert.fail('network did not stabilize');
  }

  /** tickIsolated ticks `id` once and throws away whatever it sends. */
  tickIsolated(id: number): void {
    const h = this.host(id);
    h.node.tick();
    while (h.node.hasReady()) this.handle(id);
    this.queue = [];
  }
}

function elect(config: Partial<RaftConfig>, size = 3): Net {
  const net = new Net(size, config);
  net.host(1).node.campaign();
  net.stabilize();
  assert.equal(net.host(1).node.raft.role, 'leader');
  return net;
}

const heartbeats = (rd: Ready): Message[] => rd.messages.filter((m) => m.type === 'MsgHeartbeat');

/** readWithRound issues a read on the leader, checks it needs a heartbeat round, and completes it. */
function readWithRound(net: Net, context: string): void {
  const leader = net.host(1);
  leader.node.readIndex(context);
  const rd = net.handle(1);
  assert.deepEqual(rd.readStates, [], `${context}: must not be answered before a round`);
  const hbs = heartbeats(rd);
  assert.equal(hbs.length, net.hosts.size - 1, `${context}: one heartbeat per follower`);
  for (const m of hbs) assert.ok(m.type === 'MsgHeartbeat' && m.context === context);
  net.stabilize();
  assert.deepEqual(leader.readStates.at(-1), { index: leader.node.raft.raftLog.committed, context });
}

/** readAtOnce issues a read on the leader and checks it is answered in the next Ready, with no round. */
function readAtOnce(net: Net, context: string): void {
  const leader = net.host(1);
  leader.node.readIndex(context);
  const rd = net.handle(1);
  assert.deepEqual(rd.readStates, [{ index: leader.node.raft.raftLog.committed, context }], `${context}: answered at once`);
  assert.deepEqual(heartbeats(rd), [], `${context}: no heartbeat round`);
}

const lease: Partial<RaftConfig> = { readOnlyOption: 'lease-based' };

test('lease: a new leader has no lease until a quorum acknowledged one of its heartbeats', () => {
  const net = elect(lease);
  assert.equal(net.host(1).node.raft.leaseValid(), false);
  readWithRound(net, 'a');
  assert.equal(net.host(1).node.raft.leaseValid(), true);
  readAtOnce(net, 'b');
  readAtOnce(net, 'c');
});

test('lease: valid for electionTicks - leaseClockDriftTicks ticks after the acknowledged heartbeat was sent', () => {
  const net = elect(lease);
  const leader = net.host(1).node;
  const sentTick = leader.raft.ticks;
  readWithRound(net, 'a');
  // From now on nothing the leader sends is acknowledged.
  for (let k = 1; k < ELECTION_TICKS - DRIFT_TICKS; k++) {
    net.tickIsolated(1);
    assert.equal(leader.raft.leaseValid(), true, `tick ${leader.raft.ticks}: ${leader.raft.ticks - sentTick} ticks after the heartbeat`);
  }
  readAtOnce(net, 'last-in-lease');
  net.tickIsolated(1);
  assert.equal(leader.raft.ticks - sentTick, ELECTION_TICKS - DRIFT_TICKS);
  assert.equal(leader.raft.leaseValid(), false, 'the lease ends at sentTick + electionTicks - drift');
  assert.equal(leader.raft.role, 'leader', 'still leader: CheckQuorum has not run yet');
  // A stale lease falls back to a heartbeat round, whose acknowledgements renew the lease.
  readWithRound(net, 'stale');
  assert.equal(leader.raft.leaseValid(), true);
  readAtOnce(net, 'renewed');
});

test('lease: a late acknowledgement of an older heartbeat does not shorten the lease', () => {
  const net = elect(lease);
  const leader = net.host(1).node;
  readWithRound(net, 'a');
  const firstTick = leader.raft.ticks;
  for (let k = 0; k < 4; k++) net.tickIsolated(1);
  leader.tick();
  const freshTick = leader.raft.ticks;
  net.stabilize(); // the heartbeats of freshTick are acknowledged
  // Duplicated, delayed acknowledgements of the first round arrive now.
  for (const from of [2, 3]) {
    leader.step({ type: 'MsgHeartbeatResp', from: n(from), to: n(1), term: leader.raft.term, context: '', sentTick: firstTick });
  }
  net.stabilize();
  while (leader.raft.ticks < freshTick + ELECTION_TICKS - DRIFT_TICKS - 1) net.tickIsolated(1);
  assert.ok(leader.raft.ticks >= firstTick + ELECTION_TICKS - DRIFT_TICKS, 'past the lease of the first round');
  assert.equal(leader.raft.leaseValid(), true, 'the lease still runs from the fresher acknowledgement');
});

test('lease: acknowledgements of the periodic heartbeats keep the lease alive', () => {
  const net = elect(lease);
  readWithRound(net, 'a');
  for (let k = 0; k < 3 * ELECTION_TICKS; k++) {
    net.host(1).node.tick();
    net.stabilize();
  }
  assert.equal(net.host(1).node.raft.role, 'leader');
  readAtOnce(net, 'b');
});

test('lease: the acknowledgement of one follower is enough in a group of three, not in a group of five', () => {
  const three = elect(lease, 3);
  three.drop = (m) => m.from === 3 || m.to === 3;
  readWithRound(three, 'a');
  assert.equal(three.host(1).node.raft.leaseValid(), true);

  const five = elect(lease, 5);
  five.drop = (m) => m.type === 'MsgHeartbeatResp' && m.from !== 2;
  five.host(1).node.readIndex('a');
  five.stabilize();
  assert.deepEqual(five.host(1).readStates, [], 'one ack of four followers confirms nothing');
  assert.equal(five.host(1).node.raft.leaseValid(), false);
  five.drop = (m) => m.type === 'MsgHeartbeatResp' && m.from !== 2 && m.from !== 3;
  five.host(1).node.tick();
  five.stabilize();
  assert.equal(five.host(1).node.raft.leaseValid(), true, 'two acks of four followers make a quorum with the leader');
  assert.deepEqual(five.host(1).readStates.map((r) => r.context), ['a'], 'the pending read rode on the periodic heartbeat');
});

test('lease: no lease-based reads while a leadership transfer is in progress', () => {
  const net = elect(lease);
  readWithRound(net, 'a');
  // Make 2 lag behind so the transfer waits for it to catch up (no MsgTimeoutNow yet).
  net.drop = (m) => m.to === 2 || m.from === 2;
  net.host(1).node.propose(new Uint8Array([1]));
  net.stabilize();
  const leader = net.host(1).node;
  assert.equal(leader.raft.leaseValid(), true, 'the quorum (1, 3) keeps acknowledging');
  leader.transferLeadership(n(2));
  assert.equal(leader.raft.leadTransferee, 2);
  assert.equal(leader.raft.leaseValid(), false);
  readWithRound(net, 'during-transfer');
});

test('lease: no lease for the rest of the term once a MsgTimeoutNow was sent, even after the transfer is abandoned', () => {
  const net = elect(lease);
  readWithRound(net, 'a');
  const leader = net.host(1).node;
  leader.transferLeadership(n(2)); // 2 is caught up: MsgTimeoutNow goes out at once
  const rd = net.handle(1);
  assert.ok(rd.messages.some((m) => m.type === 'MsgTimeoutNow' && m.to === 2));
  // The MsgTimeoutNow (and everything else to or from 2) is delayed indefinitely; 3 keeps acking.
  net.queue = [];
  net.drop = (m) => m.to === 2 || m.from === 2;
  assert.equal(leader.raft.leaseValid(), false);
  for (let k = 0; k < ELECTION_TICKS; k++) {
    leader.tick();
    net.stabilize();
  }
  assert.equal(leader.raft.role, 'leader');
  assert.equal(leader.raft.leadTransferee, 0, 'the transfer was abandoned after an election timeout');
  // The late MsgTimeoutNow could still make 2 win an election that bypasses the followers' leases.
  assert.equal(leader.raft.leaseValid(), false);
  readWithRound(net, 'after-abandoned-transfer');
});

test('lease: a follower read is answered by the leader at once while the lease holds', () => {
  const net = elect(lease);
  readWithRound(net, 'a');
  net.host(2).node.readIndex('from-2');
  net.handle(2); // MsgReadIndex 2 -> 1
  const forwarded = net.queue;
  net.queue = [];
  assert.deepEqual(forwarded.map((m) => `${m.type} ${m.from}->${m.to}`), ['MsgReadIndex 2->1']);
  net.host(1).node.step(forwarded[0]!);
  const rd = net.handle(1);
  assert.deepEqual(heartbeats(rd), []);
  assert.deepEqual(rd.messages.map((m) => `${m.type} ${m.from}->${m.to}`), ['MsgReadIndexResp 1->2']);
  net.stabilize();
  assert.deepEqual(net.host(2).readStates, [{ index: net.host(1).node.raft.raftLog.committed, context: 'from-2' }]);
});

test('lease: the safe option never answers without a heartbeat round', () => {
  const net = elect({ readOnlyOption: 'safe' });
  readWithRound(net, 'a');
  readWithRound(net, 'b');
  assert.equal(net.host(1).node.raft.leaseValid(), true, 'the lease is tracked but not used');
});

test('lease: a follower or a deposed leader has no lease', () => {
  const net = elect(lease);
  readWithRound(net, 'a');
  assert.equal(net.host(2).node.raft.leaseValid(), false);
  // Isolate the leader until CheckQuorum deposes it (within two election timeouts).
  for (let k = 0; k < 2 * ELECTION_TICKS && net.host(1).node.raft.role === 'leader'; k++) {
    net.tickIsolated(1);
    if (net.host(1).node.raft.role === 'leader') assert.equal(net.host(1).node.raft.leaseValid(), net.host(1).node.raft.ticks < ELECTION_TICKS - DRIFT_TICKS);
  }
  assert.equal(net.host(1).node.raft.role, 'follower');
  assert.equal(net.host(1).node.raft.leaseValid(), false);
});

test('lease: a follower that may have acknowledged the lease does not campaign on request until it has run out', () => {
  const net = elect(lease);
  readWithRound(net, 'a');
  const follower = net.host(2).node;
  const term = follower.raft.term;
  follower.campaign();
  assert.equal(follower.raft.role, 'follower', 'refused: it heard from the leader within the election timeout');
  assert.equal(follower.raft.term, term);
  assert.equal(follower.hasReady(), false, 'no vote request, no state change');
  // Cut off from the leader for a minimum election timeout, its lease is over: it campaigns,
  // on its own timer or on request.
  for (let k = 0; k < ELECTION_TICKS; k++) net.tickIsolated(2);
  if (follower.raft.role === 'follower') follower.campaign();
  assert.notEqual(follower.raft.role, 'follower');
});

test('lease: without lease reads a requested campaign starts at once', () => {
  const net = elect({ readOnlyOption: 'safe' });
  readWithRound(net, 'a');
  const follower = net.host(2).node;
  follower.campaign();
  assert.notEqual(follower.raft.role, 'follower');
});
