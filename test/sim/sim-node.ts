import { Xoshiro128 } from '../../src/lib/prng.js';
import {
  EntryType, RawNode, Role, SnapshotStatus, decodeConfChange, describeReady,
  type ConfState, type Entry, type LogIndex, type Message, type NodeId, type RaftConfig, type ReadState, type Ready,
  type Role as RoleT, type Term,
} from '../../src/raft/index.js';
import { SimFailure, type SafetyChecker } from './checkers.js';
import { SimDisk, type AppliedCheckpoint } from './disk.js';
import type { RaftKnobs } from './params.js';
import { decodeValue, decodeValues, encodeValues, ListStateMachine } from './state-machine.js';
import type { Trace } from './trace.js';
import type { RarePath } from './world.js';

/** HostServices are what a simulated host needs from the simulation around it. */
export interface HostServices {
  readonly checker: SafetyChecker;
  readonly trace: Trace;
  readonly step: () => number;
  /** send puts one message from `sender` on the simulated network. */
  send(sender: NodeId, message: Message): void;
  /** crashMidReady decides whether this Ready's handling is cut short by a crash before its sync. */
  crashMidReady(): boolean;
  /** reach counts a rare path taken (see RARE_PATHS). */
  reach(path: RarePath): void;
  /** isProposer tells whether `value` was proposed by a client of this node incarnation. */
  isProposer(value: string, node: NodeId, incarnation: number): boolean;
  /** newStateMachine makes a node's state machine (default: the value list). */
  newStateMachine?(): ListStateMachine;
  /** onValueApplied hears each client value a node applied, right after it was applied. */
  onValueApplied?(node: SimNode, value: string): void;
  /** onReadServed hears a ReadIndex read served at a node (its state machine is at the read's index or later). */
  onReadServed?(node: SimNode, context: string): void;
}

/** InFlightReady is a Ready whose writes are issued and whose fsync has not completed yet. */
interface InFlightReady {
  readonly rd: Ready;
  /** sent: a leader already sent the messages (before its write was durable). */
  readonly sent: boolean;
  readonly needsSync: boolean;
  /** async: the fsync takes time (the node keeps stepping and ticking meanwhile). */
  readonly async: boolean;
  readonly doneAtStep: number;
}

const EMPTY_CONFIG: ConfState = { voters: [], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false };

/** isMember tells whether `id` is in any part of a configuration. */
export function isMember(cs: ConfState, id: NodeId): boolean {
  return cs.voters.includes(id) || cs.votersOutgoing.includes(id) || cs.learners.includes(id) || cs.learnersNext.includes(id);
}

/**
 * SimNode is one simulated server: a RawNode, its disk, its state machine (a value list), and the
 * host loop that handles each Ready in the documented order:
 * 1. a leader makes a changed term/vote durable, then sends its messages (it may send before
 *    its entries are durable);
 * 2. write snapshot, entries, hard state; fsync when `mustSync` (or a snapshot arrived), at once
 *    or, with a slow disk, some steps later while the node keeps stepping and ticking;
 *    a crash injected before the fsync loses the unsynced writes;
 * 3. a follower sends only now, after the write is durable;
 * 4. apply the snapshot, then the committed entries (conf changes through `applyConfChange`);
 * 5. `advance()`, then serve ReadIndex reads whose index is applied.
 * A crash drops everything in memory; `start` rebuilds the RawNode from the durable disk.
 */
