import { JointConfig } from '../quorum/joint.js';
import { MajorityConfig } from '../quorum/majority.js';
import { Inflights } from '../tracker/inflights.js';
import { Progress } from '../tracker/progress.js';
import type { ProgressMap, TrackerConfig } from '../tracker/progress-tracker.js';
import { ConfChangeType, type ConfChangeSingle, type LogIndex, type NodeId } from '../types.js';

/** ChangeResult is a new configuration and progress map, or why the change is invalid. */
export type ChangeResult =
  | { readonly ok: true; readonly config: TrackerConfig; readonly progress: ProgressMap }
  | { readonly ok: false; readonly error: string };

/** Mutable working copy of a configuration. */
interface Working {
  incoming: Set<NodeId>;
  outgoing: Set<NodeId>;
  learners: Set<NodeId>;
  learnersNext: Set<NodeId>;
  autoLeave: boolean;
  progress: ProgressMap;
}

/**
 * Changer computes configuration changes (Raft thesis §4.3, etcd's confchange.Changer) without
 * touching the tracker: every method returns a fresh config and progress map, or an error.
 * `lastIndex` initializes the progress of added members.
 */
export class Changer {
  constructor(
    private readonly config: TrackerConfig,
    private readonly progress: ProgressMap,
    private readonly lastIndex: LogIndex,
    private readonly inflightMsgsMax: number,
    private readonly inflightBytesMax: number,
  ) {}

  /**
   * enterJoint moves to the joint configuration (C_old, C_new): the current voters become the
   * outgoing half and `changes` are applied to the incoming half.
   */
  enterJoint(autoLeave: boolean, changes: readonly ConfChangeSingle[]): ChangeResult {
    const w = this.copy();
    if (w.outgoing.size > 0) return { ok: false, error: 'configuration is already joint' };
    if (w.incoming.size === 0) return { ok: false, error: "can't make a zero-voter config joint" };
    for (const id of w.incoming) w.outgoing.add(id);
    const err = this.apply(w, changes);
    if (err) return { ok: false, error: err };
    w.autoLeave = autoLeave;
    return this.finish(w);
  }

  /**
   * leaveJoint moves from (C_old, C_new) to C_new: outgoing-only voters leave (or become learners
   * if they are in learnersNext).
   */
  leaveJoint(): ChangeResult {
    const w = this.copy();
    if (w.outgoing.size === 0) return { ok: false, error: "can't leave a non-joint config" };
    for (const id of w.learnersNext) {
      w.learners.add(id);
      const pr = w.progress.get(id);
      if (pr) pr.isLearner = true;
    }
    w.learnersNext.clear();
    for (const id of w.outgoing) {
      if (!w.incoming.has(id) && !w.learners.has(id)) w.progress.delete(id);
    }
    w.outgoing.clear();
    w.autoLeave = false;
    return this.finish(w);
  }

  /** simple applies changes that alter at most one voter, without a joint phase. */
  simple(changes: readonly ConfChangeSingle[]): ChangeResult {
    const w = this.copy();
    if (w.outgoing.size > 0) return { ok: false, error: "can't apply simple config change in joint config" };
    const before = new Set(w.incoming);
    const err = this.apply(w, changes);
    if (err) return { ok: false, error: err };
    let diff = 0;
    for (const id of before) if (!w.incoming.has(id)) diff++;
    for (const id of w.incoming) if (!before.has(id)) diff++;
    if (diff > 1) return { ok: false, error: 'more than one voter changed without entering joint config' };
    return this.finish(w);
  }

  private copy(): Working {
    const progress: ProgressMap = new Map();
    for (const [id, pr] of this.progress) progress.set(id, pr.clone());
    return {
      incoming: new Set(this.config.voters.incoming.ids),
      outgoing: new Set(this.config.voters.outgoing.ids),
      learners: new Set(this.config.learners),
      learnersNext: new Set(this.config.learnersNext),
      autoLeave: this.config.autoLeave,
      progress,
    };
  }

