import { randomChance, randomFloat, randomInt, type Prng } from '../../src/lib/prng.js';
import { ReadOnlyOption } from '../../src/raft/index.js';
import type { WorkloadName } from '../../src/check/workload-histories.js';
import type { StackFault } from './kv-state-machine.js';
import type { NetworkFaults } from './network.js';

/** Scenario picks what a run does: random faults everywhere, or the leader-stability scenario. */
export const Scenario = { Random: 'random', FlakyLink: 'flaky-link' } as const;
export type Scenario = (typeof Scenario)[keyof typeof Scenario];

/** LinkMode is the fault the flaky-link scenario puts on one node's links. */
export const LinkMode = {
  /** cannot-receive: every message to the node is dropped; it still sends (it campaigns). */
  CannotReceive: 'cannot-receive',
  /** cannot-send: every message from the node is dropped; it still hears the leader. */
  CannotSend: 'cannot-send',
  /** flaky: 75% of messages both ways are dropped (FLAKY_LINK_DROP_RATE). */
  Flaky: 'flaky',
} as const;
export type LinkMode = (typeof LinkMode)[keyof typeof LinkMode];

/** SimOptions are what the caller picks; everything else is drawn from the seed. */
export interface SimOptions {
  readonly seed: number;
  /**
   * stack: 'list' replicates the value list and checks the Raft invariants; 'kv' also applies the
   * log to the real MVCC store and runs `stackWorkload` through it (kv-stack.ts).
   */
  readonly stack?: 'list' | 'kv';
  /** stackWorkload is the workload of a 'kv' run (default register). */
  readonly stackWorkload?: WorkloadName;
  /** stackFault breaks the stack on purpose (negative controls only). */
  readonly stackFault?: StackFault;
  /** nodes is the number of founding voters (3, 5 or 7). */
  readonly nodes: number;
  readonly scenario: Scenario;
  /** safetyTicks is the length of the fault phase, in ticks. */
  readonly safetyTicks: number;
  /** livenessTicksMax bounds the healed phase: a leader and a new commit must appear within it. */
  readonly livenessTicksMax: number;
  /** keepFullTrace keeps every trace line (replay); otherwise only the tail and a hash. */
  readonly keepFullTrace: boolean;
  /** traceTailLines is how many trace lines a failure report prints. */
  readonly traceTailLines: number;
  /** preVoteCheckQuorum forces PreVote and CheckQuorum on or off (otherwise drawn). */
  readonly preVoteCheckQuorum?: boolean;
  /** linkMode forces the flaky-link scenario's fault (otherwise drawn). */
  readonly linkMode?: LinkMode;
}

/** SIM_DEFAULTS are the option defaults shared by the CLI and the tests. */
export const SIM_DEFAULTS = {
  nodes: 3,
  safetyTicks: 400,
  livenessTicksMax: 400,
  traceTailLines: 60,
  /** stepsPerTick is the number of simulator steps (message-delay units) per Raft tick. */
  stepsPerTick: 10,
  /** nodesAddedMax bounds how many members a run may add beyond the founding ones. */
  nodesAddedMax: 3,
  /** inFlightMessagesMax bounds the network queue; overflow is loss. */
  inFlightMessagesMax: 20_000,
  /** readiesPerStepMax bounds the Ready loop of one node in one step. */
  readiesPerStepMax: 8,
  /** settleTicksMax bounds the wait for live members to catch up after liveness. */
  settleTicksMax: 400,
  /** livenessElectionsMax: the liveness bound is at least this many election timeouts. */
  livenessElectionsMax: 50,
  /** removedShutdownElections: a node that applied its own removal stops this many election timeouts later. */
  removedShutdownElections: 2,
  /** settleTicksPerEntryBehind extends the settle bound per entry the furthest member is behind (at least; see catchUpTicksPerEntry). */
  settleTicksPerEntryBehind: 4,
} as const;

/**
 * catchUpTicksPerEntry is how many ticks the liveness and settle bounds allow per entry a member
 * is behind: on a one-entry, one-in-flight pipeline each entry costs a round trip, so twice this
 * network's slow round trip (the longest regular delay plus the expected long delay each way,
 * plus a heartbeat for a lost message's resend), divided by the chance that both messages arrive;
 * never less than SIM_DEFAULTS.settleTicksPerEntryBehind. With 1..20-step delays, 5 % long
 * delays of 150 steps and 5 % loss it is 15 ticks: such a member was seen catching up at 9.
 */
