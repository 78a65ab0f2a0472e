/**
 * KvClients is the simulated clients' connection to the simulated cluster in the whole-stack
 * mode: a write is proposed at a node (the leader half the time, else any running node, which
 * forwards it) and answered when that node incarnation applies it; a read is a ReadIndex read at
 * a node, answered from that node's store once it has applied up to the read index. An answer
 * that does not come — the node crashed or restarted, the entry was dropped or replaced, the
 * read was lost — becomes an unknown outcome after `timeoutTicks`, or at once when the node went
 * down. A proposal the node refuses outright (no leader, forwarding off) is a definite failure.
 * History times are simulated milliseconds: one step is SIM_MS_PER_STEP.
 */
import { randomChance, randomInt, type Prng } from '../../src/lib/prng.js';
import type { KvApplyResult, KvCommand, LeaseId, MvccStore } from '../../src/kv/index.js';
import { RaftError, type NodeId } from '../../src/raft/index.js';
import { encodeStackValue, KvSimStateMachine, type StackFault } from './kv-state-machine.js';
import type { SimNode } from './sim-node.js';
import { encodeValue } from './state-machine.js';
import { currentLeader, upNodes, type World } from './world.js';

/** SIM_MS_PER_STEP is the simulated time of one step (a tick, ten steps, is 100 ms as etcd's heartbeat). */
export const SIM_MS_PER_STEP = 10;

interface Pending {
  readonly node: NodeId;
  readonly incarnation: number;
  readonly deadlineTick: number;
}

interface PendingWrite extends Pending {
  readonly done: (result: KvApplyResult | null, store: MvccStore | null) => void;
}

interface PendingRead extends Pending {
  readonly done: (store: MvccStore | null) => void;
}

/** KvClients sends the workloads' requests into the simulated cluster (see the file comment). */
export class KvClients {
  private readonly writes = new Map<string, PendingWrite>();
  private readonly reads = new Map<string, PendingRead>();
  private localReads: PendingRead[] = [];
  private deferred: Array<() => void> = [];
  private seq = 0;
  /** counts for the run's summary. */
  readonly stats = { writes: 0, reads: 0, refused: 0, unknown: 0, keepAlivesNotFoundLocally: 0, keepAlivesNotFoundButLive: 0 };

  constructor(
    private readonly world: World,
    readonly prng: Prng,
    readonly timeoutTicks: number,
    private readonly fault: StackFault,
  ) {}

  /** nowMs is the simulated time in milliseconds. */
  nowMs(): number {
    return this.world.step * SIM_MS_PER_STEP;
  }

  /** pickNode picks the node a request goes to: the leader half the time, else any running node. */
  private pickNode(leaderOnly: boolean): SimNode | undefined {
    const leader = currentLeader(this.world);
    if (leader && (leaderOnly || randomChance(this.prng, 0.5))) return leader;
    if (leaderOnly) return undefined;
    const up = upNodes(this.world).filter((n) => n.raw !== undefined);
    return up[randomInt(this.prng, Math.max(1, up.length))];
  }

  /**
   * write proposes `command`; `done` gets the node's apply result and its store right after the
   * apply, or nulls for an unknown outcome. Returns false (and never calls `done`) when the
   * proposal was refused outright.
   */
  write(command: KvCommand, done: (result: KvApplyResult | null, store: MvccStore | null) => void): boolean {
    return this.writeAt(this.pickNode(false), command, done);
  }

  /**
   * keepAlive renews lease `id` as the server's lessor does (`Lessor.keepAlive`): the serving
   * node answers 0 at once (next tick) when its store has no such lease, else proposes a
   * checkpoint with the lease's full TTL and, once it applied it, answers the TTL, or 0 when the
   * lease is gone by then. `done` gets the TTL, 0, or null for an unknown outcome; `applied`
   * tells whether a 0 came after the renewal was applied (proof the revoke was ordered before it).
   */
  keepAlive(id: LeaseId, done: (ttl: number | null, applied: boolean) => void): boolean {
    const node = this.pickNode(false);
    if (!node?.raw) return false;
    const info = storeOf(node).leaseInfo(id);
    if (info === undefined) {
      this.stats.keepAlivesNotFoundLocally++;
      // For the summary only (no client could know): the leader's store still has the lease, so
      // this member answered from a store that lags (it has not applied the grant yet).
      const leader = currentLeader(this.world);
      if (leader !== undefined && leader !== node && storeOf(leader).leaseInfo(id) !== undefined) this.stats.keepAlivesNotFoundButLive++;
      this.world.trace.add(`kv client n${node.id} keep-alive ${id.toString(16)}: not found`);
      this.deferred.push(() => done(0, false));
      return true;
    }
    const command: KvCommand = { type: 'leaseCheckpoint', request: { checkpoints: [{ id, remainingTtl: info.grantedTtl }] } };
    return this.writeAt(node, command, (result, store) => {
      if (result === null || store === null) return done(null, false);
      done(result.ok && store.leaseInfo(id) !== undefined ? info.grantedTtl : 0, true);
    });
  }

