import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EntryType, nodeId, type Entry } from '../../src/raft/index.js';
import { SafetyChecker, SimFailure } from './checkers.js';
import { LinkMode, SIM_DEFAULTS, Scenario } from './params.js';
import { runSeeds, type SeedJob } from './runner.js';
import { runSimulation } from './simulator.js';
import { encodeValue } from './state-machine.js';
import { RARE_PATHS } from './world.js';

/** FIXED_SEEDS_* pick the seeds `npm test` runs: enough for every fault to fire many times, under a minute on 2 cores. */
const FIXED_SEEDS_3_NODES = 900;
const FIXED_SEEDS_5_NODES = 240;
const FIXED_SEEDS_7_NODES = 120;

test('simulator: fixed seeds (3, 5 and 7 nodes) break no invariant and make progress once healed', async () => {
  const jobs: SeedJob[] = [];
  const add = (count: number, nodes: number, base: number): void => {
    for (let i = 0; i < count; i++) jobs.push({ seed: base + i, nodes, scenario: Scenario.Random, safetyTicks: SIM_DEFAULTS.safetyTicks });
  };
  add(FIXED_SEEDS_3_NODES, 3, 1);
  add(FIXED_SEEDS_5_NODES, 5, 100_001);
  add(FIXED_SEEDS_7_NODES, 7, 200_001);
  const reports: string[] = [];
  const summary = await runSeeds(jobs, { workers: 2, onFailure: (r) => reports.push(r) });
  console.log(summary.text);
  assert.equal(summary.seedsRun, jobs.length);
  assert.equal(summary.failures, 0, reports.join('\n\n'));
  assert.ok(summary.commits > jobs.length * 10, 'the workload commits entries');
  console.log(summary.reachedText);
  const unreached = RARE_PATHS.filter((p) => summary.reached[p] === 0);
  assert.deepEqual(unreached, [], 'every rare path is reached by the fixed seeds');
});

