import { randomChance, randomInt, Xoshiro128, type Prng } from '../../src/lib/prng.js';
import { describeMessage, nodeId, type ConfState, type Message, type NodeId } from '../../src/raft/index.js';
import { SafetyChecker, SimFailure, termOrUndefined } from './checkers.js';
import { decommissionRemoved, healForLiveness, injectFaults, setUpFlakyLinks, setUpLinkMode, strayMessage } from './faults.js';
import { SimNetwork } from './network.js';
import {
  LinkMode, SIM_DEFAULTS, Scenario, catchUpTicksPerEntry, describeParams, drawParams,
  type LinkMode as LinkModeT, type SimOptions, type SimParams,
} from './params.js';
import { isMember, SimNode, type HostServices } from './sim-node.js';
import { describeNodes, failureReport, SimRunError, type SimResult } from './report.js';
import { Trace } from './trace.js';
import { KvStack, type StackOutcome } from './kv-stack.js';
import { WorkloadDriver } from './workload.js';
import { currentLeader, reach, schedule, type Phase, type Proposal, type RunStats, type ScheduledEvent, type World } from './world.js';

export { SimRunError, type SimResult } from './report.js';

/**
 * Simulation runs one seed: N nodes running the real RawNode in one process, a simulated
 * network and disks, client and operator load, and the checkers after every step. The run is a
 * fault phase (`safetyTicks`), then a liveness phase that heals the network and a majority and
 * requires a leader and a newly acknowledged write within `livenessTicksMax`, then a settle phase
 * in which every live member must catch up; the final checks compare every state machine with
 * every acknowledged write. Every random draw comes from PRNG streams derived from the seed, so a
 * run replays exactly.
 */
export class Simulation implements World {
  readonly params: SimParams;
  readonly netPrng: Prng;
  readonly faultPrng: Prng;
  readonly loadPrng: Prng;
  private readonly nodePrng: Prng;
  readonly network: SimNetwork;
  readonly checker = new SafetyChecker();
  readonly trace: Trace;
  readonly nodes: SimNode[] = [];
  readonly proposals = new Map<string, Proposal>();
  readonly scheduled: ScheduledEvent[] = [];
  readonly stats: RunStats = {
    crashes: 0, restarts: 0, proposals: 0, proposalsRefused: 0, reads: 0, confChangesProposed: 0,
    confChangesRefused: 0, nodesAdded: 0, partitions: 0, clogs: 0, snapshotsSent: 0, reached: {},
  };
  phase: Phase = 'safety';
  tick = 0;
  step = 0;
  private readonly workload: WorkloadDriver;
  private readonly host: HostServices;
  private readonly tickSkipRate = new Map<NodeId, number>();
  private transportReports: { leader: NodeId; to: NodeId; report: 'snapshot-finished' | 'snapshot-failed' | 'unreachable' }[] = [];
  private readonly linkMode: LinkModeT | undefined;
  /** stack runs a verification workload through the real MVCC store (`stack: 'kv'` only). */
  private readonly stack: KvStack | undefined;