export class SimNode {
  raw: RawNode | undefined;
  readonly disk: SimDisk;
  sm: ListStateMachine;
  /** confState is the configuration as of the last applied entry (of this incarnation). */
  confState: ConfState;
  /**
   * knownConf is the configuration at the highest index this node ever applied, across restarts
   * (a restarted node re-applies from its snapshot and passes through older configurations);
   * what an operator would consider the node's view of the membership.
   */
  knownConf: ConfState;
  knownConfIndex: LogIndex;
  role: RoleT = Role.Follower;
  leader: NodeId = 0 as NodeId;
  term: Term = 0;
  commit: LogIndex = 0;
  vote: NodeId = 0 as NodeId;
  incarnation = 0;
  /** removed: the node applied its own removal and was shut down for good. */
  removed = false;
  /**
   * removalApplied: the node has applied its own removal and will be shut down shortly (like
   * etcd's stop-with-delay, so a removed leader can still tell followers the removal committed).
   */
  removalApplied = false;
  /** addAccepted: a leader accepted a proposal adding this node, so its id is never offered again. */
  addAccepted = false;
  /** everMember: the node has been in an applied configuration (founding or added). */
  everMember: boolean;
  /**
   * removedAtIndex: the index of the committed entry (conf change or snapshot) whose application
   * took this node out of the configuration, 0 until that happens. Kept across crashes: a
   * restarted node re-applies its log from the bootstrap entries, passing through configurations
   * that do not hold it yet (the first one holds only node 1), and that is no removal.
   */
  private removedAtIndex: LogIndex = 0;
  /** restartAtTick is when a crashed node comes back (undefined: up, or kept down). */
  restartAtTick: number | undefined;
  private pendingReads: ReadState[] = [];
  /** appliedDuringWriteThrough: the last entry applied while a write was in flight (the next Ready's committed entries skip it). */
  private appliedDuringWriteThrough: LogIndex = 0;
  /** skipThrough: committed entries up to here are already in the restored state machine. */
  private skipThrough: LogIndex = 0;
  readiesHandled = 0;
  private snapshotWanted = false;
  /** inFlight is the Ready handed out and not yet advanced (waiting for its fsync). */
  private inFlight: InFlightReady | undefined;

  constructor(
    readonly id: NodeId,
    initial: ConfState,
    private readonly knobs: RaftKnobs,
    private readonly seedPrng: () => number,
    private readonly host: HostServices,
    bootstrap: boolean,
  ) {
    this.sm = this.newStateMachine();
    const founder = isMember(initial, id);
    this.disk = new SimDisk(initial, bootstrap && founder);
    // A bootstrapped founder learns its configuration by applying the bootstrap entries.
    this.confState = bootstrap && founder ? EMPTY_CONFIG : initial;
    this.knownConf = initial;
    this.knownConfIndex = bootstrap && founder ? initial.voters.length + initial.learners.length : 0;
    this.everMember = !bootstrap && founder;
    this.addAccepted = founder;
  }

  /** up is true while the node runs. */
  get up(): boolean {
    return this.raw !== undefined;
  }

  /** start boots the node from its durable disk (first boot or restart after a crash). */
  start(): void {
    this.incarnation++;
    // After a crash `live` is a fresh copy of the durable disk; at first boot it is the empty disk.
    const storage = this.disk.live;
    const snap = storage.snapshot();
    const cp = this.disk.checkpoint;
    let applied: LogIndex = 0;
    const replayConf: ConfState[] = [];
    const sm = this.newStateMachine();
    this.skipThrough = 0;
    this.appliedDuringWriteThrough = 0;
    if (this.checkpointApplied && cp !== undefined && cp.index >= snap.metadata.index && cp.index > 0) {
      sm.restore(cp.index, cp.values.slice(0, cp.valuesLength));
      applied = cp.index;
      this.host.reach('restart-from-checkpoint');
      this.confState = cp.confState;
    } else {
      // Restore from the snapshot; either tell the core (applied = snapshot index) or start it at
      // 0 and skip what it hands out again up to the snapshot (both are valid hosts).
      sm.restore(snap.metadata.index, decodeValues(snap.data));
      this.confState = snap.metadata.confState;
      if (this.incarnation > 1) this.host.reach('restart-from-snapshot');
      if ((this.seedPrng() & 1) === 0) applied = snap.metadata.index;
      else this.skipThrough = snap.metadata.index;
    }
    this.sm = sm;
    // Entries applied while a write was in flight can be checkpointed (or snapshotted) before a
    // hard state recording their commit is durable; they were committed, so the commit index
    // restarts at least there (DiskStorage.open does the same for a snapshot).
    const durableHs = storage.initialState().hardState;
    const appliedFloor = Math.max(applied, snap.metadata.index);
    if (durableHs.commit < appliedFloor) storage.setHardState({ ...durableHs, commit: appliedFloor });
    const hs = storage.initialState().hardState;
    this.term = hs.term;
    this.commit = hs.commit;
    this.vote = hs.vote;
    this.role = Role.Follower;
    this.leader = 0 as NodeId;
    this.pendingReads = [];
    this.inFlight = undefined;
    const config: RaftConfig = {
      id: this.id,
      storage,
      prng: new Xoshiro128(this.seedPrng()),
      applied,
      electionTicks: this.knobs.electionTicks,
      heartbeatTicks: this.knobs.heartbeatTicks,
      preVote: this.knobs.preVote,
      checkQuorum: this.knobs.checkQuorum,
      readOnlyOption: this.knobs.readOnlyOption,
      appendEntriesPerMsgMax: this.knobs.appendEntriesPerMsgMax,
      inflightMsgsMax: this.knobs.inflightMsgsMax,
      appendBytesPerMsgMax: this.knobs.appendBytesPerMsgMax,
      inflightBytesMax: this.knobs.inflightBytesMax,
      committedBytesPerReadyMax: this.knobs.committedBytesPerReadyMax,
      uncommittedBytesMax: this.knobs.uncommittedBytesMax,
      disableProposalForwarding: this.knobs.disableProposalForwarding,
    };
    const raw = new RawNode(config);
    // The config in storage is the snapshot's; re-apply the conf changes between it and the
    // checkpoint, which the core will not hand out again (they are at or below `applied`).
    if (applied > snap.metadata.index) {
      for (const e of storage.entries(snap.metadata.index + 1, applied + 1, Number.POSITIVE_INFINITY)) {
        if (e.type === EntryType.ConfChange) replayConf.push(raw.applyConfChange(decodeConfChange(e.data)));
      }
    }
    this.raw = raw;
    this.host.trace.add(`n${this.id} start #${this.incarnation} applied=${applied} sm=${sm.appliedIndex}/${sm.values.length} ` +
      `log=${storage.firstIndex()}..${storage.lastIndex()} snap=${snap.metadata.index} term=${hs.term} vote=${hs.vote} commit=${hs.commit}` +
      (replayConf.length > 0 ? ` replayed ${replayConf.length} conf changes` : ''));
    this.host.checker.onIndexes(this.id, sm.appliedIndex, hs.commit, storage.lastIndex());
  }