  private apply(w: Working, changes: readonly ConfChangeSingle[]): string | undefined {
    for (const cc of changes) {
      switch (cc.type) {
        case ConfChangeType.AddVoter: this.makeVoter(w, cc.nodeId); break;
        case ConfChangeType.AddLearner: this.makeLearner(w, cc.nodeId); break;
        case ConfChangeType.RemoveNode: this.remove(w, cc.nodeId); break;
      }
    }
    if (w.incoming.size === 0) return 'removed all voters';
    return undefined;
  }

  private makeVoter(w: Working, id: NodeId): void {
    const pr = w.progress.get(id);
    if (!pr) {
      this.initProgress(w, id, false);
      return;
    }
    pr.isLearner = false;
    w.learners.delete(id);
    w.learnersNext.delete(id);
    w.incoming.add(id);
  }

  private makeLearner(w: Working, id: NodeId): void {
    const pr = w.progress.get(id);
    if (!pr) {
      this.initProgress(w, id, true);
      return;
    }
    if (pr.isLearner) return;
    // Remove any existing voter in the incoming config, then re-add as learner; the progress is kept.
    this.remove(w, id);
    w.progress.set(id, pr);
    // A voter of the outgoing config cannot become a learner until the joint config is left
    // (it must keep voting there): it is staged in learnersNext.
    if (w.outgoing.has(id)) {
      w.learnersNext.add(id);
    } else {
      pr.isLearner = true;
      w.learners.add(id);
    }
  }

  private remove(w: Working, id: NodeId): void {
    if (!w.progress.has(id)) return;
    w.incoming.delete(id);
    w.learners.delete(id);
    w.learnersNext.delete(id);
    // An outgoing voter keeps its progress until the joint config is left.
    if (!w.outgoing.has(id)) w.progress.delete(id);
  }

  private initProgress(w: Working, id: NodeId, isLearner: boolean): void {
    if (isLearner) w.learners.add(id);
    else w.incoming.add(id);
    // Starting at the last index lets the leader probe the new member from the end of its log.
    w.progress.set(id, new Progress({
      match: 0,
      next: Math.max(this.lastIndex, 1),
      isLearner,
      // A new member is considered active so CheckQuorum does not immediately count it as down.
      recentActive: true,
      inflights: new Inflights(this.inflightMsgsMax, this.inflightBytesMax),
    }));
  }

  private finish(w: Working): ChangeResult {
    const error = checkInvariants(w);
    if (error) return { ok: false, error };
    return {
      ok: true,
      config: {
        voters: new JointConfig(new MajorityConfig(w.incoming), new MajorityConfig(w.outgoing)),
        learners: w.learners,
        learnersNext: w.learnersNext,
        autoLeave: w.autoLeave,
      },
      progress: w.progress,
    };
  }
}

/** checkInvariants validates a working configuration; an error here is a bug in the changer. */
function checkInvariants(w: Working): string | undefined {
  for (const set of [w.incoming, w.outgoing, w.learners, w.learnersNext]) {
    for (const id of set) if (!w.progress.has(id)) return `no progress for ${id}`;
  }
  for (const id of w.learnersNext) {
    if (!w.outgoing.has(id)) return `${id} is in learnersNext but not an outgoing voter`;
    if (w.progress.get(id)!.isLearner) return `${id} is in learnersNext but already marked learner`;
  }
  for (const id of w.learners) {
    if (w.incoming.has(id) || w.outgoing.has(id)) return `${id} is both learner and voter`;
    if (!w.progress.get(id)!.isLearner) return `${id} is a learner but not marked as such`;
  }
  if (w.outgoing.size === 0 && w.autoLeave) return 'autoLeave set outside a joint config';
  if (w.outgoing.size === 0 && w.learnersNext.size > 0) return 'learnersNext outside a joint config';
  return undefined;
}
