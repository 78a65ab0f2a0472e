import { ConcordError, ErrorCode } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { IdTable } from '../lib/id-table.js';
import {
  EntryType, NONE, RaftError, RaftErrorCode, RawNode, decodeConfChange,
  type ConfState, type Entry, type SnapshotMetadata, type HardState, type LogIndex, type LogStorage, type Message,
  type MsgApp, type NodeId, type RaftConfig, type Ready, type Snapshot, type SnapshotStatus, type Term,
} from '../raft/index.js';
import { decodeEnvelope, encodeEnvelope, type ProposalId } from './proposal-envelope.js';
import type { SnapshotStream } from '../storage/snapshot-store.js';
import type { StateMachine } from './state-machine.js';

/** PersistableReady is the part of a Ready that must be made durable. */
export interface PersistableReady {
  readonly hardState: HardState | undefined;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | undefined;
}

/**
 * GroupStorage is the durable log of one group as the host uses it: the core reads it through
 * LogStorage; the host persists each Ready (one fsync when mustSync) and snapshots/compacts.
 */
export interface GroupStorage extends LogStorage {
  persistReady(ready: PersistableReady, mustSync: boolean): Promise<void>;
  createSnapshot(index: LogIndex, confState: ConfState, data: Uint8Array): Promise<unknown> | unknown;
  /** createSnapshotFrom, when offered, is createSnapshot with the data written as it is produced. */
  createSnapshotFrom?(index: LogIndex, confState: ConfState, data: SnapshotStream): Promise<unknown>;
  /** linkedSnapshots: createSnapshotFrom takes a delta over the current snapshot (a stream with `base`). */
  readonly linkedSnapshots?: boolean;
  /** snapshotMetadata describes the current snapshot without its data. */
  snapshotMetadata?(): SnapshotMetadata;
  compact(index: LogIndex): Promise<unknown> | unknown;
}

/** GroupTransport sends a group's messages to peers (batched per event-loop turn by the transport). */
export interface GroupTransport {
  send(to: NodeId, groupId: number, messages: readonly Message[]): void;
  /** flushNow writes what `send` queued now (see Transport.flushNow). */
  flushNow?(): void;
}

/** GroupHostLimits bound what one group holds in memory. */
export interface GroupHostLimits {
  /** requestTimeoutMs: a proposal or read not answered by then fails with "outcome unknown" / retryable. */
  readonly requestTimeoutMs: number;
  /** pendingProposalsMax bounds proposals waiting to be applied; more are refused. */
  readonly pendingProposalsMax: number;
  /** pendingReadsMax bounds linearizable reads waiting; more are refused. */
  readonly pendingReadsMax: number;
  /** snapshotEntries: applied entries between two snapshots (etcd's --snapshot-count). */
  readonly snapshotEntries: number;
  /** snapshotCatchUpEntries: entries kept after a snapshot so slow followers catch up from the log. */
  readonly snapshotCatchUpEntries: number;
  /** stallBoundMs: a leader whose fsync or event loop stalls longer hands leadership over. */
  readonly stallBoundMs: number;
  /**
   * loopStallWindowMs: an event-loop stall counts only when another one came within this window
   * (a single stall is seen only once it is over; see watchStalls).
   */
  readonly loopStallWindowMs: number;
  /** applyDuringWriteBytesMax bounds the entry bytes applied in one turn while a write is in flight. */
  readonly applyDuringWriteBytesMax: number;
}

export const GROUP_HOST_DEFAULTS: GroupHostLimits = {
  requestTimeoutMs: 7_000,
  pendingProposalsMax: 100_000,
  pendingReadsMax: 100_000,
  snapshotEntries: 100_000,
  snapshotCatchUpEntries: 5_000,
  stallBoundMs: 1_000,
  loopStallWindowMs: 5_000,
  applyDuringWriteBytesMax: 4 * 1024 * 1024,
};

interface PendingProposal<R> {
  readonly resolve: (result: R) => void;
  readonly reject: (error: Error) => void;
  readonly deadlineMs: number;
  /** index is where the entry went, when proposed on the leader (else unknown: 0). */
  index: LogIndex;
  /** forwardedTerm is the term in which a follower forwarded it to the leader (0: not forwarded). */
  forwardedTerm: Term;
}

interface ReadWaiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly deadlineMs: number;
}

/** GroupHostStats are counters for status pages and benchmarks. */
export interface GroupHostStats {
  readies: number;
  persistedEntries: number;
  syncs: number;
  proposalBatches: number;
  readRounds: number;
  lastSyncMs: number;
  maxSyncMs: number;
  snapshots: number;
  leaderTransfersForStall: number;
  /** loopStallsTolerated counts single event-loop stalls past the bound that did not move leadership. */
  loopStallsTolerated: number;
  /** commitNoticesDeferred counts a leader's appends without entries held back a loop turn (see send). */
  commitNoticesDeferred: number;
  /** commitNoticesSuperseded counts those never sent: a later append to the follower carried the commit. */
  commitNoticesSuperseded: number;
  /** appliedDuringWrite counts entries applied while a write of this member's was in flight. */
  appliedDuringWrite: number;
}