  private newStateMachine(): ListStateMachine {
    return this.host.newStateMachine?.() ?? new ListStateMachine();
  }

  /** checkpointApplied: restart from the durable apply checkpoint rather than the snapshot. */
  checkpointApplied = false;

  /** crash stops the node and loses everything not synced. */
  crash(why: string): void {
    if (!this.raw) return;
    this.raw = undefined;
    this.inFlight = undefined;
    this.removalApplied = false;
    this.disk.crash();
    this.pendingReads = [];
    this.host.checker.forgetReadsOf(this.id);
    this.host.trace.add(`n${this.id} crash (${why}), unsynced writes lost`);
  }

  /** shutdown stops a removed node for good. */
  shutdown(): void {
    this.raw = undefined;
    this.inFlight = undefined;
    this.removalApplied = false;
    this.removed = true;
    this.pendingReads = [];
    this.host.checker.forgetReadsOf(this.id);
    this.host.trace.add(`n${this.id} removed from the group: shut down`);
  }

  /**
   * handleReadies runs the host loop for up to `readiesMax` Readies. With `fsyncSteps` > 0 the
   * disk is slow: a Ready that needs an fsync completes `fsyncSteps` steps later, and meanwhile
   * the node keeps receiving messages and ticks (an asynchronous host, as etcd allows between
   * `Ready()` and `Advance()`).
   */
  handleReadies(readiesMax: number, fsyncSteps: number): void {
    for (let i = 0; i < readiesMax; i++) {
      const raw = this.raw;
      if (!raw) return;
      if (this.inFlight) {
        if (this.host.step() < this.inFlight.doneAtStep) {
          this.applyCommittedDuringWrite(raw, this.inFlight);
          return;
        }
        this.finishReady(raw, this.inFlight);
        continue;
      }
      if (!raw.hasReady()) return;
      const started = this.beginReady(raw, raw.ready(), fsyncSteps);
      if (started && started.doneAtStep <= this.host.step()) this.finishReady(raw, started);
    }
  }

