import { assert } from '../lib/assert.js';
import type { RaftConfig } from './config.js';
import { encodeConfChange } from './conf-change-codec.js';
import { Raft } from './raft.js';
import type { ProgressStatus, RaftStatus } from './status.js';
import {
  EntryType, NONE,
  type ConfChange, type ConfState, type Entry, type HardState, type Message, type NodeId, type Ready,
  type SnapshotStatus, type SoftState,
} from './types.js';

const EMPTY: readonly never[] = Object.freeze([]);

/**
 * RawNode is the host's handle on one Raft node (etcd's RawNode): calls go in, and `ready()`
 * hands out everything to persist, send and apply, in one batch, until `advance()` confirms the
 * batch was handled. Single-threaded; `ready()` may not be called again before `advance()`.
 */
export class RawNode {
  readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  /** inFlight is the Ready handed out and not yet advanced. */
  private inFlight: Ready | undefined = undefined;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
  }

  get id(): NodeId {
    return this.raft.id;
  }

  /** tick advances the logical clock by one tick (the host calls it every tick interval). */
  tick(): void {
    this.raft.tick();
  }

  /**
   * campaign starts an election now (with PreVote first if enabled). With lease reads, a follower
   * that heard from its leader within the election timeout ignores it (see Raft.requestCampaign).
   */
  campaign(): void {
    this.raft.requestCampaign();
  }

  /** propose proposes one or many payloads (one batch); throws RaftError(RAFT_PROPOSAL_DROPPED) when refused. */
  propose(data: Uint8Array | readonly Uint8Array[]): void {
    const list = data instanceof Uint8Array ? [data] : data;
    if (list.length === 0) return;
    const entries: Entry[] = new Array<Entry>(list.length);
    for (let i = 0; i < list.length; i++) entries[i] = { term: 0, index: 0, type: EntryType.Normal, data: list[i]! };
    this.raft.propose(entries);
  }

  /** proposeConfChange proposes a membership change; throws RaftError when refused. */
  proposeConfChange(cc: ConfChange): void {
    this.raft.propose([{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) }]);
  }

  /** step hands a message from a peer to the node. Never throws on bad input. */
  step(message: Message): void {
    this.raft.step(message);
  }

  /** readIndex asks for a linearizable read point; the answer is a ReadState with this context. */
  readIndex(context: string): void {
    this.raft.readIndex(context);
  }

  /** transferLeadership asks the leader (this node or, forwarded, the current one) to hand over to `to`. */
  transferLeadership(to: NodeId): void {
    this.raft.step({ type: 'MsgTransferLeader', from: this.raft.id, to: this.raft.id, term: this.raft.term, target: to });
  }

  /** reportUnreachable tells the leader that the last message to `id` could not be delivered. */
  reportUnreachable(id: NodeId): void {
    this.raft.reportUnreachable(id);
  }

  /** reportSnapshot tells the leader whether a snapshot reached `id`. */
  reportSnapshot(id: NodeId, status: SnapshotStatus): void {
    this.raft.reportSnapshot(id, status === 'finished');
  }

  /** applyConfChange switches configuration when the host applies a conf-change entry. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /**
   * takeLeaderMessages hands out the pending messages of a leader without waiting for the Ready
   * in flight to be advanced, so a leader keeps replicating (and can transfer leadership) while
   * its own disk write is in progress. Nothing a leader sends depends on unpersisted state: its
   * term and vote were durable before it won, and its own entries count only once persisted.
   * Returns [] unless this node is the leader.
   */
  takeLeaderMessages(): readonly Message[] {
    const r = this.raft;
    if (r.role !== 'leader') return EMPTY;
    r.flushReadRound();
    if (r.msgs.length === 0) return EMPTY;
    const msgs = r.msgs;
    r.msgs = [];
    return msgs;
  }

  /** hasReady is true when `ready()` has something to hand out. */
  hasReady(): boolean {
    const r = this.raft;
    if (this.inFlight) return false;
    const ss = r.softState();
    if (ss.leader !== this.prevSoftState.leader || ss.role !== this.prevSoftState.role) return true;
    if (!hardStateEqual(r.hardState(), this.prevHardState)) return true;
    if (r.raftLog.hasPendingSnapshot()) return true;
    if (r.msgs.length > 0 || r.readStates.length > 0 || r.hasReadRoundPending()) return true;
    if (r.raftLog.unstable.entries.length > 0) return true;
    return r.raftLog.hasNextCommittedEntries();
  }

  /**
   * ready returns the next batch of work; see `Ready` in types.ts for the order in which the host
   * must handle it. Call `advance()` when done.
   */
  ready(): Ready {
    assert(this.inFlight === undefined, 'ready() called again before advance()');
    const r = this.raft;
    r.assertInvariants();
    r.flushReadRound();
    const ss = r.softState();
    const hs = r.hardState();
    const softChanged = ss.leader !== this.prevSoftState.leader || ss.role !== this.prevSoftState.role;
    const hardChanged = !hardStateEqual(hs, this.prevHardState);
    const entries = r.raftLog.unstable.entries.length > 0 ? r.raftLog.unstableEntries() : EMPTY;
    const snapshot = r.raftLog.unstable.snapshot;
    const rd: Ready = {
      softState: softChanged ? ss : undefined,
      hardState: hardChanged ? hs : undefined,
      readStates: r.readStates.length > 0 ? r.readStates : EMPTY,
      entries,
      snapshot,
      committedEntries: r.raftLog.nextCommittedEntries(),
      messages: r.msgs.length > 0 ? r.msgs : EMPTY,
      mustSync: entries.length > 0 || snapshot !== undefined || hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote,
    };
    r.msgs = [];
    r.readStates = [];
    if (softChanged) this.prevSoftState = ss;
    if (hardChanged) this.prevHardState = hs;
    this.inFlight = rd;
    return rd;
  }

  /** advance confirms the last Ready was persisted, sent and applied. */
  advance(): void {
    const rd = this.inFlight;
    assert(rd !== undefined, 'advance() without a Ready');
    this.inFlight = undefined;
    const r = this.raft;
    if (rd.snapshot) {
      r.raftLog.stableSnapTo(rd.snapshot.metadata.index);
      // The snapshot was applied with this Ready.
      if (rd.snapshot.metadata.index > r.raftLog.applied) r.raftLog.appliedTo(rd.snapshot.metadata.index);
    }
    if (rd.committedEntries.length > 0) {
      r.raftLog.appliedTo(rd.committedEntries[rd.committedEntries.length - 1]!.index);
      if (r.role === 'leader') r.reduceUncommittedBytes(rd.committedEntries);
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1]!;
      r.raftLog.stableTo(last.index, last.term);
      r.onPersisted(last.index, last.term);
    }
    r.maybeAutoLeaveJoint();
  }

  /** status describes the node; the progress of members is included on the leader. */
  status(): RaftStatus {
    const r = this.raft;
    let progress: Map<NodeId, ProgressStatus> | undefined;
    if (r.role === 'leader') {
      progress = new Map();
      for (const id of r.trk.ids()) {
        const pr = r.trk.progress.get(id)!;
        progress.set(id, {
          match: pr.match, next: pr.next, state: pr.state, isLearner: pr.isLearner, recentActive: pr.recentActive,
          paused: pr.isPaused(), inflightMsgs: pr.inflights.count, inflightBytes: pr.inflights.bytes,
          pendingSnapshot: pr.pendingSnapshot,
        });
      }
    }
    return {
      id: r.id,
      hardState: r.hardState(),
      softState: r.softState(),
      applied: r.raftLog.applied,
      lastIndex: r.raftLog.lastIndex(),
      leadTransferee: r.leadTransferee,
      config: r.trk.confState(),
      progress,
    };
  }

  /** leader is the current leader as far as this node knows (NONE if unknown). */
  leader(): NodeId {
    return this.raft.lead === NONE ? NONE : this.raft.lead;
  }
}

function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