  constructor(readonly options: SimOptions) {
    const master = new Xoshiro128(options.seed);
    this.params = drawParams(master, options);
    this.netPrng = new Xoshiro128(master.nextUint32());
    this.faultPrng = new Xoshiro128(master.nextUint32());
    this.loadPrng = new Xoshiro128(master.nextUint32());
    this.nodePrng = new Xoshiro128(master.nextUint32());
    if (options.scenario === Scenario.FlakyLink) {
      const modes = [LinkMode.CannotReceive, LinkMode.CannotSend, LinkMode.Flaky] as const;
      this.linkMode = options.linkMode ?? modes[randomInt(master, modes.length)]!;
    } else {
      this.linkMode = undefined;
    }
    if (this.params.workload.confChangesPerTick > 0 && !this.params.workload.bootstrapLog && this.params.workload.snapshotEveryEntries > 50) {
      this.params.workload.snapshotEveryEntries = 50;
    }
    if (options.stack === 'kv') {
      // The workload's clients replace the value-writing clients (the liveness probe stays).
      this.params.workload.proposalsPerTick = 0;
      this.params.workload.readsPerTick = 0;
      this.stack = new KvStack(this, new Xoshiro128(master.nextUint32()), options.stackWorkload ?? 'register', options.stackFault ?? 'none', this.params.raft.electionTicks);
    } else {
      this.stack = undefined;
    }
    this.network = new SimNetwork(this.netPrng, this.params.network, SIM_DEFAULTS.inFlightMessagesMax);
    this.trace = new Trace(options.traceTailLines, options.keepFullTrace);
    this.workload = new WorkloadDriver(this);
    const sim = this;
    this.host = {
      checker: this.checker,
      trace: this.trace,
      step: () => sim.step,
      send: (sender, m) => sim.send(sender, m),
      crashMidReady: () => sim.phase === 'safety' && randomChance(sim.faultPrng, sim.params.faults.crashMidReadyRate),
      reach: (path) => reach(sim.stats, path),
      isProposer: (value, node, incarnation) => {
        const p = sim.proposals.get(value);
        return p !== undefined && p.node === node && p.incarnation === incarnation;
      },
      ...(this.stack === undefined ? {} : {
        newStateMachine: () => sim.stack!.newStateMachine(),
        onValueApplied: (node, value) => sim.stack!.onValueApplied(node, value),
        onReadServed: (node, context) => sim.stack!.onReadServed(node, context),
      }),
    };
  }

  /** run executes the whole run; throws SimRunError on the first broken invariant. */
  run(): SimResult {
    try {
      return this.runPhases();
    } catch (error) {
      throw this.failure(error);
    }
  }

  private runPhases(): SimResult {
    const o = this.options;
    this.trace.prefix = '[setup]';
    this.trace.add(`seed ${o.seed} nodes ${o.nodes} scenario ${o.scenario}${this.linkMode ? ` link-mode ${this.linkMode}` : ''}` +
      (this.stack ? ` stack kv workload ${this.stack.workloadName}${this.stack.fault !== 'none' ? ` fault ${this.stack.fault}` : ''}` : ''));
    this.trace.add(describeParams(this.params));
    const founders: NodeId[] = [];
    for (let i = 1; i <= o.nodes; i++) founders.push(nodeId(i));
    const initial: ConfState = { voters: founders, votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false };
    for (const id of founders) this.createNode(id, initial).start();
    if (this.linkMode) setUpLinkMode(this, founders[founders.length - 1]!, this.linkMode);
    else setUpFlakyLinks(this);

    let leaderlessTicksFaulty = 0;
    for (let t = 0; t < o.safetyTicks; t++) {
      this.runTick();
      if (!this.hasUndisputedLeader()) leaderlessTicksFaulty++;
    }
    const leaderChangesFaulty = this.checker.leaderChanges;

    this.phase = 'liveness';
    this.trace.prefix = `[${this.step}]`;
    healForLiveness(this);
    const livenessStart = this.tick;
    let probe: string | undefined;
    let probeTick = 0;
    let progressed = false;
    // Without PreVote, when only one live node is electable every node's timeout must first fire
    // on it; allow a fixed number of election rounds as well as the fixed tick bound.
    // A new leader may first have to replicate a long uncommitted tail, one entry per round trip
    // on a one-entry, one-in-flight pipeline: allow for the lag at the time of healing too.
    let lastMax = 0;
    let commitMin = Number.MAX_SAFE_INTEGER;
    for (const n of this.nodes) {
      if (n.removed || !n.everMember) continue;
      lastMax = Math.max(lastMax, n.disk.live.lastIndex());
      commitMin = Math.min(commitMin, n.commit);
    }
    const lag = Math.max(0, lastMax - Math.min(commitMin, lastMax));
    const livenessTicksMax = Math.max(o.livenessTicksMax, SIM_DEFAULTS.livenessElectionsMax * this.params.raft.electionTicks) +
      catchUpTicksPerEntry(this.params) * lag;
    while (this.tick - livenessStart < livenessTicksMax) {
      const leader = currentLeader(this);
      if (leader && (probe === undefined || this.tick - probeTick > 4 * this.params.raft.electionTicks)) {
        probe = this.workload.propose(leader);
        probeTick = this.tick;
      }
      this.runTick();
      if (this.ackedSince(livenessStart)) {
        progressed = true;
        break;
      }
    }
    if (!progressed) {
      const leader = currentLeader(this);
      throw new SimFailure('liveness', `no new write acknowledged within ${livenessTicksMax} ticks after healing ` +
        `(leader: ${leader ? `${leader.id} term ${leader.term}` : 'none'}; ${this.describeNodes()})`);
    }
    const livenessTicks = this.tick - livenessStart;

    this.phase = 'settle';
    this.settle();
    this.finalChecks();
    const stack: StackOutcome | undefined = this.stack?.finish(() => this.runTick());
    if (this.network.messagesDuplicated > 0) this.stats.reached['message-duplicated'] = this.network.messagesDuplicated;
    return {
      seed: o.seed,
      nodes: o.nodes,
      scenario: o.scenario,
      linkMode: this.linkMode,
      preVote: this.params.raft.preVote,
      checkQuorum: this.params.raft.checkQuorum,
      steps: this.step,
      ticks: this.tick,
      leaderChanges: this.checker.leaderChanges,
      leaderChangesFaulty,
      leaderlessTicksFaulty,
      commits: this.checker.appliedIndexes,
      acknowledged: this.checker.acked.size,
      readsServed: this.checker.readsServed,
      livenessTicks,
      stats: this.stats,
      messagesSent: this.network.messagesSent,
      messagesDropped: this.network.messagesDropped,
      traceDigest: this.trace.digest(),
      traceLines: this.trace.lines,
      params: describeParams(this.params),
      fullTrace: this.trace.fullText(),
      ...(stack === undefined ? {} : { stack }),
    };
  }