  /** beginReady does the first half of a Ready: soft/hard state, a leader's sends, the writes. */
  private beginReady(raw: RawNode, rd: Ready, fsyncSteps: number): InFlightReady | undefined {
    const { checker, trace } = this.host;
    this.readiesHandled++;
    trace.add(`n${this.id} ${describeReady(rd)}`);
    this.checkReadyContract(rd);
    const wasLeader = this.role === Role.Leader;
    if (rd.softState) {
      this.role = rd.softState.role;
      this.leader = rd.softState.leader;
      if (wasLeader && this.role !== Role.Leader) this.host.reach('leader-stepped-down');
    }
    const hs = rd.hardState;
    const termOrVoteChanged = hs !== undefined && (hs.term !== this.term || hs.vote !== this.vote);
    if (hs) {
      checker.onCommitObserved(hs);
      this.term = hs.term;
      this.commit = hs.commit;
      this.vote = hs.vote;
    }
    const isLeader = this.role === Role.Leader;
    const needsSync = rd.mustSync || rd.snapshot !== undefined;
    const slow = needsSync && fsyncSteps > 0;
    let hardStateWritten = false;
    let sent = false;
    if (isLeader) {
      // A leader may send while its entries are being written, but never before its term and
      // vote are durable (etcd: "no messages until the latest HardState has been persisted").
      if (hs && termOrVoteChanged && !slow) {
        this.disk.writeHardState(hs);
        hardStateWritten = true;
        if (this.host.crashMidReady()) {
          this.host.reach('crash-mid-ready');
          this.crash('mid-Ready, before the hard state fsync');
          return undefined;
        }
        this.sync();
      }
      if (!(termOrVoteChanged && slow)) {
        this.sendAll(rd.messages);
        sent = true;
      }
    }
    if (rd.snapshot) this.disk.writeSnapshot(rd.snapshot);
    if (rd.entries.length > 0 && rd.entries[0]!.index <= this.disk.live.lastIndex()) this.host.reach('log-truncated');
    this.disk.writeEntries(rd.entries);
    if (rd.entries.length > 0) checker.onAppended(this.id, rd.entries, this.disk.live);
    if (hs && !hardStateWritten) this.disk.writeHardState(hs);
    if (isLeader && !wasLeader) checker.onBecameLeader(this.id, this.term, this.disk.live);
    const inFlight: InFlightReady = { rd, sent, needsSync, async: slow, doneAtStep: this.host.step() + (slow ? fsyncSteps : 0) };
    this.inFlight = inFlight;
    return inFlight;
  }

  /** finishReady does the second half: fsync, a follower's sends, apply, advance, reads. */
  private finishReady(raw: RawNode, f: InFlightReady): void {
    const { checker, trace } = this.host;
    const rd = f.rd;
    this.inFlight = undefined;
    if (f.needsSync && this.host.crashMidReady()) {
      this.host.reach('crash-mid-ready');
      this.crash(f.sent ? 'mid-Ready, after sending, before fsync' : 'mid-Ready, before fsync');
      return;
    }
    if (f.needsSync) this.sync();
    if (!f.sent) this.sendAll(rd.messages);

    if (f.async) this.host.reach('slow-fsync-ready');
    if (rd.snapshot) {
      this.host.reach('snapshot-installed');
      const values = decodeValues(rd.snapshot.data);
      checker.onSnapshotRestored(this.id, rd.snapshot.metadata.index, values);
      this.sm.restore(rd.snapshot.metadata.index, values);
      const wasMember = isMember(this.confState, this.id);
      this.confState = rd.snapshot.metadata.confState;
      if (isMember(this.confState, this.id)) this.everMember = true;
      else if (wasMember) this.noteRemoval(rd.snapshot.metadata.index);
    }
    for (const e of rd.committedEntries) {
      if (e.index <= this.skipThrough && e.index <= this.sm.appliedIndex) continue;
      if (e.index <= this.sm.appliedIndex && e.index <= this.appliedDuringWriteThrough) continue;
      const before = this.sm.appliedIndex;
      if (e.type === EntryType.ConfChange) {
        checker.onApplied(this.id, e, before, undefined);
        const cc = decodeConfChange(e.data);
        const wasJoint = this.confState.votersOutgoing.length > 0;
        const wasMember = isMember(this.confState, this.id);
        this.confState = raw.applyConfChange(cc);
        if (wasMember && !isMember(this.confState, this.id)) this.noteRemoval(e.index);
        if (!wasJoint && this.confState.votersOutgoing.length > 0) this.host.reach('joint-config-entered');
        if (wasJoint && this.confState.votersOutgoing.length === 0) this.host.reach('joint-config-left');
        for (const c of cc.changes) {
          if (c.type === 'add-voter') this.host.reach('voter-added');
          if (c.type === 'remove-node') this.host.reach('node-removed');
        }
        this.sm.applyEmpty(e.index);
        if (isMember(this.confState, this.id)) this.everMember = true;
      } else if (e.data.byteLength === 0) {
        checker.onApplied(this.id, e, before, undefined);
        this.sm.applyEmpty(e.index);
      } else {
        this.applyValueEntry(e, before);
      }
    }
    if (this.sm.appliedIndex >= this.knownConfIndex) {
      this.knownConf = this.confState;
      this.knownConfIndex = this.sm.appliedIndex;
    }
    for (const rs of rd.readStates) this.pendingReads.push(rs);
    raw.advance();
    if (f.async) trace.add(`n${this.id} Ready done (fsync completed)`);
    if (this.snapshotWanted) {
      // The core sent a snapshot taken before the recipient joined, which it will refuse; take a
      // fresh one (as a host that snapshots on demand for sending would) so the retry carries it.
      this.snapshotWanted = false;
      this.maybeSnapshot(1, 0);
    }
    this.serveReads();
    checker.onIndexes(this.id, this.sm.appliedIndex, this.commit, this.disk.live.lastIndex());
    if (this.removedAtIndex > 0 && this.sm.appliedIndex >= this.removedAtIndex && !isMember(this.confState, this.id) &&
      !this.removalApplied) {
      this.removalApplied = true;
      trace.add(`n${this.id} applied its own removal: shutting down soon`);
    }
  }