/**
 * GroupHost drives one Raft group in a process: it runs the Ready loop (persist with one fsync
 * per batch → send → apply → advance; a leader sends in parallel with its own write), batches
 * proposals and linearizable reads per event-loop turn, tracks every proposal until it is
 * applied (success), known lost ("leader changed"), or timed out ("outcome unknown"), snapshots
 * the state machine when the log grows, and hands leadership over when its disk stalls.
 */
export class GroupHost<R> {
  readonly node: RawNode;
  readonly stats: GroupHostStats = {
    readies: 0, persistedEntries: 0, syncs: 0, proposalBatches: 0, readRounds: 0,
    lastSyncMs: 0, maxSyncMs: 0, snapshots: 0, leaderTransfersForStall: 0, loopStallsTolerated: 0,
    commitNoticesDeferred: 0, commitNoticesSuperseded: 0, appliedDuringWrite: 0,
  };
  /** heldNotices: per follower, the leader's latest append without entries not yet sent (see send). */
  private readonly heldNotices = new IdTable<MsgApp>();
  private heldNoticesScheduled = false;
  private readonly limits: GroupHostLimits;
  /**
   * sequence numbers this member's proposals. It starts from the wall clock in microseconds, so
   * a restarted member never reuses a sequence of its earlier life: an entry proposed before a
   * crash and applied after the restart must not answer a new proposal that happens to have the
   * same number. (Reuse would need over a thousand proposals per millisecond sustained over the
   * earlier life; the value stays below 2^53 until the year 2255.)
   */
  private sequence = Date.now() * 1000;
  /** appliedTerm is the term of the last applied entry. */
  private appliedTerm: Term = 0;
  // pending, pendingByIndex and readRounds take new ids all the time: IdTables, not Maps (see
  // lib/id-table.ts: a Map's discarded hash tables keep finished requests alive through scavenges).
  private readonly pending = new IdTable<PendingProposal<R>>();
  /** pendingByIndex maps the log index of a leader-proposed entry to the proposal expected there. */
  private readonly pendingByIndex = new IdTable<ProposalId>();
  private queuedIds: ProposalId[] = [];
  private queuedCommands: Uint8Array[] = [];
  private readWaiters: ReadWaiter[] = [];
  /** readRounds: the ReadIndex rounds in flight, by sequence number (their context is `${node id}.${sequence}`). */
  private readonly readRounds = new IdTable<{ waiters: ReadWaiter[]; deadlineMs: number }>();
  /** readsAwaitingApply: confirmed read indexes waiting for the state machine to catch up, ascending. */
  private readsAwaitingApply: { index: LogIndex; waiters: ReadWaiter[] }[] = [];
  private readSequence = 0;
  private appliedIndex: LogIndex;
  private snapshotIndex: LogIndex;
  private leader: NodeId = NONE;
  private scheduled = false;
  private soonScheduled = false;
  private inReady = false;
  private snapshotting = false;
  /** snapshotOffset: this voter's shift of the snapshot schedule (see snapshotDue); undefined until computed. */
  private snapshotOffset: number | undefined = undefined;
  private persistStartedMs = 0;
  /** writingThrough: while a Ready is written, the last log index handed to the storage (0: none). */
  private writingThrough: LogIndex = 0;
  private stallTransferRequested = false;
  /** lastLoopStallMs: when this leader last saw its event loop lag past the bound. */
  private lastLoopStallMs = Number.NEGATIVE_INFINITY;
  private stopped = false;
  private failure: Error | undefined = undefined;
  private readonly leaderListeners: ((leader: NodeId, isSelf: boolean) => void)[] = [];

  constructor(
    readonly groupId: number,
    raftConfig: RaftConfig,
    private readonly storage: GroupStorage,
    private readonly stateMachine: StateMachine<R>,
    private readonly transport: GroupTransport,
    private readonly logger: Logger,
    private readonly now: () => number,
    limits: Partial<GroupHostLimits> = {},
    /** onFatal is called once when persistence fails; the process must stop (DESIGN §4). */
    private readonly onFatal: (error: Error) => void = () => {},
  ) {
    this.limits = { ...GROUP_HOST_DEFAULTS, ...limits };
    this.node = new RawNode(raftConfig);
    this.snapshotIndex = storage.snapshot().metadata.index;
    this.appliedIndex = this.snapshotIndex;
    this.schedule();
  }

  get id(): NodeId {
    return this.node.id;
  }