  /** deliverStrayMessages hands this tick's messages from strangers straight to random nodes. */
  private deliverStrayMessages(): void {
    const rate = this.params.faults.strayMessagesPerTick;
    if (rate === 0 || !randomChance(this.faultPrng, Math.min(1, rate))) return;
    const up = this.nodes.filter((n) => n.up);
    const to = up[randomInt(this.faultPrng, Math.max(1, up.length))];
    if (!to) return;
    const m = strayMessage(this, to.id, to.term);
    this.trace.add(`stray ${describeMessage(m)}`);
    reach(this.stats, 'stray-message');
    to.deliver(m);
  }

  /** fsyncSteps draws how long the next fsync takes (0: the host handles a Ready in one go). */
  private fsyncSteps(): number {
    const max = this.params.faults.fsyncStepsMax;
    return max === 0 ? 0 : randomInt(this.nodePrng, max + 1);
  }

  /** hasUndisputedLeader: a running node leads, and no running node is in a higher term. */
  private hasUndisputedLeader(): boolean {
    const leader = currentLeader(this);
    return leader !== undefined && this.nodes.every((n) => !n.up || n.term <= leader.term);
  }

  private ackedSince(tick: number): boolean {
    for (const value of this.checker.acked.keys()) {
      const p = this.proposals.get(value);
      if (p && p.tick >= tick) return true;
    }
    return false;
  }

  /** settle runs until every live member has applied every acknowledged write (bounded). */
  private settle(): void {
    const target = (): number => {
      let max = 0;
      for (const index of this.checker.acked.values()) max = Math.max(max, index);
      return max;
    };
    // A member far behind on a one-entry, one-in-flight pipeline needs a round trip per entry.
    let gap = 0;
    for (const n of this.liveMembers()) gap = Math.max(gap, target() - n.sm.appliedIndex);
    const ticksMax = SIM_DEFAULTS.settleTicksMax + catchUpTicksPerEntry(this.params) * gap;
    // With the whole stack, keep-alives and the leader's lessor keep writing through the settle
    // phase, so a goal that moved with them could stay out of reach of a member on a slow
    // pipeline forever: every member must reach what was acknowledged when settling began (the
    // final checks then hold each member to the acknowledged writes it has applied).
    const frozen = this.stack !== undefined ? target() : undefined;
    for (let t = 0; t < ticksMax; t++) {
      const goal = frozen ?? target();
      if (this.liveMembers().every((n) => n.sm.appliedIndex >= goal)) return;
      this.runTick();
    }
    const goal = frozen ?? target();
    const behind = this.liveMembers().filter((n) => n.sm.appliedIndex < goal).map((n) => `${n.id}@${n.sm.appliedIndex}`);
    throw new SimFailure('liveness', `live members [${behind.join(' ')}] did not apply index ${goal} within ${ticksMax} ticks (${this.describeNodes()})`);
  }