  private applyValueEntry(e: Entry, before: LogIndex): void {
    const { checker } = this.host;
    const value = decodeValue(e.data);
    checker.onApplied(this.id, e, before, value);
    this.sm.applyValue(e.index, value);
    if (this.host.isProposer(value, this.id, this.incarnation)) checker.onAcknowledged(value, e.index);
    this.host.onValueApplied?.(this, value);
  }

  /**
   * applyCommittedDuringWrite is what the member's GroupHost does while a Ready's write is in
   * flight: entries committed meanwhile (durable on a quorum) are applied, and their proposers
   * answered, before this node's own fsync completes, up to the last entry handed to the disk
   * and stopping at a configuration change. The checkers then judge that acknowledgements given
   * before the local fsync survive crashes.
   */
  private applyCommittedDuringWrite(raw: RawNode, f: InFlightReady): void {
    const log = raw.raft.raftLog;
    // Not across a snapshot: one being written, or one received meanwhile (the log now starts after it).
    if (f.rd.snapshot || log.unstable.snapshot !== undefined || this.sm.appliedIndex + 1 < log.firstIndex()) return;
    const through = Math.min(log.committed, this.disk.live.lastIndex());
    if (through <= this.sm.appliedIndex) return;
    // The core's commit index is ahead of the last Ready's hard state: what is applied here is
    // known committed (up to `through`, which the disk holds).
    this.commit = Math.max(this.commit, through);
    this.host.checker.onCommitObserved({ term: raw.raft.term, vote: raw.raft.vote, commit: through });
    for (const e of log.slice(this.sm.appliedIndex + 1, through + 1, Number.POSITIVE_INFINITY)) {
      if (e.type === EntryType.ConfChange) break;
      const before = this.sm.appliedIndex;
      if (e.data.byteLength === 0) {
        this.host.checker.onApplied(this.id, e, before, undefined);
        this.sm.applyEmpty(e.index);
      } else {
        this.applyValueEntry(e, before);
      }
      this.appliedDuringWriteThrough = e.index;
      this.host.reach('applied-during-write');
    }
    this.host.trace.add(`n${this.id} applied through ${this.sm.appliedIndex} while its write is in flight`);
    this.serveReads();
    this.host.checker.onIndexes(this.id, this.sm.appliedIndex, this.commit, this.disk.live.lastIndex());
  }

  /** noteRemoval records the first committed entry that took this node out of the configuration. */
  private noteRemoval(index: LogIndex): void {
    if (this.removedAtIndex === 0 || index < this.removedAtIndex) this.removedAtIndex = index;
  }