  /** leaderId is the leader this member knows of (NONE if none). */
  leaderId(): NodeId {
    return this.node.raft.lead;
  }

  isLeader(): boolean {
    return this.node.raft.role === 'leader';
  }

  /**
   * unappliedCommands returns the commands of the entries in this member's log after the applied
   * index (committed or not yet), in log order: what is already ordered before anything proposed
   * from now on.
   */
  unappliedCommands(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const log = this.node.raft.raftLog;
    if (log.lastIndex() <= this.appliedIndex) return out;
    for (const e of log.entries(this.appliedIndex + 1, Number.MAX_SAFE_INTEGER)) {
      if (e.type === EntryType.Normal && e.data.byteLength > 0) out.push(decodeEnvelope(e.data).command);
    }
    return out;
  }

  /** applied is the index of the last entry applied to the state machine. */
  applied(): LogIndex {
    return this.appliedIndex;
  }

  /**
   * propose replicates `command` and resolves with the state machine's result once applied here.
   * Rejects with a ConcordError: NoLeader / ProposalDropped / LeaderChanged (not applied, safe to
   * retry), Timeout (outcome unknown), TooManyRequests, Stopped.
   */
  propose(command: Uint8Array): Promise<R> {
    const refusal = this.refusal();
    if (refusal) return Promise.reject(refusal);
    if (this.pending.size >= this.limits.pendingProposalsMax) {
      return Promise.reject(new ConcordError(ErrorCode.TooManyRequests, `too many pending proposals (${this.pending.size})`));
    }
    const id: ProposalId = ++this.sequence;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, deadlineMs: this.now() + this.limits.requestTimeoutMs, index: 0, forwardedTerm: 0 });
      this.queuedIds.push(id);
      this.queuedCommands.push(encodeEnvelope(this.node.id, this.sequence, command));
      this.schedule();
    });
  }

  /**
   * readBarrier resolves when this member's state machine reflects every write acknowledged
   * before the call (ReadIndex, thesis §6.4); all reads of one event-loop turn share one round.
   */
  readBarrier(mode: 'read-index' | 'lease' = 'read-index'): Promise<void> {
    const refusal = this.refusal();
    if (refusal) return Promise.reject(refusal);
    if (mode === 'lease') {
      // A valid leader lease answers without a round trip (thesis §6.4.1); else ReadIndex.
      const index = this.node.raft.leaseReadIndex();
      if (index !== undefined) {
        if (index <= this.appliedIndex) return Promise.resolve();
        return new Promise<void>((resolve, reject) => {
          this.enqueueAwaitingApply(index, [{ resolve, reject, deadlineMs: this.now() + this.limits.requestTimeoutMs }]);
        });
      }
    }
    if (this.readWaiters.length + this.readRounds.size >= this.limits.pendingReadsMax) {
      return Promise.reject(new ConcordError(ErrorCode.TooManyRequests, 'too many pending reads'));
    }
    return new Promise<void>((resolve, reject) => {
      this.readWaiters.push({ resolve, reject, deadlineMs: this.now() + this.limits.requestTimeoutMs });
      this.schedule();
    });
  }

  private refusal(): Error | undefined {
    if (this.failure) return this.failure;
    if (this.stopped) return new ConcordError(ErrorCode.Stopped, 'member is stopping');
    return undefined;
  }

  /** step delivers a peer message. */
  step(message: Message): void {
    if (this.stopped) return;
    this.node.step(message);
    this.scheduleSoon();
  }

  /** tick advances the Raft clock; also expires requests and runs the stall watchdog. */
  tick(loopLagMs = 0): void {
    if (this.stopped) return;
    this.node.tick();
    this.expireRequests();
    this.watchStalls(loopLagMs);
    this.schedule();
  }

  reportUnreachable(peer: NodeId): void {
    this.node.reportUnreachable(peer);
    this.schedule();
  }

  reportSnapshot(peer: NodeId, status: SnapshotStatus): void {
    this.node.reportSnapshot(peer, status);
    this.schedule();
  }

  /** transferLeadership asks the leader to hand over to `to` (or to the most caught-up follower). */
  transferLeadership(to?: NodeId): void {
    const target = to ?? this.bestTransferTarget();
    if (target === NONE) return;
    this.node.transferLeadership(target);
    this.schedule();
  }

  private bestTransferTarget(): NodeId {
    const progress = this.node.status().progress;
    if (!progress) return NONE;
    let best: NodeId = NONE;
    let bestMatch = -1;
    for (const [id, pr] of progress) {
      if (id === this.node.id || pr.isLearner) continue;
      if (pr.match > bestMatch) {
        best = id;
        bestMatch = pr.match;
      }
    }
    return best;
  }

  /** onLeaderChange hears every change of the known leader (NONE: none), after it is applied. */
  onLeaderChange(listener: (leader: NodeId, isSelf: boolean) => void): void {
    this.leaderListeners.push(listener);
  }

  /** stop fails every waiting request with Stopped; the group does nothing afterwards. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.failAll(new ConcordError(ErrorCode.Stopped, 'member is stopping'));
  }

  private failAll(error: Error): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    this.pendingByIndex.clear();
    this.queuedIds = [];
    this.queuedCommands = [];
    for (const w of this.readWaiters) w.reject(error);
    this.readWaiters = [];
    for (const round of this.readRounds.values()) for (const w of round.waiters) w.reject(error);
    this.readRounds.clear();
    for (const r of this.readsAwaitingApply) for (const w of r.waiters) w.reject(error);
    this.readsAwaitingApply = [];
  }

  // ---------------------------------------------------------------------------------------------
  // The loop

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(this.run);
  }

  /**
   * scheduleSoon runs the loop right after the current I/O callback (a microtask) instead of
   * after every callback of this poll phase: for peer messages, which are delivered a whole
   * socket read at a time. An acknowledgement that commits an entry is then applied, and its
   * client answered, in the poll phase it arrived in, so node writes the answer in this loop
   * iteration's check phase rather than the next one's. Client proposals keep `schedule` (they
   * batch across the whole poll phase).
   */
  private scheduleSoon(): void {
    if (this.soonScheduled || this.stopped) return;
    this.soonScheduled = true;
    queueMicrotask(this.runSoon);
  }

  private readonly runSoon = (): void => {
    this.soonScheduled = false;
    this.loop();
  };

  private readonly run = (): void => {
    this.scheduled = false;
    this.loop();
  };

  private loop(): void {
    if (this.stopped) return;
    this.flushProposals();
    this.flushReads();
    if (this.inReady) {
      // A leader replicates while its own write is in flight.
      this.send(this.node.takeLeaderMessages());
      this.applyCommittedDuringWrite();
      return;
    }
    if (!this.node.hasReady()) return;
    this.inReady = true;
    const rd = this.node.ready();
    this.handleReady(rd).then(
      () => {
        this.inReady = false;
        this.schedule();
      },
      (error: unknown) => this.fail(error),
    );
  }

  private fail(error: unknown): void {
    const cause = error instanceof Error ? error : new Error(String(error));
    this.logger.error('group failed; the member must stop', { group: this.groupId, error: cause.message });
    this.failure = new ConcordError(ErrorCode.Stopped, `member failed: ${cause.message}`, { cause });
    this.stopped = true;
    this.failAll(this.failure);
    this.onFatal(cause);
  }

  private async handleReady(rd: Ready): Promise<void> {
    this.stats.readies++;
    const leader = this.node.raft.role === 'leader';
    if (leader) {
      this.send(rd.messages);
      // The followers' path (network, their fsync, network) is longer than this member's own
      // write: put the appends on the wire before the WAL write, not a loop turn after it.
      if (rd.entries.length > 0) this.transport.flushNow?.();
    }
    // Committed entries already durable here (the same entry, by index and term, in the persisted
    // log) are applied before this Ready's write: they are durable on a quorum and locally, so
    // their callers need not wait for the fsync of entries proposed since. On a leader that is
    // every committed entry (it counts its own copy only once durable).
    const early = rd.snapshot ? 0 : this.durablePrefix(rd.committedEntries);
    if (early > 0) {
      this.applyEntries(rd.committedEntries.slice(0, early));
      this.releaseReads();
    }
    // While this Ready is written, its committed entries that are not durable here yet, and
    // entries that commit meanwhile (a quorum's acknowledgements arriving), are applied up to the
    // last entry handed to the storage (see applyCommittedDuringWrite); never while a snapshot
    // is being installed.
    this.writingThrough = rd.snapshot ? 0 : Math.max(this.storage.lastIndex(), rd.entries.length > 0 ? rd.entries[rd.entries.length - 1]!.index : 0);
    if (rd.entries.length > 0 || rd.hardState || rd.snapshot) {
      const started = this.now();
      this.persistStartedMs = started;
      const written = this.storage.persistReady(rd, rd.mustSync);
      try {
        this.applyCommittedDuringWrite();
      } finally {
        await written;
      }
      this.persistStartedMs = 0;
      const took = this.now() - started;
      this.stats.persistedEntries += rd.entries.length;
      if (rd.mustSync) {
        this.stats.syncs++;
        this.stats.lastSyncMs = took;
        if (took > this.stats.maxSyncMs) this.stats.maxSyncMs = took;
      }
    }
    this.writingThrough = 0;
    if (this.stopped) return;
    if (!leader) {
      this.send(rd.messages);
      // A follower's acknowledgements are what the leader's commit waits for: out at once.
      if (rd.messages.length > 0) this.transport.flushNow?.();
    }
    if (rd.snapshot) this.applySnapshot(rd.snapshot);
    this.applyEntries(early > 0 ? rd.committedEntries.slice(early) : rd.committedEntries);
    if (rd.softState) this.onSoftState(rd.softState.leader);
    for (const rs of rd.readStates) this.onReadState(rs.context, rs.index);
    this.releaseReads();
    this.node.advance();
    await this.maybeSnapshot();
  }

  /** durablePrefix counts the leading entries that the persisted log already holds, same term. */
  private durablePrefix(entries: readonly Entry[]): number {
    const last = this.storage.lastIndex();
    const first = this.storage.firstIndex();
    let n = 0;
    for (const e of entries) {
      if (e.index > last || e.index < first || this.storage.term(e.index) !== e.term) break;
      n++;
    }
    return n;
  }

  /**
   * send hands messages to the transport, except a leader's appends without entries (the notices
   * that move a follower's commit index, and empty probes), which wait one event-loop iteration:
   *
   * - An answer to a client is one HTTP/2 HEADERS+DATA write and, a loop iteration later, the
   *   trailers that complete the call; notices sent at commit went between the two (their encoding,
   *   two socket writes, and the followers' acknowledgements read before the trailers), so every
   *   call waited for them. Held, they go after the trailers.
   * - A later append to the same follower (the next proposal, under load most of them) carries the
   *   commit index too: the held notice is then dropped (`commitNoticesSuperseded`), and the
   *   follower has one message less to persist-check and answer.
   *
   * Raft allows any message to be delayed or lost; order per follower is kept (a held notice goes
   * before any other message to that follower unless an append replaces it). Followers learn the
   * commit at most one loop iteration later than before.
   */
  private send(messages: readonly Message[]): void {
    for (const m of messages) {
      const held = this.heldNotices.get(m.to);
      if (m.type === 'MsgApp' && m.entries.length === 0) {
        // The newer notice (same or later commit) replaces an older one outright.
        if (held !== undefined) this.stats.commitNoticesSuperseded++;
        this.heldNotices.set(m.to, m);
        this.stats.commitNoticesDeferred++;
        this.scheduleHeldNotices();
        continue;
      }
      if (held !== undefined) {
        this.heldNotices.delete(m.to);
        if (m.type === 'MsgApp' && m.term === held.term && m.commit >= held.commit) this.stats.commitNoticesSuperseded++;
        else this.transport.send(held.to, this.groupId, [held]);
      }
      this.transport.send(m.to, this.groupId, [m]);
    }
  }

  /**
   * scheduleHeldNotices sends the held notices in the check phase of the next loop iteration,
   * after the answers given in this one: Concord's own HTTP/2 framing writes them after the
   * turn's microtasks, node:http2 (connections that started with a non-gRPC request) from a
   * native immediate, which runs before JavaScript immediates, and an append proposed meanwhile
   * carries the commit instead. Sending them in this iteration's check phase measured the same
   * (docs/performance.md).
   */
  private scheduleHeldNotices(): void {
    if (this.heldNoticesScheduled) return;
    this.heldNoticesScheduled = true;
    setImmediate(() => setImmediate(this.sendHeldNotices));
  }

  private readonly sendHeldNotices = (): void => {
    this.heldNoticesScheduled = false;
    if (this.stopped || this.heldNotices.size === 0) return;
    for (const m of this.heldNotices.values()) this.transport.send(m.to, this.groupId, [m]);
    this.heldNotices.clear();
    this.transport.flushNow?.();
  };

  private flushProposals(): void {
    if (this.queuedIds.length === 0) return;
    const ids = this.queuedIds;
    const commands = this.queuedCommands;
    this.queuedIds = [];
    this.queuedCommands = [];
    try {
      this.node.propose(commands);
    } catch (error) {
      if (!(error instanceof RaftError)) throw error;
      const noLeader = this.node.raft.lead === NONE;
      const failure = new ConcordError(noLeader ? ErrorCode.NoLeader : ErrorCode.ProposalDropped, error.message, { cause: error });
      for (const id of ids) {
        this.pending.get(id)?.reject(failure);
        this.pending.delete(id);
      }
      return;
    }
    this.stats.proposalBatches++;
    if (this.node.raft.role === 'leader') {
      // The leader appended them synchronously: remember where, so an entry that replaces them
      // (after a leader change) tells us they are lost.
      const last = this.node.raft.raftLog.lastIndex();
      for (let i = 0; i < ids.length; i++) {
        const index = last - ids.length + 1 + i;
        const p = this.pending.get(ids[i]!);
        if (p) p.index = index;
        this.pendingByIndex.set(index, ids[i]!);
      }
    } else {
      const term = this.node.raft.term;
      for (const id of ids) {
        const p = this.pending.get(id);
        if (p) p.forwardedTerm = term;
      }
    }
  }

  private flushReads(): void {
    if (this.readWaiters.length === 0) return;
    const waiters = this.readWaiters;
    this.readWaiters = [];
    const sequence = ++this.readSequence;
    const context = `${this.node.id}.${sequence}`;
    try {
      this.node.readIndex(context);
    } catch (error) {
      if (!(error instanceof RaftError)) throw error;
      const failure = new ConcordError(ErrorCode.NoLeader, error.message, { cause: error });
      for (const w of waiters) w.reject(failure);
      return;
    }
    this.stats.readRounds++;
    let deadlineMs = Number.POSITIVE_INFINITY;
    for (const w of waiters) deadlineMs = Math.min(deadlineMs, w.deadlineMs);
    this.readRounds.set(sequence, { waiters, deadlineMs });
  }

  private onReadState(context: string, index: LogIndex): void {
    const prefix = `${this.node.id}.`;
    if (!context.startsWith(prefix)) return;
    const sequence = Number(context.slice(prefix.length));
    const round = this.readRounds.get(sequence);
    if (!round) return;
    this.readRounds.delete(sequence);
    if (index <= this.appliedIndex) {
      for (const w of round.waiters) w.resolve();
      return;
    }
    this.enqueueAwaitingApply(index, round.waiters);
  }

  private enqueueAwaitingApply(index: LogIndex, waiters: ReadWaiter[]): void {
    // Keep ascending order: read indexes only grow, but be safe.
    let at = this.readsAwaitingApply.length;
    while (at > 0 && this.readsAwaitingApply[at - 1]!.index > index) at--;
    this.readsAwaitingApply.splice(at, 0, { index, waiters });
  }

  private releaseReads(): void {
    let released = 0;
    for (const r of this.readsAwaitingApply) {
      if (r.index > this.appliedIndex) break;
      for (const w of r.waiters) w.resolve();
      released++;
    }
    if (released > 0) this.readsAwaitingApply = this.readsAwaitingApply.slice(released);
  }

  private onSoftState(leader: NodeId): void {
    if (leader === this.leader) return;
    this.logger.info('leader changed', { group: this.groupId, from: this.leader, to: leader, term: this.node.raft.term });
    this.leader = leader;
    this.stallTransferRequested = false;
    for (const l of this.leaderListeners) l(leader, leader === this.node.id);
    // A read round sent to (or run by) the previous leader may never be answered; reads are
    // always safe to retry, so fail them now rather than at the timeout.
    if (this.readRounds.size > 0) {
      const error = new ConcordError(ErrorCode.LeaderChanged, 'leader changed during a linearizable read');
      for (const round of this.readRounds.values()) for (const w of round.waiters) w.reject(error);
      this.readRounds.clear();
    }
  }

  private applySnapshot(snapshot: Snapshot): void {
    this.snapshotOffset = undefined;
    const index = snapshot.metadata.index;
    this.stateMachine.restore(snapshot.data, index);
    this.appliedIndex = index;
    this.snapshotIndex = index;
    // Our proposals whose entries the snapshot covers were applied (or replaced) without us
    // seeing their results: their outcome is unknown.
    for (const [i, id] of this.pendingByIndex.entries()) {
      if (i > index) continue;
      this.pending.get(id)?.reject(new ConcordError(ErrorCode.Timeout, 'outcome unknown: entry was covered by a snapshot'));
      this.pending.delete(id);
      this.pendingByIndex.delete(i);
    }
    this.logger.info('applied snapshot', { group: this.groupId, index, term: snapshot.metadata.term });
  }

  /**
   * applyCommittedDuringWrite applies the entries that became committed while this member's
   * write of a Ready is in flight, without waiting for that write (and its fdatasync) to finish:
   * the next Ready would otherwise hold them for the length of one write, and the tail of the
   * disk's fdatasync latency would reach every request committed meanwhile. Committed means
   * durable on a quorum (a leader counts its own copy only once written, a follower commits only
   * what matches the leader's log), so answering is safe whether or not this member's copy is
   * durable yet (Raft thesis §10.2.1). Only entries up to the last one handed to the storage are
   * applied, so a snapshot taken after the write never covers an entry the WAL does not hold;
   * a configuration change is left to the Ready (it changes what the Raft core counts), and so is
   * everything after it. The next Ready's committed entries skip what was applied here.
   */
  private applyCommittedDuringWrite(): void {
    const log = this.node.raft.raftLog;
    // Not across a snapshot received meanwhile (the log now starts after it): the Ready installs it.
    if (log.unstable.snapshot !== undefined || this.appliedIndex + 1 < log.firstIndex()) return;
    const through = Math.min(log.committed, this.writingThrough);
    if (through <= this.appliedIndex) return;
    const entries = log.slice(this.appliedIndex + 1, through + 1, this.limits.applyDuringWriteBytesMax);
    let count = 0;
    while (count < entries.length && entries[count]!.type === EntryType.Normal) count++;
    if (count === 0) return;
    this.stats.appliedDuringWrite += count;
    this.applyEntries(count === entries.length ? entries : entries.slice(0, count));
    this.releaseReads();
  }

  private applyEntries(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.index <= this.appliedIndex) continue; // applied while the write of an earlier Ready was in flight
      const expected = this.pendingByIndex.get(e.index);
      let appliedId: ProposalId | undefined;
      if (e.type === EntryType.ConfChange) {
        this.node.applyConfChange(decodeConfChange(e.data));
        this.snapshotOffset = undefined; // the voters may have changed
      } else if (e.data.byteLength > 0) {
        const envelope = decodeEnvelope(e.data);
        const result = this.stateMachine.apply(e.index, envelope.command);
        if (envelope.proposer === this.node.id) {
          appliedId = envelope.sequence;
          const p = this.pending.get(appliedId);
          if (p) {
            this.pending.delete(appliedId);
            p.resolve(result);
          }
        }
      }
      this.appliedIndex = e.index;
      if (e.term > this.appliedTerm) {
        this.appliedTerm = e.term;
        this.orphanForwardedProposals(e.term);
      }
      if (expected !== undefined) {
        this.pendingByIndex.delete(e.index);
        if (expected !== appliedId) {
          const p = this.pending.get(expected);
          if (p) {
            this.pending.delete(expected);
            p.reject(new ConcordError(ErrorCode.LeaderChanged, `leader changed: entry ${e.index} was replaced`));
          }
        }
      }
    }
  }

  /**
   * orphanForwardedProposals answers "outcome unknown" now, not at the deadline, for proposals
   * this follower forwarded in a term before `term` that were not applied before the first
   * applied entry of `term`. Committed entries never go back in term, so the copy the old leader
   * may have appended in its term can no longer commit; only a copy of a delayed message that
   * some later leader appended could, which is why the outcome is unknown rather than "not
   * applied". Callers with a session retry it safely; a leader crash no longer holds every
   * forwarded request for the full request timeout.
   */
  private orphanForwardedProposals(term: Term): void {
    for (const [id, p] of this.pending.entries()) {
      if (p.forwardedTerm === 0 || p.forwardedTerm >= term) continue;
      this.pending.delete(id);
      p.reject(new ConcordError(ErrorCode.Timeout, `outcome unknown: the leader changed (term ${p.forwardedTerm} to ${term}) while the proposal was forwarded`));
    }
  }

  /**
   * maybeSnapshot starts a snapshot once enough entries were applied since the last one, and
   * returns without waiting for it: the state is captured at once (as of the applied index), then
   * serialized over several event-loop turns and written while the group goes on committing and
   * applying (a multi-second pause here would stall every request and cost the leadership).
   */
  private async maybeSnapshot(): Promise<void> {
    if (this.snapshotting || this.stopped || !this.snapshotDue()) return;
    this.snapshotting = true;
    void this.takeSnapshot(this.appliedIndex, this.node.status().config).then(
      () => { this.snapshotting = false; },
      (error: unknown) => {
        this.snapshotting = false;
        if (!this.stopped) this.fail(error);
      },
    );
  }

  /**
   * snapshotDue: a snapshot every `snapshotEntries` applied entries, with the members of the
   * group staggered. Each voter is offset by its rank among the voters (rank / voters of the
   * interval), so the three members of a group snapshot a third of the interval apart instead of
   * all at the same index: a snapshot costs its member CPU for a while (the whole state is
   * encoded), and a leader whose followers snapshot together would see its commits wait on both.
   * A member that is not a voter (a learner) is not offset.
   */
  private snapshotDue(): boolean {
    const every = this.limits.snapshotEntries;
    if (this.appliedIndex - this.snapshotIndex >= every) return true;
    if (this.snapshotOffset === undefined) {
      // Computed once per configuration (reset when a conf change or a snapshot is applied).
      const voters = this.node.raft.trk.confState().voters;
      const rank = [...voters].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).indexOf(this.node.id);
      this.snapshotOffset = rank <= 0 ? 0 : Math.floor((rank * every) / voters.length);
    }
    const offset = this.snapshotOffset;
    return offset > 0 && Math.floor((this.appliedIndex + offset) / every) > Math.floor((this.snapshotIndex + offset) / every);
  }

  private async takeSnapshot(index: LogIndex, confState: ConfState): Promise<void> {
    const started = this.now();
    let bytes: number;
    let linkedTo: LogIndex | undefined;
    try {
      // Both sides streaming: the state is captured now and written to the file chunk by chunk.
      const current = this.storage.linkedSnapshots === true ? this.storage.snapshotMetadata?.() : undefined;
      const base = current !== undefined && current.index > 0 ? { term: current.term, index: current.index } : undefined;
      const stream = this.storage.createSnapshotFrom !== undefined ? this.stateMachine.snapshotStream?.(base) : undefined;
      if (stream !== undefined) {
        bytes = stream.bytes;
        linkedTo = stream.base?.index;
        await this.storage.createSnapshotFrom!(index, confState, stream);
      } else {
        const data = this.stateMachine.snapshot();
        bytes = data.byteLength;
        await this.storage.createSnapshot(index, confState, data);
      }
    } catch (error) {
      // A snapshot received from the leader meanwhile covers this one: nothing to do.
      if (error instanceof RaftError && error.code === RaftErrorCode.SnapshotOutOfDate) {
        this.logger.info('snapshot superseded', { group: this.groupId, index, installed: this.snapshotIndex });
        return;
      }
      throw error;
    }
    this.snapshotIndex = Math.max(this.snapshotIndex, index);
    this.stats.snapshots++;
    const compactTo = index - this.limits.snapshotCatchUpEntries;
    if (compactTo > this.storage.firstIndex()) await this.storage.compact(compactTo);
    this.logger.info('snapshot taken', {
      group: this.groupId, index, bytes, linkedTo: linkedTo ?? 'none', compactedTo: Math.max(compactTo, 0), ms: Math.round(this.now() - started),
    });
  }

  private expireRequests(): void {
    const now = this.now();
    for (const [id, p] of this.pending.entries()) {
      if (p.deadlineMs > now) continue;
      this.pending.delete(id);
      if (p.index > 0) this.pendingByIndex.delete(p.index);
      p.reject(new ConcordError(ErrorCode.Timeout, 'request timed out: outcome unknown'));
    }
    for (const [sequence, round] of this.readRounds.entries()) {
      if (round.deadlineMs > now) continue;
      this.readRounds.delete(sequence);
      for (const w of round.waiters) w.reject(new ConcordError(ErrorCode.Timeout, 'read timed out'));
    }
  }

  /**
   * watchStalls hands leadership to the most caught-up follower when this leader's disk write
   * has been in flight longer than the bound, or its event loop stalled past the bound twice
   * within `loopStallWindowMs`: a slow leader would otherwise hold the whole group hostage
   * (DESIGN §11). A write in flight is seen while it hangs; a loop stall only once the loop runs
   * again, when that stall is over. One stall (a long garbage collection, a burst of work) is
   * therefore not a reason to move leadership, whose cost is every proposal in flight; a loop
   * that keeps stalling is.
   */
  private watchStalls(loopLagMs: number): void {
    if (!this.isLeader() || this.stallTransferRequested) return;
    const persistStalledMs = this.persistStartedMs > 0 ? this.now() - this.persistStartedMs : 0;
    const bound = this.limits.stallBoundMs;
    let cause: 'fsync' | 'event loop';
    if (persistStalledMs > bound) {
      cause = 'fsync';
    } else if (loopLagMs > bound) {
      const now = this.now();
      const repeated = now - this.lastLoopStallMs <= this.limits.loopStallWindowMs;
      this.lastLoopStallMs = now;
      if (!repeated) {
        this.stats.loopStallsTolerated++;
        this.logger.warn('event loop stalled once; keeping leadership unless it stalls again soon', {
          group: this.groupId, stalledMs: Math.round(loopLagMs), windowMs: this.limits.loopStallWindowMs,
        });
        return;
      }
      cause = 'event loop';
    } else {
      return;
    }
    const stalledMs = cause === 'fsync' ? persistStalledMs : loopLagMs;
    const target = this.bestTransferTarget();
    if (target === NONE) return;
    this.stallTransferRequested = true;
    this.stats.leaderTransfersForStall++;
    this.logger.warn('leader stalled; transferring leadership', {
      group: this.groupId, stalledMs: Math.round(stalledMs), cause, to: target,
    });
    this.node.transferLeadership(target);
    this.send(this.node.takeLeaderMessages());
  }

  /** describe renders one line of state for logs. */
  describe(): string {
    const s = this.node.status();
    return `group ${this.groupId} ${s.softState.role} lead=${s.softState.leader} term=${s.hardState.term} ` +
      `commit=${s.hardState.commit} applied=${this.appliedIndex} last=${s.lastIndex} pending=${this.pending.size}`;
  }
}

/** isRetryable is true for errors that guarantee the request was not applied. */
export function isRetryable(error: unknown): boolean {
  return error instanceof ConcordError &&
    (error.code === ErrorCode.NoLeader || error.code === ErrorCode.ProposalDropped || error.code === ErrorCode.LeaderChanged);
}
