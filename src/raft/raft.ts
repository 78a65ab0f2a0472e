import { assert, unreachable } from '../lib/assert.js';
import type { Logger } from '../lib/logger.js';
import { randomInt } from '../lib/prng.js';
import { ReadOnlyOption, resolveRaftConfig, type RaftConfig, type ResolvedRaftConfig } from './config.js';
import { Changer, type ChangeResult } from './confchange/changer.js';
import { restoreConfig } from './confchange/restore.js';
import { decodeConfChange, encodeConfChange } from './conf-change-codec.js';
import { describeMessage } from './describe.js';
import { RaftError, RaftErrorCode } from './errors.js';
import { RaftLog } from './log/raft-log.js';
import { VoteResult } from './quorum/majority.js';
import { ReadOnly, type ReadIndexRequest } from './read-only.js';
import { ProgressState, type Progress } from './tracker/progress.js';
import { describeTrackerConfig, ProgressTracker } from './tracker/progress-tracker.js';
import {
  ConfChangeTransition, EntryType, NONE, Role, entryBytes,
  type ConfChange, type ConfState, type Entry, type HardState, type LogIndex, type Message,
  type MsgApp, type MsgAppResp, type MsgHeartbeat, type MsgHeartbeatResp, type MsgSnap,
  type MsgVote, type NodeId, type ReadState, type Snapshot, type SoftState, type Term,
} from './types.js';

/** CampaignType: a PreVote round, a real election, or an election forced by leadership transfer. */
type CampaignType = 'pre-election' | 'election' | 'transfer';

/** PENDING_READ_INDEX_MESSAGES_MAX bounds reads held until the leader commits in its term. */
const PENDING_READ_INDEX_MESSAGES_MAX = 4096;

/**
 * Raft is the consensus state machine of one node of one group (modelled on etcd-io/raft). It
 * changes only through `step`, `tick` and the local calls, and collects its output (messages,
 * read states) for the RawNode to hand out in a Ready. Roles switch by swapping the step and tick
 * functions. It never does I/O and never throws on peer input: stale or bad messages are dropped
 * and logged.
 */
export class Raft {
  readonly id: NodeId;
  readonly config: ResolvedRaftConfig;
  readonly raftLog: RaftLog;
  readonly trk: ProgressTracker;
  private readonly logger: Logger;

  term: Term = 0;
  vote: NodeId = NONE;
  role: Role = Role.Follower;
  /** lead is the leader of the current term as far as this node knows (NONE if unknown). */
  lead: NodeId = NONE;
  /** leadTransferee is the target of a leadership transfer in progress (NONE otherwise). */
  leadTransferee: NodeId = NONE;
  /**
   * pendingConfIndex: a new conf change may be proposed only once the log is applied past this
   * index (only one change in flight at a time).
   */
  pendingConfIndex: LogIndex = 0;
  /** uncommittedBytes is the payload size of the leader's uncommitted tail (bounded). */
  uncommittedBytes = 0;

  /** electionElapsed counts ticks since the last election timeout reset (or, on a leader, since the last CheckQuorum). */
  electionElapsed = 0;
  /** heartbeatElapsed counts ticks since the last heartbeat (leader only). */
  heartbeatElapsed = 0;
  /** timeoutNowSentThisTerm: a transfer was attempted in this term, so leases are no longer trusted. */
  private timeoutNowSentThisTerm = false;
  /**
   * startupLeaseGuard: with lease-based reads, a restarted node refuses non-transfer votes for
   * its first election timeout, since it may have acknowledged a leader lease just before.
   */
  private startupLeaseGuard: boolean;
  /** ticks counts every tick since start (the clock of leader leases). */
  ticks = 0;
  /** randomizedElectionTimeout is drawn from [electionTicks, 2 * electionTicks) at every reset. */
  randomizedElectionTimeout = 0;

  private readOnly: ReadOnly;
  private pendingReadIndexMessages: ReadIndexRequest[] = [];
  /** readRoundPending: queued ReadIndex requests need a heartbeat round (sent once per Ready). */
  private readRoundPending = false;

  /** msgs are outgoing messages, taken by the RawNode at each Ready. */
  msgs: Message[] = [];
  /** readStates are answered ReadIndex requests, taken by the RawNode at each Ready. */
  readStates: ReadState[] = [];

  private stepRole: (m: Message) => void;
  private tickRole: () => void;