  private writeAt(node: SimNode | undefined, command: KvCommand, done: (result: KvApplyResult | null, store: MvccStore | null) => void): boolean {
    const w = this.world;
    const raw = node?.raw;
    if (!node || !raw) return false;
    const value = encodeStackValue(`q${++this.seq}`, command);
    w.proposals.set(value, { node: node.id, incarnation: node.incarnation, tick: w.tick });
    w.stats.proposals++;
    try {
      raw.propose(encodeValue(value));
    } catch (error) {
      if (!(error instanceof RaftError)) throw error;
      w.stats.proposalsRefused++;
      this.stats.refused++;
      w.trace.add(`kv client n${node.id} ${command.type} q${this.seq} refused ${error.code}`);
      return false;
    }
    this.stats.writes++;
    w.trace.add(`kv client n${node.id} ${command.type} q${this.seq}`);
    this.writes.set(value, { node: node.id, incarnation: node.incarnation, deadlineTick: w.tick + this.timeoutTicks, done });
    return true;
  }

  /**
   * read runs a ReadIndex read (at the leader when `leaderOnly`); `done` gets the serving node's
   * store, or null when no answer came. Returns false when no node could take it.
   */
  read(done: (store: MvccStore | null) => void, leaderOnly = false): boolean {
    const w = this.world;
    const node = this.pickNode(leaderOnly);
    const raw = node?.raw;
    if (!node || !raw) return false;
    this.stats.reads++;
    if (this.fault === 'stale-reads') {
      // Broken on purpose: answered (next tick) from the node's local state, without ReadIndex.
      this.localReads.push({ node: node.id, incarnation: node.incarnation, deadlineTick: w.tick, done });
      return true;
    }
    const context = `kr${++this.seq}`;
    w.checker.onReadStarted(context, node.id, w.step);
    try {
      raw.readIndex(context);
    } catch (error) {
      if (!(error instanceof RaftError)) throw error;
      w.checker.forgetRead(context);
      return false;
    }
    w.trace.add(`kv client n${node.id} read-index ${context}`);
    this.reads.set(context, { node: node.id, incarnation: node.incarnation, deadlineTick: w.tick + this.timeoutTicks, done });
    return true;
  }

  /** onValueApplied answers the write whose value `node` just applied, if its client waits there. */
  onValueApplied(node: SimNode, value: string): void {
    const p = this.writes.get(value);
    if (p === undefined || p.node !== node.id || p.incarnation !== node.incarnation) return;
    this.writes.delete(value);
    const result = (node.sm as KvSimStateMachine).lastResult;
    // A skipped duplicate (undefined) cannot be the first application at the proposing node.
    p.done(result ?? null, result === undefined ? null : storeOf(node));
  }

  /** onReadServed answers the read `context` from the node's store. */
  onReadServed(node: SimNode, context: string): void {
    const p = this.reads.get(context);
    if (p === undefined || p.node !== node.id || p.incarnation !== node.incarnation) return;
    this.reads.delete(context);
    p.done(storeOf(node));
  }

  /** onTick gives up on requests whose node went down or restarted, or whose time ran out. */
  onTick(): void {
    const w = this.world;
    const lost = (p: Pending): boolean => {
      const node = w.nodes[p.node - 1];
      return node === undefined || !node.up || node.incarnation !== p.incarnation || w.tick > p.deadlineTick;
    };
    for (const [value, p] of [...this.writes]) {
      if (!lost(p)) continue;
      this.writes.delete(value);
      this.stats.unknown++;
      p.done(null, null);
    }
    const deferred = this.deferred;
    this.deferred = [];
    for (const answer of deferred) answer();
    const localReads = this.localReads;
    this.localReads = [];
    for (const p of localReads) {
      const node = w.nodes[p.node - 1];
      p.done(node !== undefined && node.up && node.incarnation === p.incarnation ? storeOf(node) : null);
    }
    for (const [context, p] of [...this.reads]) {
      if (!lost(p)) continue;
      this.reads.delete(context);
      w.checker.forgetRead(context);
      p.done(null);
    }
  }

  /** inFlight is the number of requests waiting for an answer. */
  get inFlight(): number {
    return this.writes.size + this.reads.size + this.localReads.length + this.deferred.length;
  }
}

/** storeOf is a node's MVCC store (the node runs the whole-stack state machine). */
export function storeOf(node: SimNode): MvccStore {
  return (node.sm as KvSimStateMachine).store;
}
