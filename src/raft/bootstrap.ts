import { assert } from '../lib/assert.js';
import { encodeConfChange } from './conf-change-codec.js';
import {
  ConfChangeTransition, ConfChangeType, EntryType, NONE,
  type ConfChangeSingle, type ConfState, type Entry, type HardState,
} from './types.js';

/**
 * bootstrapLog returns the log every founding member of a new group starts with (as etcd's
 * Bootstrap): one committed conf-change entry per founding member at term 1, so the founding
 * configuration is part of the replicated log and a member added later learns it by replaying
 * the log (a configuration kept only in local snapshot metadata at index 0 would never be sent).
 * Every founder must be given the same `confState` (and `contexts`, e.g. peer URLs): the
 * entries must be identical on all of them.
 */
export function bootstrapLog(
  confState: ConfState,
  contexts: ReadonlyMap<number, Uint8Array> = new Map(),
): { entries: Entry[]; hardState: HardState } {
  assert(confState.votersOutgoing.length === 0 && confState.learnersNext.length === 0,
    'a group cannot be bootstrapped in a joint configuration');
  assert(confState.voters.length > 0, 'a group needs at least one voter');
  const changes: ConfChangeSingle[] = [
    ...[...confState.voters].sort((a, b) => a - b).map((nodeId) => ({ type: ConfChangeType.AddVoter, nodeId })),
    ...[...confState.learners].sort((a, b) => a - b).map((nodeId) => ({ type: ConfChangeType.AddLearner, nodeId })),
  ];
  const entries = changes.map((change, i): Entry => ({
    term: 1,
    index: i + 1,
    type: EntryType.ConfChange,
    data: encodeConfChange({
      transition: ConfChangeTransition.Auto,
      changes: [change],
      context: contexts.get(change.nodeId) ?? new Uint8Array(0),
    }),
  }));
  return { entries, hardState: { term: 1, vote: NONE, commit: entries.length } };
}