export function catchUpTicksPerEntry(p: SimParams): number {
  const n = p.network;
  const oneWaySteps = n.delayStepsMax + n.longDelayRate * n.longDelayStepsMax;
  const roundTripSteps = 2 * oneWaySteps + p.raft.heartbeatTicks * SIM_DEFAULTS.stepsPerTick;
  const delivered = (1 - n.dropRate) ** 2;
  return Math.max(SIM_DEFAULTS.settleTicksPerEntryBehind, Math.ceil((2 * roundTripSteps) / delivered / SIM_DEFAULTS.stepsPerTick));
}

/** FaultRates are per-tick chances of fault events (0..1), drawn from the seed. */
export interface FaultRates {
  crashPerTick: number;
  /** crashMidReadyRate is the chance a Ready's handling is cut short by a crash before its sync. */
  crashMidReadyRate: number;
  downTicksMax: number;
  partitionPerTick: number;
  partitionTicksMax: number;
  clogPerTick: number;
  clogTicksMax: number;
  flakyLinks: number;
  flakyDropRate: number;
  /** backgroundSyncPerTick is the chance per tick that a node fsyncs writes that did not need it. */
  backgroundSyncPerTick: number;
  /** skewedTickRate is the chance a node misses a tick (clock skew); 0 for lease-based reads. */
  skewedTickRate: number;
  /** fsyncStepsMax: an fsync takes 0..this many steps (0: synchronous host). */
  fsyncStepsMax: number;
  /** strayMessagesPerTick: responses from nodes outside the group, delivered straight to a node. */
  strayMessagesPerTick: number;
}

/** Workload is the client load and the host's maintenance, drawn from the seed. */
export interface Workload {
  proposalsPerTick: number;
  readsPerTick: number;
  confChangesPerTick: number;
  transfersPerTick: number;
  campaignsPerTick: number;
  /** snapshotEveryEntries: a node snapshots once it has applied this many entries past its last snapshot. */
  snapshotEveryEntries: number;
  /** snapshotKeepEntries: entries kept before the snapshot index when compacting. */
  snapshotKeepEntries: number;
  /** checkpointApplied: the state machine's apply is durable (restart with applied = checkpoint) rather than re-applied from the snapshot. */
  checkpointApplied: boolean;
  /**
   * bootstrapLog: founders start from `MemoryStorage.bootstrap` (configuration as committed log
   * entries); otherwise from `withConf` (configuration only in the index-0 snapshot metadata).
   */
  bootstrapLog: boolean;
}

/** RaftKnobs are the core's settings for a run. */
export interface RaftKnobs {
  electionTicks: number;
  heartbeatTicks: number;
  preVote: boolean;
  checkQuorum: boolean;
  readOnlyOption: ReadOnlyOption;
  appendEntriesPerMsgMax: number;
  inflightMsgsMax: number;
  /** The byte limits are drawn tiny in some runs so pagination and flow control paths run. */
  appendBytesPerMsgMax: number;
  inflightBytesMax: number;
  committedBytesPerReadyMax: number;
  uncommittedBytesMax: number;
  disableProposalForwarding: boolean;
}

/** SimParams is everything a run does, drawn from its seed (printed at the start of the trace). */
export interface SimParams {
  readonly raft: RaftKnobs;
  readonly network: NetworkFaults;
  readonly faults: FaultRates;
  readonly workload: Workload;
}

