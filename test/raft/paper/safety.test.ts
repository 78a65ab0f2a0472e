/**
 * The five guarantees of Figure 3 of the Raft paper, checked after every step of bounded random
 * runs (message loss, duplication, reordering, partitions, crash-restarts, random ticks and
 * proposals) from printed seeds: Election Safety, Leader Append-Only, Log Matching, Leader
 * Completeness, State Machine Safety.
 * Then a liveness phase heals the network and expects a leader and a committed write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Xoshiro128, randomInt, randomChance } from '../../../src/lib/prng.js';
import { Network, TestNode, idsBySize, text } from '../network.js';
import type { Entry, NodeId, Term } from '../../../src/raft/types.js';

const SEEDS = Number(process.env['CONCORD_PAPER_SEEDS'] ?? 40);
const STEPS = 400;

const key = (e: Entry): string => `${e.term}/${e.index}/${text(e)}/${e.type}`;

class Checker {
  /** leaderOfTerm is every leader ever seen, per term (Election Safety). */
  private readonly leaderOfTerm = new Map<Term, NodeId>();
  /** leaderLogs is the last seen log of each (term, leader), to check it only grows (Append-Only). */
  private readonly leaderLogs = new Map<string, string[]>();
  /** committed is every committed entry seen anywhere, by index (for Completeness and SM Safety). */
  private readonly committed = new Map<number, string>();
  /**
   * committedBy bounds, per index, the term in which the entry was committed: the term of the
   * first node seen applying it, which is at least the committing leader's term.
   */
  private readonly committedBy = new Map<number, Term>();

  check(net: Network): void {
    const nodes = [...net.nodes.values()];
    for (const n of nodes) {
      // "applied <= committed <= last index" (DESIGN §3 invariants).
      assert.ok(n.committed <= n.lastIndex, `node ${n.id}: committed ${n.committed} > last ${n.lastIndex}`);
      // State Machine Safety: "if a server has applied a log entry at a given index to its state
      // machine, no other server will ever apply a different log entry for the same index."
      for (const e of n.applied) {
        const k = key(e);
        const seen = this.committed.get(e.index);
        assert.ok(seen === undefined || seen === k, `State Machine Safety: index ${e.index} applied as ${k} on ${n.id}, as ${seen} elsewhere`);
        if (seen === undefined) {
          this.committed.set(e.index, k);
          this.committedBy.set(e.index, n.term);
        }
      }
      if (n.role !== 'leader') continue;
      // Election Safety: "at most one leader can be elected in a given term."
      const other = this.leaderOfTerm.get(n.term);
      assert.ok(other === undefined || other === n.id, `Election Safety: ${other} and ${n.id} both led term ${n.term}`);
      this.leaderOfTerm.set(n.term, n.id);
      // Leader Append-Only: "a leader never overwrites or deletes entries in its log; it only appends."
      const log = n.log().map(key);
      const lk = `${n.term}/${n.id}`;
      const before = this.leaderLogs.get(lk) ?? [];
      assert.deepEqual(log.slice(0, before.length), before, `Leader Append-Only: leader ${n.id} of term ${n.term} rewrote its log`);
      this.leaderLogs.set(lk, log);
      // Leader Completeness: "if a log entry is committed in a given term, then that entry will be
      // present in the logs of the leaders for all higher-numbered terms." A stale leader of a
      // lower term than the commit may lack it.
      for (const [index, k] of this.committed) {
        if (this.committedBy.get(index)! < n.term) {
          assert.equal(log[index - 1], k, `Leader Completeness: leader ${n.id} of term ${n.term} lacks ${k}, committed by term ${this.committedBy.get(index)}`);
        }
      }
    }
    // Log Matching: "if two logs contain an entry with the same index and term, then the logs are
    // identical in all entries up through the given index."
    const logs = nodes.map((n) => n.log().map(key));
    for (let a = 0; a < logs.length; a++) {
      for (let b = a + 1; b < logs.length; b++) {
        const la = logs[a]!;
        const lb = logs[b]!;
        for (let i = Math.min(la.length, lb.length) - 1; i >= 0; i--) {
          const ta = la[i]!.split('/')[0];
          if (ta === lb[i]!.split('/')[0]) {
            assert.deepEqual(la.slice(0, i + 1), lb.slice(0, i + 1), `Log Matching: nodes ${nodes[a]!.id} and ${nodes[b]!.id} agree on the term at ${i + 1} but differ before`);
            break;
          }
        }
      }
    }
  }
}

function run(seed: number, config: { preVote: boolean; checkQuorum: boolean }): void {
  const prng = new Xoshiro128(seed);
  const size = 3 + 2 * randomInt(prng, 2); // 3 or 5
  const peers = idsBySize(size);
  const net = new Network(peers.map((p) => new TestNode(p, { peers, seed: seed * 31 + p, config })));
  const checker = new Checker();
  let proposals = 0;
  for (let step = 0; step < STEPS; step++) {
    const r = randomInt(prng, 100);
    if (r < 30) {
      net.nodes.get(peers[randomInt(prng, size)]!)!.node.tick();
    } else if (r < 35) {
      const leader = net.leaders()[0];
      if (leader) {
        try { leader.node.propose(new TextEncoder().encode(`p${proposals++}`)); } catch { /* dropped: fine */ }
      }
    } else if (r < 37) {
      // A crash and restart from everything persisted (term, vote, log survive; the rest is lost).
      net.restart(peers[randomInt(prng, size)]!, { seed: seed * 31 + step, config });
    } else if (r < 40) {
      net.heal();
      if (randomChance(prng, 0.7)) net.isolate(peers[randomInt(prng, size)]!);
    } else {
      net.flushAll();
      // Deliver a random subset in a random order; drop some, keep the rest for later.
      const queue = net.queue;
      net.queue = [];
      const later = [];
      while (queue.length > 0) {
        const [m] = queue.splice(randomInt(prng, queue.length), 1);
        if (randomChance(prng, 0.1)) continue; // lost
        if (randomChance(prng, 0.05)) later.push(m!); // duplicated: delivered now and again later
        if (randomChance(prng, 0.3)) later.push(m!);
        else net.queue.push(m!);
      }
      net.deliver();
      net.queue.push(...later);
    }
    net.flushAll();
    checker.check(net);
  }
  // Liveness: heal everything, keep ticking and delivering; a leader must emerge and commit.
  net.heal();
  let leaderCommitted = false;
  for (let round = 0; round < 500 && !leaderCommitted; round++) {
    net.tickAll();
    net.stabilize();
    checker.check(net);
    const leader = net.leaders()[0];
    if (leader && round % 20 === 19) {
      try { leader.node.propose(new TextEncoder().encode('final')); } catch { /* retry later */ }
      net.stabilize();
      leaderCommitted = [...net.nodes.values()].every((n) => n.applied.some((e) => text(e) === 'final'));
    }
  }
  assert.ok(leaderCommitted, 'liveness: after healing, no leader committed a write everywhere');
}

for (const config of [{ preVote: false, checkQuorum: false }, { preVote: true, checkQuorum: true }]) {
  test(`Figure 3: Raft's safety properties hold under loss, duplication, reordering, partitions and restarts (preVote=${config.preVote} checkQuorum=${config.checkQuorum})`, () => {
    const base = Number(process.env['CONCORD_PAPER_SEED'] ?? 1);
    for (let seed = base; seed < base + SEEDS; seed++) {
      try {
        run(seed, config);
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        throw new Error(`seed ${seed} failed (replay: CONCORD_PAPER_SEED=${seed} CONCORD_PAPER_SEEDS=1): ${detail}`, { cause: error });
      }
    }
  });
}