test('simulator: a restarted node re-applying its bootstrap entries is not taken for a removed one', () => {
  // These seeds restart a founder from an empty applied index: it passes through the first
  // bootstrap configuration, which holds only node 1. The harness once took that for the node's
  // removal and shut down a voter, leaving the group without a quorum (a liveness failure; CI's
  // random batch found it with seeds 792876524, 792883959 and 792884299, which took other paths
  // once commit notices stopped being acknowledged, so these were chosen again by the first
  // assertion below). run() throws on any failure.
  for (const seed of [792876002, 792876008, 792876012]) {
    const r = runSimulation({ seed, nodes: 3, keepFullTrace: true });
    const lines = (r.fullTrace ?? '').split('\n');
    assert.ok(lines.some((l) => /n[23] start #[2-9] applied=0 /.test(l)), `seed ${seed}: a founder restarts from applied 0`);
    lines.forEach((l, i) => {
      if (/applied its own removal/.test(l)) assert.notEqual(lines[i - 1], '1/1 EntryConfChange v1', `seed ${seed}: ${l}`);
    });
  }
});

test('simulator: a member in a leader\'s lease does not campaign on request (lease-based reads)', () => {
  // CI's random batch found this seed: a requested campaign on a follower that had acknowledged
  // the leader's lease, and a follower cut off by a clog for longer than the election timeout,
  // elected a new leader while the old one still answered reads from its lease (a stale read,
  // caught by the read-index checker). run() throws on any failure.
  const r = runSimulation({ seed: 1842553255, nodes: 3, keepFullTrace: true });
  assert.ok((r.fullTrace ?? '').includes('campaign'), 'the run asks a node to campaign');
});

test('simulator: one seed replays to the identical trace', () => {
  const a = runSimulation({ seed: 7, nodes: 5, keepFullTrace: true });
  const b = runSimulation({ seed: 7, nodes: 5, keepFullTrace: true });
  assert.ok(a.fullTrace !== undefined && a.fullTrace.length > 0);
  assert.equal(a.traceDigest, b.traceDigest);
  assert.equal(a.fullTrace, b.fullTrace);
  assert.deepEqual(a.stats, b.stats);
  const c = runSimulation({ seed: 8, nodes: 5 });
  assert.notEqual(c.traceDigest, a.traceDigest, 'another seed takes another path');
});

test('simulator: with a node that cannot receive, PreVote+CheckQuorum keeps the leader; without, it churns', () => {
  let withPvcq = 0;
  let withoutPvcq = 0;
  for (const seed of [1, 2, 3]) {
    const base = { seed, nodes: 3, scenario: Scenario.FlakyLink, linkMode: LinkMode.CannotReceive, safetyTicks: 300 } as const;
    withPvcq += runSimulation({ ...base, preVoteCheckQuorum: true }).leaderChangesFaulty;
    withoutPvcq += runSimulation({ ...base, preVoteCheckQuorum: false }).leaderChangesFaulty;
  }
  assert.ok(withPvcq < withoutPvcq, `leader changes with PreVote+CheckQuorum ${withPvcq}, without ${withoutPvcq}`);
  assert.equal(withPvcq, 3, 'one election per run, never disrupted');
});

// The checkers must be able to fail: feed each one a violation.

function entry(index: number, term: number, value: string): Entry {
  return { index, term, type: EntryType.Normal, data: encodeValue(value) };
}

function throwsChecker(name: string, fn: () => void): void {
  assert.throws(fn, (e: unknown) => e instanceof SimFailure && e.checker === name);
}

test('checkers: two leaders in one term', () => {
  const c = new SafetyChecker();
  c.onLeaderObserved(nodeId(1), 3, 'test');
  c.onLeaderObserved(nodeId(1), 3, 'test');
  throwsChecker('election-safety', () => c.onLeaderObserved(nodeId(2), 3, 'test'));
});

test('checkers: a durable vote that changes within a term', () => {
  const c = new SafetyChecker();
  c.onVoteDurable(nodeId(1), { term: 2, vote: nodeId(2), commit: 0 });
  throwsChecker('vote-durability', () => c.onVoteDurable(nodeId(1), { term: 2, vote: nodeId(3), commit: 0 }));
});

test('checkers: two nodes applying different entries at one index, or out of order', () => {
  const c = new SafetyChecker();
  c.onApplied(nodeId(1), entry(1, 1, 'a'), 0, 'a');
  c.onApplied(nodeId(2), entry(1, 1, 'a'), 0, 'a');
  throwsChecker('state-machine-safety', () => c.onApplied(nodeId(3), entry(1, 1, 'b'), 0, 'b'));
  throwsChecker('state-machine-safety', () => c.onApplied(nodeId(3), entry(3, 1, 'c'), 1, 'c'));
  throwsChecker('state-machine-safety', () => c.onSnapshotRestored(nodeId(3), 1, ['x']));
});

test('checkers: an acknowledged write missing at the end, a stale read, bad index order', () => {
  const c = new SafetyChecker();
  c.onAcknowledged('a', 5);
  c.onReadStarted('r1', nodeId(1), 0);
  throwsChecker('read-index', () => c.onReadServed('r1', nodeId(1), 4, 4));
  throwsChecker('acknowledged-entry-lost', () => c.checkAcknowledgedPresent(nodeId(2), ['b'], 5));
  throwsChecker('index-order', () => c.onIndexes(nodeId(1), 6, 5, 7));
});

test('checkers: log matching and leader completeness', () => {
  const c = new SafetyChecker();
  c.onCommitObserved({ term: 2, vote: nodeId(1), commit: 3 });
  const log = {
    initialState: () => { throw new Error('unused'); },
    entries: () => [],
    term: (i: number) => (i === 0 ? 0 : 1),
    lastIndex: () => 2,
    firstIndex: () => 1,
    snapshot: () => { throw new Error('unused'); },
  };
  throwsChecker('leader-completeness', () => c.onBecameLeader(nodeId(2), 3, log));
  c.onAppended(nodeId(1), [entry(1, 1, 'a')], log);
  throwsChecker('log-matching', () => c.onAppended(nodeId(2), [entry(1, 1, 'b')], log));
});