  /** checkReadyContract checks what the host relies on: mustSync covers entries and term/vote changes, messages are addressed from us. */
  private checkReadyContract(rd: Ready): void {
    const hsChanged = rd.hardState !== undefined && (rd.hardState.term !== this.term || rd.hardState.vote !== this.vote);
    // (called before this.term / this.vote take the Ready's values)
    if ((rd.entries.length > 0 || hsChanged) && !rd.mustSync) {
      throw new SimFailure('host-contract', `node ${this.id}: Ready with entries or a term/vote change has mustSync=false`);
    }
    for (const m of rd.messages) {
      // Forwarded requests (MsgProp, MsgReadIndex) keep their origin in `from`, as in etcd.
      const forwarded = m.type === 'MsgProp' || m.type === 'MsgReadIndex';
      if ((m.from !== this.id && !forwarded) || m.to === this.id) {
        throw new SimFailure('host-contract', `node ${this.id}: Ready message ${m.from}->${m.to} ${m.type} is misaddressed`);
      }
    }
    if (rd.committedEntries.length > 0) {
      const first = rd.committedEntries[0]!.index;
      const base = rd.snapshot ? rd.snapshot.metadata.index : this.sm.appliedIndex;
      if (first !== base + 1 && !(first <= this.skipThrough + 1) && !(first <= this.appliedDuringWriteThrough + 1)) {
        throw new SimFailure('host-contract', `node ${this.id}: committed entries start at ${first}, applied is ${base}`);
      }
    }
  }

  private sendAll(messages: readonly Message[]): void {
    const checker = this.host.checker;
    for (const m of messages) {
      if (m.type === 'MsgSnap' && !isMember(m.snapshot.metadata.confState, m.to)) this.snapshotWanted = true;
      if (m.type === 'MsgApp' || m.type === 'MsgHeartbeat' || m.type === 'MsgSnap') checker.onLeaderObserved(m.from, m.term, m.type);
      this.host.send(this.id, m);
    }
  }

  /** sync makes the queued writes durable and checkpoints the state machine. */
  sync(): void {
    this.disk.sync(this.appliedCheckpoint());
    this.host.checker.onVoteDurable(this.id, this.disk.durable.initialState().hardState);
  }

  private appliedCheckpoint(): AppliedCheckpoint {
    return { index: this.sm.appliedIndex, confState: this.confState, values: this.sm.values, valuesLength: this.sm.values.length };
  }

  private serveReads(): void {
    if (this.pendingReads.length === 0) return;
    const keep: ReadState[] = [];
    for (const rs of this.pendingReads) {
      if (rs.index > this.sm.appliedIndex) {
        keep.push(rs);
        continue;
      }
      if (this.host.checker.onReadServed(rs.context, this.id, rs.index, this.sm.appliedIndex)) {
        this.host.reach('read-served');
        this.host.trace.add(`n${this.id} read ${rs.context} served at index ${rs.index}: ${this.sm.values.length} values, last ${JSON.stringify(this.sm.lastValue())}`);
        this.host.onReadServed?.(this, rs.context);
      }
    }
    this.pendingReads = keep;
  }

  /** maybeSnapshot creates a snapshot at the applied index once enough was applied since the last one. */
  maybeSnapshot(everyEntries: number, keepEntries: number): void {
    if (!this.raw || this.inFlight) return;
    const snapIndex = this.disk.live.snapshot().metadata.index;
    const applied = this.sm.appliedIndex;
    if (applied - snapIndex < everyEntries || applied === 0) return;
    this.sync();
    this.disk.createSnapshot(applied, this.confState, encodeValues(this.sm.values), keepEntries);
    this.host.trace.add(`n${this.id} snapshot at ${applied}, log now ${this.disk.live.firstIndex()}..${this.disk.live.lastIndex()}`);
  }

  /** deliver hands a message to the RawNode. */
  deliver(m: Message): void {
    this.raw?.step(m);
  }

  /** reportSnapshot tells this (leader) node how a MsgSnap it sent fared. */
  reportSnapshot(to: NodeId, delivered: boolean): void {
    this.raw?.reportSnapshot(to, delivered ? SnapshotStatus.Finished : SnapshotStatus.Failure);
  }
}
