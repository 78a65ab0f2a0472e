import { EMPTY_TRACKER_CONFIG, type ProgressMap, type TrackerConfig } from '../tracker/progress-tracker.js';
import { ConfChangeType, type ConfChangeSingle, type ConfState, type LogIndex } from '../types.js';
import { Changer, type ChangeResult } from './changer.js';

/**
 * restoreConfig rebuilds the configuration recorded in a ConfState (from a snapshot or on
 * restart) by replaying it as changes from an empty config: outgoing voters one at a time, then
 * (if joint) entering the joint config with the incoming voters and learners.
 */
export function restoreConfig(
  cs: ConfState, lastIndex: LogIndex, inflightMsgsMax: number, inflightBytesMax: number,
): { config: TrackerConfig; progress: ProgressMap } {
  const outgoing: ConfChangeSingle[] = cs.votersOutgoing.map((id) => ({ type: ConfChangeType.AddVoter, nodeId: id }));
  const incoming: ConfChangeSingle[] = [
    ...cs.votersOutgoing.map((id) => ({ type: ConfChangeType.RemoveNode, nodeId: id })),
    ...cs.voters.map((id) => ({ type: ConfChangeType.AddVoter, nodeId: id })),
    ...cs.learners.map((id) => ({ type: ConfChangeType.AddLearner, nodeId: id })),
    ...cs.learnersNext.map((id) => ({ type: ConfChangeType.AddLearner, nodeId: id })),
  ];
  let config = EMPTY_TRACKER_CONFIG;
  let progress: ProgressMap = new Map();
  const step = (f: (c: Changer) => ChangeResult): void => {
    const result = f(new Changer(config, progress, lastIndex, inflightMsgsMax, inflightBytesMax));
    if (!result.ok) throw new Error(`cannot restore configuration: ${result.error}`);
    config = result.config;
    progress = result.progress;
  };
  if (outgoing.length === 0) {
    for (const cc of incoming) {
      if (cc.type === ConfChangeType.RemoveNode) continue;
      step((c) => c.simple([cc]));
    }
  } else {
    for (const cc of outgoing) step((c) => c.simple([cc]));
    step((c) => c.enterJoint(cs.autoLeave, incoming));
  }
  return { config, progress };
}
