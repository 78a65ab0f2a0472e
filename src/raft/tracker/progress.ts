import { assert } from '../../lib/assert.js';
import type { LogIndex } from '../types.js';
import { Inflights } from './inflights.js';

/**
 * ProgressState is how the leader replicates to one follower:
 * - probe: one MsgApp at a time until the follower's match index is found;
 * - replicate: optimistic pipelining, up to the inflight limits;
 * - snapshot: waiting for a snapshot to be installed; nothing else is sent.
 */
export const ProgressState = { Probe: 'probe', Replicate: 'replicate', Snapshot: 'snapshot' } as const;
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];

/**
 * Progress is the leader's view of one follower (or of itself). Owned by the ProgressTracker.
 * Invariant: match < next.
 */
export class Progress {
  /** match is the highest index known to be durably replicated on the follower. */
  match: LogIndex;
  /** next is the index of the next entry to send. */
  next: LogIndex;
  state: ProgressState = ProgressState.Probe;
  /** pendingSnapshot is the index of the snapshot being sent (snapshot state only). */
  pendingSnapshot: LogIndex = 0;
  /** recentActive is set by any message from the follower and cleared at each CheckQuorum. */
  recentActive: boolean;
  /** leaseAckTick is the leader's tick at which it sent the newest heartbeat this member acknowledged (-1: none). */
  leaseAckTick = -1;
  /** msgAppFlowPaused stops sending: in probe after one MsgApp, in replicate when inflights are full. */
  msgAppFlowPaused = false;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(args: { match: LogIndex; next: LogIndex; isLearner: boolean; recentActive: boolean; inflights: Inflights }) {
    this.match = args.match;
    this.next = args.next;
    this.isLearner = args.isLearner;
    this.recentActive = args.recentActive;
    this.inflights = args.inflights;
  }

  /** clone copies the progress (sharing nothing mutable but the inflights, which the copy takes over). */
  clone(): Progress {
    const copy = new Progress(this);
    copy.state = this.state;
    copy.pendingSnapshot = this.pendingSnapshot;
    copy.msgAppFlowPaused = this.msgAppFlowPaused;
    copy.leaseAckTick = this.leaseAckTick;
    return copy;
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  /** becomeProbe moves to probing from match + 1 (or past a snapshot that was just sent). */
  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  /** becomeReplicate starts pipelining from match + 1. */
  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  /** becomeSnapshot waits for the snapshot at `snapshotIndex` to be installed. */
  becomeSnapshot(snapshotIndex: LogIndex): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** sentEntries records a MsgApp of `entries` entries totalling `bytes` bytes. */
  sentEntries(entries: number, bytes: number): void {
    switch (this.state) {
      case ProgressState.Replicate:
        if (entries > 0) {
          this.next += entries;
          this.inflights.add(this.next - 1, bytes);
        }
        this.msgAppFlowPaused = this.inflights.full();
        break;
      case ProgressState.Probe:
        if (entries > 0) this.msgAppFlowPaused = true;
        break;
      default:
        assert(false, `sending append in unhandled progress state ${this.state}`);
    }
  }

  /** maybeUpdate raises match to `n` (an acknowledgement); returns whether match moved. */
  maybeUpdate(n: LogIndex): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * maybeDecrTo handles a rejection of the MsgApp at index `rejected`; `matchHint` is where the
   * follower suggests probing. Returns false for a stale rejection.
   */
  maybeDecrTo(rejected: LogIndex, matchHint: LogIndex): boolean {
    if (this.state === ProgressState.Replicate) {
      // A rejection of an index at or below match is stale (the follower has since acked more).
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In probe state only the rejection of the last probe (next - 1) counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /** isPaused is true when nothing may be sent to this follower now. */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
      case ProgressState.Replicate:
        return this.msgAppFlowPaused;
      case ProgressState.Snapshot:
        return true;
    }
  }

  toString(): string {
    let s = `${this.state} match=${this.match} next=${this.next}`;
    if (this.isLearner) s += ' learner';
    if (this.isPaused()) s += ' paused';
    if (this.pendingSnapshot > 0) s += ` pendingSnap=${this.pendingSnapshot}`;
    if (!this.recentActive) s += ' inactive';
    if (this.inflights.count > 0) s += ` inflight=${this.inflights.count}`;
    if (this.inflights.full()) s += '[full]';
    return s;
  }
}