  constructor(config: RaftConfig) {
    this.config = resolveRaftConfig(config);
    this.id = this.config.id;
    this.logger = this.config.logger;
    this.raftLog = new RaftLog(this.config.storage, this.config.committedBytesPerReadyMax);
    const { hardState, confState } = this.config.storage.initialState();
    const { config: trackerConfig, progress } = restoreConfig(
      confState, this.raftLog.lastIndex(), this.config.inflightMsgsMax, this.config.inflightBytesMax);
    this.trk = new ProgressTracker(trackerConfig, progress, this.config.inflightMsgsMax, this.config.inflightBytesMax);
    this.readOnly = new ReadOnly(this.config.readOnlyOption);
    // A node that never had a term never acknowledged a lease.
    this.startupLeaseGuard = (this.config.readOnlyOption === ReadOnlyOption.LeaseBased || this.config.leaseReads) &&
      hardState.term > 0;
    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) this.loadState(hardState);
    if (this.config.applied > 0) this.raftLog.appliedTo(this.config.applied);
    this.stepRole = this.stepFollower;
    this.tickRole = this.tickElection;
    this.becomeFollower(this.term, NONE);
    this.logger.info('raft node started', {
      id: this.id, term: this.term, commit: this.raftLog.committed, applied: this.raftLog.applied,
      lastIndex: this.raftLog.lastIndex(), lastTerm: this.raftLog.lastTerm(), config: describeTrackerConfig(this.trk.config),
    });
  }

  private loadState(hs: HardState): void {
    assert(hs.commit >= this.raftLog.committed && hs.commit <= this.raftLog.lastIndex(),
      () => `${this.id} state.commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`);
    this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  softState(): SoftState {
    return { leader: this.lead, role: this.role };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  // ---------------------------------------------------------------------------------------------
  // Role transitions

  private reset(term: Term): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const lastIndex = this.raftLog.lastIndex();
    for (const id of this.trk.ids()) {
      const pr = this.trk.progress.get(id)!;
      pr.match = 0;
      pr.next = lastIndex + 1;
      pr.recentActive = false;
      pr.leaseAckTick = -1;
      pr.becomeProbe();
      pr.next = lastIndex + 1;
      // The leader counts only what it has durably written (see advance / thesis §10.2.1).
      if (id === this.id) pr.match = this.raftLog.lastStableIndex();
    }
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.readOnly = new ReadOnly(this.config.readOnlyOption);
    this.pendingReadIndexMessages = [];
    this.readRoundPending = false;
    this.timeoutNowSentThisTerm = false;
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.config.electionTicks + randomInt(this.config.prng, this.config.electionTicks);
  }

  /** becomeFollower moves to follower of `term` under `lead` (NONE if unknown). */
  becomeFollower(term: Term, lead: NodeId): void {
    this.stepRole = this.stepFollower;
    this.reset(term);
    this.tickRole = this.tickElection;
    this.lead = lead;
    this.role = Role.Follower;
    this.logger.info('became follower', { id: this.id, term: this.term, lead });
  }

  private becomeCandidate(): void {
    assert(this.role !== Role.Leader, 'invalid transition [leader -> candidate]');
    this.stepRole = this.stepCandidate;
    this.reset(this.term + 1);
    this.tickRole = this.tickElection;
    this.vote = this.id;
    this.role = Role.Candidate;
    this.logger.info('became candidate', { id: this.id, term: this.term });
  }

  private becomePreCandidate(): void {
    assert(this.role !== Role.Leader, 'invalid transition [leader -> pre-candidate]');
    // A pre-candidate changes neither term nor vote: a lost PreVote leaves no trace.
    this.stepRole = this.stepCandidate;
    this.trk.resetVotes();
    this.tickRole = this.tickElection;
    this.lead = NONE;
    this.role = Role.PreCandidate;
    this.logger.info('became pre-candidate', { id: this.id, term: this.term });
  }

  private becomeLeader(): void {
    assert(this.role !== Role.Follower, 'invalid transition [follower -> leader]');
    this.stepRole = this.stepLeader;
    this.reset(this.term);
    this.tickRole = this.tickHeartbeat;
    this.lead = this.id;
    this.role = Role.Leader;
    const self = this.trk.progress.get(this.id);
    assert(self !== undefined, 'leader without own progress');
    self.becomeReplicate();
    self.match = this.raftLog.lastStableIndex();
    self.next = this.raftLog.lastIndex() + 1;
    // The leader always counts as active; CheckQuorum preserves this.
    self.recentActive = true;
    // Conservatively, any unapplied entry might be a conf change: wait for it before another.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // The no-op of the new term (§8): committing it commits everything before it (§5.4.2).
    const appended = this.appendEntries([{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }]);
    assert(appended, 'empty entry was dropped');
    this.logger.info('became leader', { id: this.id, term: this.term });
  }

  // ---------------------------------------------------------------------------------------------
  // Elections

  private promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasPendingSnapshot();
  }

  /** hup starts an election (or a PreVote) unless this node is leader or cannot be one. */
  hup(campaign: CampaignType): void {
    if (this.role === Role.Leader) {
      this.logger.debug('ignoring campaign: already leader', { id: this.id });
      return;
    }
    if (!this.promotable()) {
      this.logger.warn('is unpromotable and can not campaign', { id: this.id });
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      this.logger.warn('cannot campaign: committed but unapplied conf changes', { id: this.id, term: this.term });
      return;
    }
    this.logger.info('starting a new election', { id: this.id, term: this.term });
    this.campaign(campaign === 'election' && this.config.preVote ? 'pre-election' : campaign);
  }

  /**
   * requestCampaign is an election the host asks for (RawNode.campaign). With lease reads, a
   * follower that heard from its leader less than an election timeout ago may have acknowledged
   * that leader's lease, on which the leader answers reads without a round trip: were it to vote
   * for itself now, it and the nodes that stopped hearing from the leader could elect a new one
   * while the old one still answers reads from its lease, and those reads would miss the new
   * leader's writes. So it refuses, as it refuses other candidates' votes (step), until the lease
   * it may have granted has run out; the election timer campaigns after that, and a leadership
   * transfer moves a live leader at once (the old leader's lease ends with the transfer).
   */
  requestCampaign(): void {
    const leaseReads = this.config.leaseReads || this.readOnly.option === ReadOnlyOption.LeaseBased;
    if (leaseReads && this.role !== Role.Leader && this.inLeaderLease()) {
      this.logger.info('ignoring campaign: this node may have acknowledged the leader\'s lease', {
        id: this.id, term: this.term, lead: this.lead, remainingTicks: this.config.electionTicks - this.electionElapsed,
      });
      return;
    }
    this.hup('election');
  }

  /**
   * inLeaderLease: with CheckQuorum, this node heard from a leader (or, just restarted, may
   * have) within the minimum election timeout, so it neither votes for another node nor
   * campaigns without a transfer.
   */
  private inLeaderLease(): boolean {
    return this.config.checkQuorum && (this.lead !== NONE || this.startupLeaseGuard) &&
      this.electionElapsed < this.config.electionTicks;
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.raftLog.applied >= this.raftLog.committed) return false;
    const lo = Math.max(this.raftLog.applied + 1, this.raftLog.firstIndex());
    if (lo > this.raftLog.committed) return false;
    try {
      for (const e of this.raftLog.slice(lo, this.raftLog.committed + 1, Number.MAX_SAFE_INTEGER)) {
        if (e.type === EntryType.ConfChange) return true;
      }
    } catch (error) {
      if (error instanceof RaftError) return true;
      throw error;
    }
    return false;
  }

  private campaign(campaign: CampaignType): void {
    if (!this.promotable()) return;
    let term: Term;
    let type: MsgVote['type'];
    if (campaign === 'pre-election') {
      this.becomePreCandidate();
      type = 'MsgPreVote';
      // PreVote asks with the term we would use, without incrementing ours.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      type = 'MsgVote';
      term = this.term;
    }
    if (this.poll(this.id, true) === VoteResult.Won) {
      // A single-voter group wins at once.
      if (campaign === 'pre-election') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    const index = this.raftLog.lastIndex();
    const logTerm = this.raftLog.lastTerm();
    for (const id of this.trk.ids()) {
      if (id === this.id || !this.trk.isVoter(id)) continue;
      this.logger.info('sent vote request', { id: this.id, type, to: id, term, index, logTerm });
      this.send({ type, from: this.id, to: id, term, logTerm, index, transfer: campaign === 'transfer' });
    }
  }

  private poll(id: NodeId, granted: boolean): VoteResult {
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes().result;
  }

  // ---------------------------------------------------------------------------------------------
  // Ticks

  /** tick advances the logical clock by one tick. */
  tick(): void {
    this.ticks++;
    this.tickRole();
  }

  private pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  private tickElection = (): void => {
    this.electionElapsed++;
    if (this.electionElapsed >= this.config.electionTicks) this.startupLeaseGuard = false;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.hup('election');
    }
  };

  private tickHeartbeat = (): void => {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum) this.checkQuorum();
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.role === Role.Leader && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.role !== Role.Leader) return;
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  };

  /** checkQuorum steps down a leader that has not heard from a quorum in an election timeout. */
  private checkQuorum(): void {
    if (!this.trk.quorumActive()) {
      this.logger.warn('stepped down to follower since quorum is not active', { id: this.id, term: this.term });
      this.becomeFollower(this.term, NONE);
    }
    for (const id of this.trk.ids()) {
      if (id !== this.id) this.trk.progress.get(id)!.recentActive = false;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Messages in

  /** step handles a message from a peer. It never throws on bad input. */
  step(m: Message): void {
    if (m.to !== this.id) {
      this.logger.warn('dropped message addressed to another node', { id: this.id, msg: describeMessage(m) });
      return;
    }
    if (m.term === 0) {
      // Forwarded proposals and read requests carry no term: they are handled as local requests.
      if (m.type !== 'MsgProp' && m.type !== 'MsgReadIndex') {
        this.logger.warn('dropped message without term', { id: this.id, msg: describeMessage(m) });
        return;
      }
    } else if (m.term > this.term) {
      if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
        // After a restart we do not know whether we acknowledged a leader's lease just before
        // going down, so with lease reads we honour a lease for the first election timeout.
        if (!m.transfer && this.inLeaderLease()) {
          // We heard from a live leader within the minimum election timeout: do not let a
          // (partitioned, rejoining) node disrupt it (thesis §4.2.3).
          this.logger.info('ignored vote request: lease is not expired', {
            id: this.id, term: this.term, from: m.from, msgTerm: m.term, type: m.type,
            remainingTicks: this.config.electionTicks - this.electionElapsed,
          });
          return;
        }
      }
      if (m.type === 'MsgPreVote') {
        // Never change our term in response to a PreVote.
      } else if (m.type === 'MsgPreVoteResp' && !m.reject) {
        // A granted PreVote carries the term we will campaign in; we move to it on a quorum.
      } else {
        this.logger.info('received a message with higher term', { id: this.id, term: this.term, type: m.type, from: m.from, msgTerm: m.term });
        const fromLeader = m.type === 'MsgApp' || m.type === 'MsgHeartbeat' || m.type === 'MsgSnap';
        this.becomeFollower(m.term, fromLeader ? m.from : NONE);
      }
    } else if (m.term < this.term) {
      this.stepStale(m);
      return;
    }

    switch (m.type) {
      case 'MsgVote':
      case 'MsgPreVote':
        this.handleVoteRequest(m);
        return;
      default:
        this.stepRole(m);
    }
  }

  private stepStale(m: Message): void {
    if (m.type === 'MsgHeartbeat' || m.type === 'MsgApp') {
      // A leader cut off by a partition may still think it leads, or our term moved on without an
      // election it could see; answer so it learns our term and steps down instead of being
      // ignored forever (§5.1: a stale request is answered with the current term). etcd-raft
      // answers only with CheckQuorum or PreVote, counting on our MsgVote to carry the term
      // otherwise; but a member that lags behind a configuration change asks only the voters of
      // its old configuration, which may all be gone, and would never rejoin.
      this.send({ type: 'MsgAppResp', from: this.id, to: m.from, term: this.term, index: 0, reject: false, rejectHint: 0, logTerm: 0 });
    } else if (m.type === 'MsgPreVote' || m.type === 'MsgVote') {
      // Reject a (pre-)candidate with a stale term and tell it ours (§5.1), so it catches up
      // instead of campaigning at a term nobody answers (without PreVote it could wait forever).
      this.send({ type: m.type === 'MsgVote' ? 'MsgVoteResp' : 'MsgPreVoteResp', from: this.id, to: m.from, term: this.term, reject: true });
    } else {
      this.logger.debug('ignored a message with lower term', { id: this.id, term: this.term, type: m.type, from: m.from, msgTerm: m.term });
    }
  }

  private handleVoteRequest(m: MsgVote): void {
    // We can vote if this is a repeat of a vote we cast, or we have not voted and know no leader
    // in this term, or this is a PreVote for a future term.
    const canVote = this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (m.type === 'MsgPreVote' && m.term > this.term);
    const respType = m.type === 'MsgVote' ? 'MsgVoteResp' : 'MsgPreVoteResp';
    if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
      this.logger.info('cast vote', { id: this.id, type: m.type, for: m.from, term: this.term, msgTerm: m.term });
      // The response carries the request's term: a PreVote response is for a term we are not in.
      this.send({ type: respType, from: this.id, to: m.from, term: m.term, reject: false });
      if (m.type === 'MsgVote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.logger.info('rejected vote', { id: this.id, type: m.type, from: m.from, term: this.term, msgTerm: m.term });
      this.send({ type: respType, from: this.id, to: m.from, term: this.term, reject: true });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Leader

  private stepLeader = (m: Message): void => {
    switch (m.type) {
      case 'MsgProp':
        this.handleForwardedProposal(m.from, m.entries);
        return;
      case 'MsgReadIndex':
        this.handleReadIndex({ from: m.from, context: m.context });
        return;
      case 'MsgTransferLeader':
        this.handleTransferLeader(m.target);
        return;
      default:
        break;
    }
    const pr = this.trk.progress.get(m.from);
    if (!pr) {
      this.logger.debug('no progress available for sender', { id: this.id, from: m.from, type: m.type });
      return;
    }
    switch (m.type) {
      case 'MsgAppResp':
        this.handleAppendResponse(m, pr);
        return;
      case 'MsgHeartbeatResp':
        this.handleHeartbeatResponse(m, pr);
        return;
      default:
        this.logger.debug('leader ignored message', { id: this.id, msg: describeMessage(m) });
    }
  };

  private handleAppendResponse(m: MsgAppResp, pr: Progress): void {
    pr.recentActive = true;
    if (m.reject) {
      this.logger.debug('received MsgAppResp rejection', { id: this.id, from: m.from, index: m.index, hint: m.rejectHint, logTerm: m.logTerm });
      let nextProbeIndex = m.rejectHint;
      if (m.logTerm > 0) {
        // The follower told us the term at its hint index: skip every entry of ours with a
        // larger term in one step instead of one probe per entry.
        nextProbeIndex = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm).index;
      }
      if (pr.maybeDecrTo(m.index, nextProbeIndex)) {
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const oldPaused = pr.isPaused();
    if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === ProgressState.Probe)) {
      switch (pr.state) {
        case ProgressState.Probe:
          pr.becomeReplicate();
          break;
        case ProgressState.Snapshot:
          // The follower caught up past the snapshot (or got it through the log): resume.
          if (pr.match + 1 >= this.raftLog.firstIndex()) {
            this.logger.info('recovered from needing snapshot, resumed sending replication messages', { id: this.id, to: m.from, match: pr.match });
            pr.becomeProbe();
            pr.becomeReplicate();
          }
          break;
        case ProgressState.Replicate:
          pr.inflights.freeLE(m.index);
          break;
      }
      if (this.maybeCommit()) {
        this.releasePendingReadIndexMessages();
        this.bcastAppend();
      } else if (oldPaused) {
        this.sendAppend(m.from);
      }
      // The window may have opened by several messages: fill it.
      while (this.maybeSendAppend(m.from, false)) { /* keep sending */ }
      if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) {
        this.logger.info('sent MsgTimeoutNow after received MsgAppResp', { id: this.id, to: m.from });
        this.sendTimeoutNow(m.from);
      }
    }
  }

  private handleHeartbeatResponse(m: MsgHeartbeatResp, pr: Progress): void {
    pr.recentActive = true;
    pr.msgAppFlowPaused = false;
    if (m.sentTick > pr.leaseAckTick) pr.leaseAckTick = m.sentTick;
    // Even a paused follower (full inflights) gets an append, possibly empty, so it recovers when
    // every message that filled the window was lost; a caught-up follower in probe state returns
    // to replicate this way.
    if (pr.match < this.raftLog.lastIndex() || pr.state === ProgressState.Probe) this.sendAppend(m.from);
    if (m.context === '') return;
    const acks = this.readOnly.recvAck(m.from, m.context);
    if (!acks || this.trk.config.voters.voteResult(acks) !== VoteResult.Won) return;
    for (const status of this.readOnly.advance(m.context)) this.respondToReadIndex(status.request, status.index);
  }

  /** reportSnapshot handles the host's report of a snapshot send to `to`. */
  reportSnapshot(to: NodeId, ok: boolean): void {
    if (this.role !== Role.Leader) return;
    const pr = this.trk.progress.get(to);
    if (!pr || pr.state !== ProgressState.Snapshot) return;
    if (!ok) pr.pendingSnapshot = 0;
    // Wait for the follower's MsgAppResp before sending more (probe, paused): if the snapshot
    // failed we resume from match, else from just past the snapshot.
    pr.becomeProbe();
    pr.msgAppFlowPaused = true;
    this.logger.debug('snapshot reported', { id: this.id, to, ok, progress: pr.toString() });
  }

  /** reportUnreachable marks `to` unreachable: stop pipelining to it until it answers. */
  reportUnreachable(to: NodeId): void {
    if (this.role !== Role.Leader) return;
    const pr = this.trk.progress.get(to);
    if (pr && pr.state === ProgressState.Replicate) pr.becomeProbe();
  }

  private maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.trk.committed(), this.term);
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.raftLog.term(this.raftLog.committed) === this.term;
  }

  /** sendAppend sends what `to` needs next (entries, or a snapshot), even if it is nothing. */
  private sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /** maybeSendAppend sends entries (or a snapshot) to `to`; false when nothing was sent. */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.raftLog.term(prevIndex);
    let entries: Entry[] = [];
    let compacted = prevTerm === undefined;
    if (!compacted && (pr.state !== ProgressState.Replicate || !pr.inflights.full())) {
      try {
        entries = this.raftLog.entries(pr.next, this.config.appendBytesPerMsgMax);
      } catch (error) {
        if (!(error instanceof RaftError)) throw error;
        compacted = true;
      }
      if (entries.length > this.config.appendEntriesPerMsgMax) entries = entries.slice(0, this.config.appendEntriesPerMsgMax);
    }
    if (compacted) return this.maybeSendSnapshot(to, pr);
    if (entries.length === 0 && !sendIfEmpty) return false;
    let bytes = 0;
    for (const e of entries) bytes += entryBytes(e);
    // An acknowledgement of an empty append at or below match changes nothing (see
    // handleAppendResponse: no maybeUpdate, not in probe), so the follower is told to send none.
    const commitOnly = entries.length === 0 && pr.state === ProgressState.Replicate && pr.match >= prevIndex;
    this.send({
      type: 'MsgApp', from: this.id, to, term: this.term,
      index: prevIndex, logTerm: prevTerm!, entries, commit: this.raftLog.committed, commitOnly,
    });
    pr.sentEntries(entries.length, bytes);
    return true;
  }

  private maybeSendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) {
      this.logger.debug('ignore sending snapshot to inactive follower', { id: this.id, to });
      return false;
    }
    let snapshot: Snapshot;
    try {
      snapshot = this.raftLog.snapshot();
    } catch (error) {
      if (error instanceof RaftError && error.code === RaftErrorCode.SnapshotTemporarilyUnavailable) {
        this.logger.debug('failed to send snapshot: temporarily unavailable', { id: this.id, to });
        return false;
      }
      throw error;
    }
    assert(snapshot.metadata.index !== 0, 'need non-empty snapshot');
    this.logger.info('sending snapshot', {
      id: this.id, to, index: snapshot.metadata.index, term: snapshot.metadata.term, progress: pr.toString(),
    });
    pr.becomeSnapshot(snapshot.metadata.index);
    this.send({ type: 'MsgSnap', from: this.id, to, term: this.term, snapshot });
    return true;
  }

  private sendHeartbeat(to: NodeId, context: string): void {
    // Never tell a follower to commit past what it is known to have: it may not have it.
    const pr = this.trk.progress.get(to)!;
    const commit = Math.min(pr.match, this.raftLog.committed);
    this.send({ type: 'MsgHeartbeat', from: this.id, to, term: this.term, commit, context, sentTick: this.ticks });
  }

  private bcastAppend(): void {
    for (const id of this.trk.ids()) if (id !== this.id) this.sendAppend(id);
  }

  private bcastHeartbeat(): void {
    this.bcastHeartbeatWithContext(this.readOnly.lastPendingContext());
  }

  private bcastHeartbeatWithContext(context: string): void {
    this.readRoundPending = false;
    for (const id of this.trk.ids()) if (id !== this.id) this.sendHeartbeat(id, context);
  }

  /**
   * flushReadRound sends one heartbeat round for every ReadIndex request queued since the last
   * round (called once per Ready), so any number of reads costs one round.
   */
  flushReadRound(): void {
    if (this.readRoundPending && this.role === Role.Leader) this.bcastHeartbeat();
    this.readRoundPending = false;
  }

  /** hasReadRoundPending is true when queued reads wait for flushReadRound. */
  hasReadRoundPending(): boolean {
    return this.readRoundPending;
  }

  private sendTimeoutNow(to: NodeId): void {
    // A MsgTimeoutNow may arrive arbitrarily late and its election bypasses the followers'
    // leases, so this leader's lease is void for the rest of the term.
    this.timeoutNowSentThisTerm = true;
    this.send({ type: 'MsgTimeoutNow', from: this.id, to, term: this.term });
  }

  private abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  private handleTransferLeader(target: NodeId): void {
    if (this.role !== Role.Leader) return;
    const pr = this.trk.progress.get(target);
    if (!pr || pr.isLearner) {
      this.logger.info('ignored transferring leadership to a non-voter', { id: this.id, target });
      return;
    }
    if (this.leadTransferee !== NONE) {
      if (this.leadTransferee === target) {
        this.logger.info('transfer leadership already in progress', { id: this.id, target });
        return;
      }
      this.abortLeaderTransfer();
    }
    if (target === this.id) {
      this.logger.debug('already leader; ignored transferring leadership to self', { id: this.id });
      return;
    }
    this.logger.info('starts to transfer leadership', { id: this.id, term: this.term, target });
    // The transfer must finish within one election timeout, or it is aborted.
    this.electionElapsed = 0;
    this.leadTransferee = target;
    if (pr.match === this.raftLog.lastIndex()) this.sendTimeoutNow(target);
    else this.sendAppend(target);
  }

  // ---------------------------------------------------------------------------------------------
  // Proposals

  /**
   * propose handles a local proposal. Throws RaftError(ProposalDropped) when it cannot be
   * accepted: no leader, forwarding disabled, a transfer in progress, or the uncommitted limit.
   */
  propose(entries: Entry[]): void {
    switch (this.role) {
      case Role.Leader:
        this.leaderPropose(entries, true);
        return;
      case Role.Follower:
        if (this.lead === NONE) throw new RaftError(RaftErrorCode.ProposalDropped, 'no leader at term ' + this.term);
        if (this.config.disableProposalForwarding) {
          throw new RaftError(RaftErrorCode.ProposalDropped, 'not leader and proposal forwarding is disabled');
        }
        this.send({ type: 'MsgProp', from: this.id, to: this.lead, term: 0, entries });
        return;
      case Role.Candidate:
      case Role.PreCandidate:
        throw new RaftError(RaftErrorCode.ProposalDropped, `no leader at term ${this.term} (${this.role})`);
      default:
        unreachable(this.role);
    }
  }

  private stepFollowerProposal(from: NodeId, entries: readonly Entry[]): void {
    if (this.lead === NONE || this.config.disableProposalForwarding) {
      this.logger.info('dropped forwarded proposal', { id: this.id, from, lead: this.lead, forwarding: !this.config.disableProposalForwarding });
      return;
    }
    this.send({ type: 'MsgProp', from: this.id, to: this.lead, term: 0, entries });
  }

  private handleForwardedProposal(from: NodeId, entries: readonly Entry[]): void {
    try {
      this.leaderPropose(entries.map((e) => ({ ...e })), false);
    } catch (error) {
      if (!(error instanceof RaftError)) throw error;
      this.logger.info('dropped forwarded proposal', { id: this.id, from, reason: error.message });
    }
  }

  /**
   * leaderPropose appends proposals to the leader's log. A conf change that cannot be accepted is
   * refused (local) or replaced by an empty entry (forwarded, so the rest of the batch stands).
   */
  private leaderPropose(entries: Entry[], local: boolean): void {
    if (!this.trk.progress.has(this.id)) {
      throw new RaftError(RaftErrorCode.ProposalDropped, 'leader was removed from the configuration');
    }
    if (this.leadTransferee !== NONE) {
      throw new RaftError(RaftErrorCode.ProposalDropped, `leadership transfer to ${this.leadTransferee} in progress`);
    }
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.type !== EntryType.ConfChange) continue;
      const refusal = this.confChangeRefusal(decodeConfChange(e.data));
      if (refusal !== undefined) {
        if (local) throw new RaftError(RaftErrorCode.ConfChangeRefused, refusal);
        this.logger.info('ignoring conf change', { id: this.id, reason: refusal });
        entries[i] = { term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) };
      } else {
        this.pendingConfIndex = this.raftLog.lastIndex() + i + 1;
      }
    }
    if (!this.appendEntries(entries)) {
      throw new RaftError(RaftErrorCode.ProposalDropped,
        `uncommitted log is over its limit (${this.uncommittedBytes} of ${this.config.uncommittedBytesMax} bytes)`);
    }
    this.bcastAppend();
  }

  private confChangeRefusal(cc: ConfChange): string | undefined {
    if (this.pendingConfIndex > this.raftLog.applied) {
      return `possible unapplied conf change at index ${this.pendingConfIndex} (applied to ${this.raftLog.applied})`;
    }
    const alreadyJoint = this.trk.config.voters.isJoint;
    const wantsLeaveJoint = cc.changes.length === 0;
    if (alreadyJoint && !wantsLeaveJoint) return 'must transition out of joint config first';
    if (!alreadyJoint && wantsLeaveJoint) return 'not in joint state; refusing empty conf change';
    const result = this.computeConfChange(cc);
    return result.ok ? undefined : result.error;
  }

  /** appendEntries stamps term and index on `entries` and appends them; false if over the uncommitted limit. */
  private appendEntries(entries: Entry[]): boolean {
    let bytes = 0;
    for (const e of entries) bytes += e.data.byteLength;
    // An empty payload always passes (the no-op, leave-joint), and so does anything while the
    // uncommitted tail is empty, so one large proposal can never be refused forever.
    if (this.uncommittedBytes > 0 && bytes > 0 && this.uncommittedBytes + bytes > this.config.uncommittedBytesMax) {
      this.logger.debug('appending new entries would exceed the uncommitted entry size limit; dropping proposal', { id: this.id });
      return false;
    }
    this.uncommittedBytes += bytes;
    let index = this.raftLog.lastIndex();
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      entries[i] = { term: this.term, index: ++index, type: e.type, data: e.data };
    }
    this.raftLog.append(entries);
    // The leader's own acknowledgement is counted when the host has persisted these (advance).
    return true;
  }

  /** reduceUncommittedBytes releases the payload of entries that were committed and applied. */
  reduceUncommittedBytes(entries: readonly Entry[]): void {
    if (this.uncommittedBytes === 0) return;
    let bytes = 0;
    for (const e of entries) bytes += e.data.byteLength;
    this.uncommittedBytes = Math.max(0, this.uncommittedBytes - bytes);
  }

  /**
   * onPersisted is called by the RawNode once the host has durably written entries up to
   * (index, term): the leader's own acknowledgement counts only now (thesis §10.2.1).
   */
  onPersisted(index: LogIndex, term: Term): void {
    if (this.role !== Role.Leader || this.raftLog.term(index) !== term) return;
    const self = this.trk.progress.get(this.id);
    if (self && self.maybeUpdate(index) && this.maybeCommit()) {
      this.releasePendingReadIndexMessages();
      this.bcastAppend();
    }
  }

  /** maybeAutoLeaveJoint proposes leaving a joint config once the entering entry is applied. */
  maybeAutoLeaveJoint(): void {
    if (this.role !== Role.Leader || !this.trk.config.autoLeave || this.raftLog.applied < this.pendingConfIndex) return;
    const leave: ConfChange = { transition: ConfChangeTransition.Auto, changes: [], context: new Uint8Array(0) };
    this.logger.info('initiating automatic transition out of joint configuration', { id: this.id, config: describeTrackerConfig(this.trk.config) });
    try {
      this.leaderPropose([{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(leave) }], true);
    } catch (error) {
      if (!(error instanceof RaftError)) throw error;
      this.logger.debug('not initiating automatic transition out of joint configuration', { id: this.id, reason: error.message });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Reads

  /** readIndex handles a local ReadIndex request (answered as a ReadState in a later Ready). */
  readIndex(context: string): void {
    switch (this.role) {
      case Role.Leader:
        this.handleReadIndex({ from: this.id, context });
        return;
      case Role.Follower:
        if (this.lead === NONE) throw new RaftError(RaftErrorCode.ProposalDropped, `no leader at term ${this.term}; dropping index reading msg`);
        this.send({ type: 'MsgReadIndex', from: this.id, to: this.lead, term: 0, context });
        return;
      case Role.Candidate:
      case Role.PreCandidate:
        throw new RaftError(RaftErrorCode.ProposalDropped, `no leader at term ${this.term}; dropping index reading msg`);
      default:
        unreachable(this.role);
    }
  }

  private handleReadIndex(request: ReadIndexRequest): void {
    if (this.trk.isSingleton()) {
      this.respondToReadIndex(request, this.raftLog.committed);
      return;
    }
    // Until the leader commits an entry of its term it does not know the commit index (§8):
    // hold the read.
    if (!this.committedEntryInCurrentTerm()) {
      if (this.pendingReadIndexMessages.length >= PENDING_READ_INDEX_MESSAGES_MAX) {
        this.logger.warn('dropped read index: too many pending before first commit of term', { id: this.id });
        return;
      }
      this.pendingReadIndexMessages.push(request);
      return;
    }
    this.serveReadIndex(request);
  }

  /**
   * leaseValid is true while a quorum of voters acknowledged a heartbeat sent less than
   * electionTicks - leaseClockDriftTicks ticks ago, and no MsgTimeoutNow was sent in this term.
   */
  leaseValid(): boolean {
    if (this.role !== Role.Leader || this.leadTransferee !== NONE || this.timeoutNowSentThisTerm) return false;
    const start = this.trk.config.voters.committedIndex((id) =>
      id === this.id ? this.ticks : this.trk.progress.get(id)?.leaseAckTick ?? -1);
    return Number.isFinite(start) && start >= 0 &&
      this.ticks < start + this.config.electionTicks - this.config.leaseClockDriftTicks;
  }

  /**
   * leaseReadIndex returns the index a read may be served at right now from the leader's lease
   * (no round trip), or undefined when lease reads are off, the lease is not valid, or this
   * leader has not yet committed an entry of its term (its commit index may be stale, §8).
   */
  leaseReadIndex(): LogIndex | undefined {
    if (!this.config.leaseReads && this.readOnly.option !== ReadOnlyOption.LeaseBased) return undefined;
    if (!this.leaseValid() || !this.committedEntryInCurrentTerm()) return undefined;
    return this.raftLog.committed;
  }

  private serveReadIndex(request: ReadIndexRequest): void {
    if (this.readOnly.option === ReadOnlyOption.LeaseBased && this.leaseValid()) {
      this.respondToReadIndex(request, this.raftLog.committed);
      return;
    }
    switch (this.readOnly.option) {
      case ReadOnlyOption.LeaseBased:
      case ReadOnlyOption.Safe:
        if (!this.readOnly.addRequest(this.raftLog.committed, request)) {
          this.logger.warn('dropped read index: duplicate context or queue full', { id: this.id, context: request.context });
          return;
        }
        this.readOnly.recvAck(this.id, request.context);
        this.readRoundPending = true;
        return;
      default:
        unreachable(this.readOnly.option);
    }
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const requests = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const request of requests) this.serveReadIndex(request);
  }

  private respondToReadIndex(request: ReadIndexRequest, index: LogIndex): void {
    if (request.from === NONE || request.from === this.id) {
      this.readStates.push({ index, context: request.context });
    } else {
      this.send({ type: 'MsgReadIndexResp', from: this.id, to: request.from, term: this.term, index, context: request.context });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Candidate and follower

  private stepCandidate = (m: Message): void => {
    const myVoteResp = this.role === Role.PreCandidate ? 'MsgPreVoteResp' : 'MsgVoteResp';
    switch (m.type) {
      case 'MsgProp':
        this.logger.info('no leader; dropping forwarded proposal', { id: this.id, term: this.term });
        return;
      case 'MsgApp':
        this.becomeFollower(m.term, m.from); // always m.term === this.term here
        this.handleAppendEntries(m);
        return;
      case 'MsgHeartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case 'MsgSnap':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case 'MsgVoteResp':
      case 'MsgPreVoteResp': {
        if (m.type !== myVoteResp) return;
        const result = this.poll(m.from, !m.reject);
        const { granted, rejected } = this.trk.tallyVotes();
        this.logger.info('received votes', { id: this.id, type: m.type, granted, rejected, result });
        if (result === VoteResult.Won) {
          if (this.role === Role.PreCandidate) {
            this.campaign('election');
          } else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (result === VoteResult.Lost) {
          // m.term may be greater than ours for a rejected PreVote; staying at our term is right:
          // a rejection from a higher term already made us a follower in step().
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
      case 'MsgTimeoutNow':
        this.logger.debug('ignored MsgTimeoutNow', { id: this.id, term: this.term, from: m.from });
        return;
      default:
        this.logger.debug('candidate ignored message', { id: this.id, msg: describeMessage(m) });
    }
  };

  private stepFollower = (m: Message): void => {
    switch (m.type) {
      case 'MsgProp':
        this.stepFollowerProposal(m.from, m.entries);
        return;
      case 'MsgApp':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return;
      case 'MsgHeartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case 'MsgSnap':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case 'MsgTransferLeader':
        if (this.lead === NONE) {
          this.logger.info('no leader; dropping leader transfer msg', { id: this.id, term: this.term });
          return;
        }
        this.send({ type: 'MsgTransferLeader', from: this.id, to: this.lead, term: this.term, target: m.target });
        return;
      case 'MsgTimeoutNow':
        this.logger.info('received MsgTimeoutNow; starting a new election to transfer leadership', { id: this.id, term: this.term, from: m.from });
        // Leadership transfers never use PreVote: the current leader asked for this election.
        this.hup('transfer');
        return;
      case 'MsgReadIndex':
        if (this.lead === NONE) {
          this.logger.info('no leader; dropping index reading msg', { id: this.id, term: this.term });
          return;
        }
        // Keep the origin: the leader answers the node that asked, not an intermediate follower.
        this.send({ type: 'MsgReadIndex', from: m.from, to: this.lead, term: 0, context: m.context });
        return;
      case 'MsgReadIndexResp':
        this.readStates.push({ index: m.index, context: m.context });
        return;
      default:
        this.logger.debug('follower ignored message', { id: this.id, msg: describeMessage(m) });
    }
  };

  private handleAppendEntries(m: MsgApp): void {
    if (m.index < this.raftLog.committed) {
      this.send({ type: 'MsgAppResp', from: this.id, to: m.from, term: this.term, index: this.raftLog.committed, reject: false, rejectHint: 0, logTerm: 0 });
      return;
    }
    const lastNew = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      if (m.commitOnly && m.entries.length === 0) return; // the leader knows we hold it all
      this.send({ type: 'MsgAppResp', from: this.id, to: m.from, term: this.term, index: lastNew, reject: false, rejectHint: 0, logTerm: 0 });
      return;
    }
    // Reject, and help the leader skip back fast: point at the last index whose term is <= the
    // term the leader asked about (thesis §5.3), bounded by our last index.
    const hintIndex = Math.min(m.index, this.raftLog.lastIndex());
    const hint = this.raftLog.findConflictByTerm(hintIndex, m.logTerm);
    this.logger.debug('rejected MsgApp', {
      id: this.id, logTerm: this.raftLog.term(m.index) ?? 0, index: m.index, msgLogTerm: m.logTerm, from: m.from,
    });
    this.send({ type: 'MsgAppResp', from: this.id, to: m.from, term: this.term, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term });
  }

  private handleHeartbeat(m: MsgHeartbeat): void {
    this.raftLog.commitTo(m.commit);
    this.send({ type: 'MsgHeartbeatResp', from: this.id, to: m.from, term: this.term, context: m.context, sentTick: m.sentTick });
  }

  private handleSnapshot(m: MsgSnap): void {
    const { index, term } = m.snapshot.metadata;
    if (this.restore(m.snapshot)) {
      this.logger.info('restored snapshot', { id: this.id, index, term });
      this.send({ type: 'MsgAppResp', from: this.id, to: m.from, term: this.term, index: this.raftLog.lastIndex(), reject: false, rejectHint: 0, logTerm: 0 });
    } else {
      this.logger.info('ignored snapshot', { id: this.id, index, term, committed: this.raftLog.committed });
      this.send({ type: 'MsgAppResp', from: this.id, to: m.from, term: this.term, index: this.raftLog.committed, reject: false, rejectHint: 0, logTerm: 0 });
    }
  }

  /** restore installs an incoming snapshot; false when it is stale or does not apply to us. */
  private restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.raftLog.committed) return false;
    if (this.role !== Role.Follower) {
      // Defense in depth: only followers install snapshots.
      this.logger.warn('attempted to restore snapshot as non-follower; should never happen', { id: this.id, role: this.role });
      this.becomeFollower(this.term + 1, NONE);
      return false;
    }
    const cs = s.metadata.confState;
    const inConfig = [cs.voters, cs.learners, cs.votersOutgoing].some((ids) => ids.includes(this.id));
    if (!inConfig) {
      this.logger.warn('attempted to restore snapshot but it is not in the ConfState; should never happen', { id: this.id });
      return false;
    }
    if (this.raftLog.matchTerm(s.metadata.index, s.metadata.term)) {
      // We already have the snapshot's last entry: just move the commit index (fast-forward).
      this.logger.info('fast-forwarded commit to snapshot', { id: this.id, index: s.metadata.index, term: s.metadata.term });
      this.raftLog.commitTo(s.metadata.index);
      return false;
    }
    this.raftLog.restore(s);
    const { config, progress } = restoreConfig(cs, this.raftLog.lastIndex(), this.config.inflightMsgsMax, this.config.inflightBytesMax);
    this.trk.setConfig(config, progress);
    assertConfStatesEquivalent(cs, this.trk.confState());
    const self = this.trk.progress.get(this.id)!;
    self.maybeUpdate(self.next - 1);
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Configuration

  private computeConfChange(cc: ConfChange): ChangeResult {
    const changer = new Changer(this.trk.config, this.trk.progress, this.raftLog.lastIndex(), this.config.inflightMsgsMax, this.config.inflightBytesMax);
    if (cc.changes.length === 0) return changer.leaveJoint();
    const autoLeave = cc.transition !== ConfChangeTransition.JointExplicit;
    const joint = cc.transition !== ConfChangeTransition.Auto || needsJoint(cc);
    return joint ? changer.enterJoint(autoLeave, cc.changes) : changer.simple(cc.changes);
  }

  /**
   * applyConfChange switches to the configuration of a committed conf-change entry. Every
   * member computes the same result from the same log, so an invalid change is ignored by all.
   */
  applyConfChange(cc: ConfChange): ConfState {
    const result = this.computeConfChange(cc);
    if (!result.ok) {
      this.logger.error('ignoring invalid committed conf change', { id: this.id, error: result.error });
      return this.trk.confState();
    }
    this.trk.setConfig(result.config, result.progress);
    this.logger.info('switched to configuration', { id: this.id, config: describeTrackerConfig(this.trk.config) });
    const cs = this.trk.confState();
    const self = this.trk.progress.get(this.id);
    if ((self === undefined || self.isLearner) && this.role === Role.Leader) {
      // A removed or demoted leader steps down; the remaining voters elect a new one.
      this.becomeFollower(this.term, NONE);
      return cs;
    }
    if (this.role !== Role.Leader || cs.voters.length === 0) return cs;
    // The quorum may have shrunk: maybe commit; otherwise probe any new members.
    if (this.maybeCommit()) this.bcastAppend();
    else for (const id of this.trk.ids()) if (id !== this.id) this.maybeSendAppend(id, false);
    if (this.leadTransferee !== NONE && !this.trk.isVoter(this.leadTransferee)) this.abortLeaderTransfer();
    return cs;
  }

  // ---------------------------------------------------------------------------------------------
  // Output

  private send(m: Message): void {
    this.msgs.push(m);
  }

  /** assertInvariants checks the node's local invariants (cheap; called at every Ready). */
  assertInvariants(): void {
    const log = this.raftLog;
    assert(log.applied <= log.committed, () => `${this.id}: applied ${log.applied} > committed ${log.committed}`);
    assert(log.committed <= log.lastIndex(), () => `${this.id}: committed ${log.committed} > last index ${log.lastIndex()}`);
    assert(this.role !== Role.Leader || this.lead === this.id, () => `${this.id}: leader with lead ${this.lead}`);
    assert(this.role !== Role.Candidate || this.vote === this.id, () => `${this.id}: candidate that did not vote for itself`);
    for (const id of this.trk.ids()) {
      const pr = this.trk.progress.get(id)!;
      assert(pr.match < pr.next, () => `${this.id}: progress of ${id}: match ${pr.match} >= next ${pr.next}`);
    }
  }
}

/** needsJoint: with the auto transition, a change of more than one member goes through a joint config (as etcd). */
function needsJoint(cc: ConfChange): boolean {
  return cc.changes.length > 1;
}

function assertConfStatesEquivalent(a: ConfState, b: ConfState): void {
  const key = (cs: ConfState): string => JSON.stringify([
    [...cs.voters].sort(), [...cs.votersOutgoing].sort(), [...cs.learners].sort(), [...cs.learnersNext].sort(), cs.autoLeave,
  ]);
  assert(key(a) === key(b), () => `conf states differ: ${key(a)} vs ${key(b)}`);
}