/** drawParams draws a run's settings; for the flaky-link scenario most faults are off. */
export function drawParams(prng: Prng, options: SimOptions): SimParams {
  const pick = <T>(xs: readonly T[]): T => xs[randomInt(prng, xs.length)]!;
  const range = (lo: number, hi: number): number => lo + randomFloat(prng) * (hi - lo);
  const flaky = options.scenario === Scenario.FlakyLink;
  const preVote = options.preVoteCheckQuorum ?? randomChance(prng, 0.7);
  const checkQuorum = options.preVoteCheckQuorum ?? randomChance(prng, 0.7);
  const skewedTickRate = randomChance(prng, 0.3) ? range(0, 0.1) : 0;
  const leaseReads = checkQuorum && skewedTickRate === 0 && randomChance(prng, 0.2);
  const raft: RaftKnobs = {
    electionTicks: pick([5, 10, 10, 20]),
    heartbeatTicks: 1,
    preVote,
    checkQuorum,
    readOnlyOption: leaseReads ? ReadOnlyOption.LeaseBased : ReadOnlyOption.Safe,
    appendEntriesPerMsgMax: pick([1, 4, 64, 4096]),
    inflightMsgsMax: pick([1, 4, 256]),
    appendBytesPerMsgMax: pick([1024 * 1024, 64]),
    inflightBytesMax: 0,
    committedBytesPerReadyMax: pick([64 * 1024 * 1024, 64 * 1024 * 1024, 40]),
    uncommittedBytesMax: pick([64 * 1024 * 1024, 64 * 1024 * 1024, 256]),
    disableProposalForwarding: randomChance(prng, 0.1),
  };
  if (raft.electionTicks >= 10 && randomChance(prng, 0.3)) raft.heartbeatTicks = 3;
  raft.inflightBytesMax = pick([0, 32 * 1024 * 1024, raft.appendBytesPerMsgMax * 2]);
  const network: NetworkFaults = {
    dropRate: flaky ? 0.01 : pick([0, 0.01, 0.05, 0.15]),
    duplicateRate: flaky ? 0 : pick([0, 0.01, 0.05]),
    delayStepsMin: 1,
    delayStepsMax: pick([2, 5, 10, 20]),
    longDelayRate: flaky ? 0 : pick([0, 0.01, 0.05]),
    longDelayStepsMax: pick([50, 150, 300]),
    reorder: randomChance(prng, 0.7),
  };
  const faults: FaultRates = flaky
    ? {
      crashPerTick: 0, crashMidReadyRate: 0, downTicksMax: 1, partitionPerTick: 0, partitionTicksMax: 1,
      clogPerTick: 0, clogTicksMax: 1, flakyLinks: 0, flakyDropRate: 0, backgroundSyncPerTick: 0.2, skewedTickRate: 0, fsyncStepsMax: 0, strayMessagesPerTick: 0,
    }
    : {
      crashPerTick: pick([0, 0.005, 0.02]),
      crashMidReadyRate: pick([0, 0.001, 0.01]),
      downTicksMax: pick([5, 30, 100]),
      partitionPerTick: pick([0, 0.005, 0.02]),
      partitionTicksMax: pick([10, 50, 150]),
      clogPerTick: pick([0, 0.003, 0.01]),
      clogTicksMax: pick([5, 20, 60]),
      flakyLinks: pick([0, 0, 1, 3]),
      flakyDropRate: range(0.1, 0.6),
      backgroundSyncPerTick: pick([0.01, 0.1, 0.5]),
      skewedTickRate,
      fsyncStepsMax: pick([0, 0, 3, 15]),
      strayMessagesPerTick: pick([0, 0, 0.1, 1]),
    };
  const workload: Workload = {
    proposalsPerTick: pick([0.2, 1, 3]),
    readsPerTick: pick([0, 0.2, 1]),
    confChangesPerTick: flaky ? 0 : pick([0, 0.01, 0.05]),
    transfersPerTick: flaky ? 0 : pick([0, 0, 0.005]),
    campaignsPerTick: flaky ? 0 : pick([0, 0, 0.005]),
    snapshotEveryEntries: pick([3, 10, 50, 1_000_000]),
    snapshotKeepEntries: pick([0, 2, 10]),
    checkpointApplied: randomChance(prng, 0.5),
    bootstrapLog: randomChance(prng, 0.7),
  };
  return { raft, network, faults, workload };
}

/** describeParams renders a run's settings as one line for the trace and reports. */
export function describeParams(p: SimParams): string {
  const r = p.raft;
  const n = p.network;
  const f = p.faults;
  const w = p.workload;
  return `raft{election=${r.electionTicks} heartbeat=${r.heartbeatTicks} preVote=${r.preVote} checkQuorum=${r.checkQuorum} ` +
    `read=${r.readOnlyOption} appendMax=${r.appendEntriesPerMsgMax}/${r.appendBytesPerMsgMax}B inflight=${r.inflightMsgsMax}/${r.inflightBytesMax}B ` +
    `committedPerReady=${r.committedBytesPerReadyMax}B uncommitted=${r.uncommittedBytesMax}B noForward=${r.disableProposalForwarding}} ` +
    `net{drop=${n.dropRate} dup=${n.duplicateRate} delay=${n.delayStepsMin}..${n.delayStepsMax} long=${n.longDelayRate}/${n.longDelayStepsMax} reorder=${n.reorder}} ` +
    `faults{crash=${f.crashPerTick} midReady=${f.crashMidReadyRate} down<=${f.downTicksMax} partition=${f.partitionPerTick}/${f.partitionTicksMax} ` +
    `clog=${f.clogPerTick}/${f.clogTicksMax} flaky=${f.flakyLinks}@${f.flakyDropRate.toFixed(2)} bgSync=${f.backgroundSyncPerTick} skew=${f.skewedTickRate.toFixed(3)} fsync<=${f.fsyncStepsMax} stray=${f.strayMessagesPerTick}} ` +
    `load{props=${w.proposalsPerTick} reads=${w.readsPerTick} conf=${w.confChangesPerTick} transfer=${w.transfersPerTick} campaign=${w.campaignsPerTick} ` +
    `snapEvery=${w.snapshotEveryEntries} keep=${w.snapshotKeepEntries} checkpoint=${w.checkpointApplied} bootstrap=${w.bootstrapLog}}`;
}