  /** liveMembers are the running nodes in the leader's configuration. */
  private liveMembers(): SimNode[] {
    const leader = currentLeader(this);
    const cs = leader?.confState;
    return this.nodes.filter((n) => n.up && (cs ? isMember(cs, n.id) : n.everMember));
  }

  /** finalChecks: every live member holds every acknowledged write, and committed prefixes agree. */
  private finalChecks(): void {
    const members = this.liveMembers();
    for (const n of members) {
      this.checker.checkAcknowledgedPresent(n.id, n.sm.values, n.sm.appliedIndex, this.stack !== undefined ? n.sm.appliedIndex : undefined);
    }
    for (let i = 0; i < members.length; i++) {
      for (let j = i + 1; j < members.length; j++) {
        const a = members[i]!;
        const b = members[j]!;
        const lo = Math.max(a.disk.live.firstIndex(), b.disk.live.firstIndex());
        const hi = Math.min(a.commit, b.commit);
        for (let k = lo; k <= hi; k++) {
          if (termOrUndefined(a.disk.live, k) !== termOrUndefined(b.disk.live, k)) {
            throw new SimFailure('log-matching', `committed entry ${k} differs between nodes ${a.id} and ${b.id}`);
          }
        }
      }
    }
    this.trace.add(`final: ${members.length} live members hold all ${this.checker.acked.size} acknowledged writes`);
  }

  private createNode(id: NodeId, initial: ConfState): SimNode {
    const node = new SimNode(id, initial, this.params.raft, () => this.nodePrng.nextUint32(), this.host, this.params.workload.bootstrapLog);
    node.checkpointApplied = this.params.workload.checkpointApplied;
    const skew = this.params.faults.skewedTickRate;
    this.tickSkipRate.set(id, skew > 0 && randomChance(this.nodePrng, 0.5) ? skew : 0);
    this.nodes.push(node);
    return node;
  }

  /** addNode creates and starts a node with an empty configuration (the next unused id). */
  addNode(): SimNode {
    const id = nodeId(this.nodes.length + 1);
    const empty: ConfState = { voters: [], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false };
    const node = this.createNode(id, empty);
    this.stats.nodesAdded++;
    this.trace.add(`operator add node ${id} (empty configuration)`);
    node.start();
    return node;
  }

  private send(sender: NodeId, m: Message): void {
    const dropped = this.network.send(sender, m, this.step);
    if (m.type === 'MsgSnap') this.stats.snapshotsSent++;
    if (dropped) {
      this.trace.add(`drop ${dropped} ${describeMessage(m)}`);
      if (m.type === 'MsgSnap') this.transportReports.push({ leader: m.from, to: m.to, report: 'snapshot-failed' });
      else if (dropped === 'partition' && m.type === 'MsgApp') this.transportReports.push({ leader: m.from, to: m.to, report: 'unreachable' });
    }
  }

  private runTick(): void {
    for (let s = 0; s < SIM_DEFAULTS.stepsPerTick; s++) this.runStep(s === 0);
  }

  private runStep(tickNow: boolean): void {
    this.trace.prefix = `[${this.step}]`;
    if (tickNow) this.onTick();
    this.flushTransportReports();
    const due = this.network.takeDue(this.step, (_sender, m, reason) => {
      this.trace.add(`drop ${reason} ${describeMessage(m)}`);
      if (m.type === 'MsgSnap') this.transportReports.push({ leader: m.from, to: m.to, report: 'snapshot-failed' });
    });
    for (const { message: m } of due) {
      const to = this.nodes[m.to - 1];
      if (!to?.up) {
        this.trace.add(`drop down ${describeMessage(m)}`);
        if (m.type === 'MsgSnap') this.transportReports.push({ leader: m.from, to: m.to, report: 'snapshot-failed' });
        continue;
      }
      this.trace.add(`deliver ${describeMessage(m)}`);
      if (m.type === 'MsgTimeoutNow') reach(this.stats, 'timeout-now-delivered');
      else if (m.type === 'MsgProp') reach(this.stats, 'proposal-forwarded');
      else if (m.type === 'MsgReadIndex') reach(this.stats, 'read-forwarded');
      to.deliver(m);
      if (m.type === 'MsgSnap') this.transportReports.push({ leader: m.from, to: m.to, report: 'snapshot-finished' });
    }
    const order = this.nodes.length;
    const start = randomInt(this.netPrng, order);
    for (let i = 0; i < order; i++) this.nodes[(start + i) % order]!.handleReadies(SIM_DEFAULTS.readiesPerStepMax, this.fsyncSteps());
    this.step++;
  }

