import { randomChance, randomInt, type Prng } from '../../src/lib/prng.js';
import {
  ConfChangeTransition, ConfChangeType, RaftError, describeConfChange,
  type ConfChange, type ConfChangeSingle, type NodeId,
} from '../../src/raft/index.js';
import { shuffle } from './faults.js';
import { SIM_DEFAULTS } from './params.js';
import type { SimNode } from './sim-node.js';
import { encodeValue } from './state-machine.js';
import { currentLeader, upNodes, type World } from './world.js';

/** SIM_VOTERS_MIN: membership changes never take the voters below this count. */
const SIM_VOTERS_MIN = 3;

/** CLIENT_BACKLOG_ENTRIES_MAX: clients stop writing while the leader has this many uncommitted entries. */
const CLIENT_BACKLOG_ENTRIES_MAX = 64;

/** countFor turns a per-tick rate into this tick's count (integer part plus a chance for the rest). */
function countFor(prng: Prng, perTick: number): number {
  const whole = Math.floor(perTick);
  return whole + (randomChance(prng, perTick - whole) ? 1 : 0);
}

/**
 * localCall runs a call on a node that may refuse it with a RaftError (no leader, conf change
 * pending, ...); anything else is a bug and propagates. Returns the refusal code, if any.
 */
function localCall(call: () => void): string | undefined {
  try {
    call();
    return undefined;
  } catch (error) {
    if (error instanceof RaftError) return error.code;
    throw error;
  }
}

/** Workload drives the clients and the operator: proposals, reads, membership changes, transfers. */
export class WorkloadDriver {
  private valueSeq = 0;
  private readSeq = 0;

  constructor(private readonly world: World) {}

  /** onTick issues this tick's client and operator requests. */
  onTick(): void {
    const w = this.world;
    const load = w.params.workload;
    const prng = w.loadPrng;
    if (w.phase === 'settle') return;
    const proposals = countFor(prng, load.proposalsPerTick);
    // Clients have bounded concurrency: no new writes while the leader's uncommitted tail is long.
    if (!this.backlogged()) for (let i = proposals; i > 0; i--) this.propose(this.pickNode(prng));
    for (let i = countFor(prng, load.readsPerTick); i > 0; i--) this.read(this.pickNode(prng));
    if (w.phase !== 'safety') return;
    if (randomChance(prng, load.confChangesPerTick)) this.changeMembership();
    if (randomChance(prng, load.transfersPerTick)) this.transfer();
    if (randomChance(prng, load.campaignsPerTick)) {
      const n = this.pickNode(prng);
      if (n?.raw) {
        w.trace.add(`client n${n.id} campaign`);
        n.raw.campaign();
      }
    }
  }

  /** backlogged: the leader holds more than CLIENT_BACKLOG_ENTRIES_MAX uncommitted entries. */
  private backlogged(): boolean {
    const leader = currentLeader(this.world);
    return leader !== undefined && leader.disk.live.lastIndex() - leader.commit > CLIENT_BACKLOG_ENTRIES_MAX;
  }

  /** pickNode picks a running node: the leader half the time, else any. */
  private pickNode(prng: Prng): SimNode | undefined {
    const leader = currentLeader(this.world);
    if (leader && randomChance(prng, 0.5)) return leader;
    const up = upNodes(this.world);
    return up[randomInt(prng, Math.max(1, up.length))];
  }

  /** propose submits a fresh unique value at `node`; returns it when the node accepted it. */
  propose(node: SimNode | undefined): string | undefined {
    const w = this.world;
    if (!node?.raw) return undefined;
    const raw = node.raw;
    const value = `v${++this.valueSeq}`;
    w.stats.proposals++;
    w.proposals.set(value, { node: node.id, incarnation: node.incarnation, tick: w.tick });
    const refused = localCall(() => raw.propose(encodeValue(value)));
    if (refused) w.stats.proposalsRefused++;
    w.trace.add(`client n${node.id} propose ${value}${refused ? ` refused ${refused}` : ''}`);
    return refused ? undefined : value;
  }

  private read(node: SimNode | undefined): void {
    const w = this.world;
    if (!node?.raw) return;
    const raw = node.raw;
    const context = `r${++this.readSeq}`;
    w.stats.reads++;
    w.checker.onReadStarted(context, node.id, w.step);
    const refused = localCall(() => raw.readIndex(context));
    w.trace.add(`client n${node.id} read-index ${context}${refused ? ` refused ${refused}` : ''}`);
  }