  /**
   * flushTransportReports tells leaders what their transport saw: a MsgSnap delivered or lost,
   * or an append cut by a partition (peer unreachable). Done outside any Ready, as a host would.
   */
  private flushTransportReports(): void {
    if (this.transportReports.length === 0) return;
    const reports = this.transportReports;
    this.transportReports = [];
    for (const r of reports) {
      const leader = this.nodes[r.leader - 1];
      if (!leader?.raw) continue;
      switch (r.report) {
        case 'snapshot-finished': leader.reportSnapshot(r.to, true); break;
        case 'snapshot-failed': leader.reportSnapshot(r.to, false); break;
        case 'unreachable': leader.raw.reportUnreachable(r.to); break;
      }
    }
  }

  private onTick(): void {
    this.tick++;
    const due = this.scheduled.filter((e) => e.atTick <= this.tick);
    if (due.length > 0) {
      for (const e of due) {
        this.trace.add(`fault ${e.what}`);
        e.run();
      }
      const keep = this.scheduled.filter((e) => e.atTick > this.tick);
      this.scheduled.length = 0;
      this.scheduled.push(...keep);
    }
    if (this.phase === 'safety') {
      injectFaults(this);
      this.deliverStrayMessages();
    } else {
      decommissionRemoved(this);
    }
    for (const n of this.nodes) {
      if (n.up && n.removalApplied && this.phase === 'safety') {
        n.removalApplied = false;
        const id = n.id;
        schedule(this, this.tick + SIM_DEFAULTS.removedShutdownElections * this.params.raft.electionTicks, `shut down removed node ${id}`, () => {
          if (!n.up) return;
          n.shutdown();
          reach(this.stats, 'removed-node-shut-down');
        });
      }
      if (!n.up && !n.removed && n.restartAtTick !== undefined && n.restartAtTick <= this.tick) {
        n.restartAtTick = undefined;
        this.stats.restarts++;
        n.start();
      }
    }
    this.workload.onTick();
    this.stack?.onTick();
    const f = this.params.faults;
    const w = this.params.workload;
    for (const n of this.nodes) {
      if (!n.raw) continue;
      const skip = this.tickSkipRate.get(n.id) ?? 0;
      if (this.phase === 'safety' && skip > 0 && randomChance(this.nodePrng, skip)) continue;
      n.raw.tick();
      if (n.disk.pendingWrites > 0 && randomChance(this.nodePrng, f.backgroundSyncPerTick)) n.sync();
      n.maybeSnapshot(w.snapshotEveryEntries, w.snapshotKeepEntries);
    }
  }

  private describeNodes(): string {
    return describeNodes(this.nodes);
  }

  private failure(error: unknown): SimRunError {
    if (error instanceof SimRunError) return error;
    return failureReport(this, error);
  }
}

/** runSimulation runs one seed with the given options (defaults filled in). */
export function runSimulation(options: Partial<SimOptions> & { seed: number }): SimResult {
  const full: SimOptions = {
    nodes: SIM_DEFAULTS.nodes,
    scenario: Scenario.Random,
    safetyTicks: SIM_DEFAULTS.safetyTicks,
    livenessTicksMax: SIM_DEFAULTS.livenessTicksMax,
    keepFullTrace: false,
    traceTailLines: SIM_DEFAULTS.traceTailLines,
    ...options,
  };
  return new Simulation(full).run();
}