  private transfer(): void {
    const w = this.world;
    const leader = currentLeader(w);
    if (!leader?.raw) return;
    const others = leader.confState.voters.filter((id) => id !== leader.id);
    const to = others[randomInt(w.loadPrng, Math.max(1, others.length))];
    if (to === undefined) return;
    const raw = leader.raw;
    const refused = localCall(() => raw.transferLeadership(to));
    w.trace.add(`client n${leader.id} transfer-leadership to ${to}${refused ? ` refused ${refused}` : ''}`);
  }

  /**
   * membershipReady: a new node (empty configuration) can learn the configuration. With the
   * bootstrap log it replays it from index 1. Without it (`withConf`) the founding voters are only
   * in snapshot metadata, so every member must have compacted its log past index 1 and any
   * leader brings a new node up to date with a snapshot, which carries the configuration.
   */
  private membershipReady(): boolean {
    if (this.world.params.workload.bootstrapLog) return true;
    return this.world.nodes.every((n) => n.removed || !n.everMember || n.disk.live.firstIndex() > 1);
  }

  /** changeMembership proposes one membership change at the leader, chosen among the valid ones. */
  private changeMembership(): void {
    const w = this.world;
    const leader = currentLeader(w);
    if (!leader?.raw || !this.membershipReady()) return;
    const raw = leader.raw;
    const prng = w.loadPrng;
    const cs = leader.confState;
    let cc: ConfChange | undefined;
    const single = (type: ConfChangeSingle['type'], nodeId: NodeId): ConfChangeSingle => ({ type, nodeId });
    if (cs.votersOutgoing.length > 0) {
      if (cs.autoLeave) return;
      cc = { transition: ConfChangeTransition.Auto, changes: [], context: new Uint8Array(0) };
    } else {
      const learners = cs.learners;
      const voters = cs.voters;
      const options: (() => ConfChange | undefined)[] = [];
      options.push(() => {
        // Ids are never reused: only a node whose add was refused outright is offered again.
        const idle = w.nodes.find((n) => n.up && !n.removed && !n.everMember && !n.addAccepted);
        const target = idle ?? (w.stats.nodesAdded < SIM_DEFAULTS.nodesAddedMax ? w.addNode() : undefined);
        return target ? { transition: ConfChangeTransition.Auto, changes: [single(ConfChangeType.AddLearner, target.id)], context: new Uint8Array(0) } : undefined;
      });
      if (learners.length > 0) {
        const l = learners[randomInt(prng, learners.length)]!;
        options.push(() => ({ transition: ConfChangeTransition.Auto, changes: [single(ConfChangeType.AddVoter, l)], context: new Uint8Array(0) }));
        options.push(() => ({ transition: ConfChangeTransition.Auto, changes: [single(ConfChangeType.RemoveNode, l)], context: new Uint8Array(0) }));
        if (voters.length >= SIM_VOTERS_MIN) {
          const v = voters[randomInt(prng, voters.length)]!;
          const transitions = [ConfChangeTransition.Auto, ConfChangeTransition.JointImplicit, ConfChangeTransition.JointExplicit] as const;
          const transition = transitions[randomInt(prng, transitions.length)]!;
          options.push(() => ({ transition, changes: [single(ConfChangeType.AddVoter, l), single(ConfChangeType.RemoveNode, v)], context: new Uint8Array(0) }));
        }
      }
      if (voters.length > SIM_VOTERS_MIN) {
        const v = voters[randomInt(prng, voters.length)]!;
        options.push(() => ({ transition: ConfChangeTransition.Auto, changes: [single(ConfChangeType.RemoveNode, v)], context: new Uint8Array(0) }));
        options.push(() => ({ transition: ConfChangeTransition.JointExplicit, changes: [single(ConfChangeType.RemoveNode, v)], context: new Uint8Array(0) }));
      }
      cc = shuffle(prng, options)[0]?.();
    }
    if (!cc) return;
    const change = cc;
    w.stats.confChangesProposed++;
    const refused = localCall(() => raw.proposeConfChange(change));
    if (refused) w.stats.confChangesRefused++;
    else {
      for (const c of change.changes) {
        const target = w.nodes[c.nodeId - 1];
        if (target && c.type !== ConfChangeType.RemoveNode) target.addAccepted = true;
      }
    }
    w.trace.add(`operator n${leader.id} propose-conf-change ${describeConfChange(change)}${refused ? ` refused ${refused}` : ''}`);
  }
}
