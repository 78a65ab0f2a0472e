import { describeConfState, describeEntries, describeHardState, describeSoftState } from '../../../src/raft/describe.js';
import type { ProgressStatus, RaftStatus } from '../../../src/raft/status.js';
import { firstId } from './block-args.js';
import type { TestBlock } from './datadriven.js';
import type { InteractionEnv } from './env.js';

/**
 * Commands that only look: `raft-log`, `raft-state`, `status`.
 */

/** raftLog runs `raft-log ID`: the entries the node has persisted (its storage, not its unstable tail). */
export function raftLog(env: InteractionEnv, block: TestBlock): void {
  const { storage } = env.node(firstId(block));
  const first = storage.firstIndex();
  const last = storage.lastIndex();
  if (last < first) {
    env.trace.write(`log is empty: first index=${first}, last index=${last}`);
    return;
  }
  env.trace.write(describeEntries(storage.entries(first, last + 1, Number.MAX_SAFE_INTEGER)));
}

/**
 * raftState runs `raft-state`: one line per node, `1: Lead:1 State:leader HardState Term:2 Vote:1
 * Commit:11 Applied:11 Last:11`.
 */
export function raftState(env: InteractionEnv): void {
  for (const id of env.sortedIds()) env.trace.write(`${id}: ${describeNodeLine(env.node(id).rawNode.status())}`);
}

/**
 * status runs `status ID`: the node's state and configuration and, on a leader, its view of every
 * member's progress (one line each, in the format of the core's Progress.toString) and any
 * leadership transfer in progress.
 */
export function status(env: InteractionEnv, block: TestBlock): void {
  const s = env.node(firstId(block)).rawNode.status();
  env.trace.write(describeNodeLine(s));
  env.trace.write(describeConfState(s.config));
  if (s.leadTransferee !== 0) env.trace.write(`transferring leadership to ${s.leadTransferee}`);
  if (s.progress === undefined) return;
  const ids = [...s.progress.keys()].sort((a, b) => a - b);
  for (const id of ids) env.trace.write(`${id}: ${describeProgress(s.progress.get(id)!)}`);
}

function describeNodeLine(s: RaftStatus): string {
  return `${describeSoftState(s.softState)} ${describeHardState(s.hardState)} Applied:${s.applied} Last:${s.lastIndex}`;
}

function describeProgress(p: ProgressStatus): string {
  let text = `${p.state} match=${p.match} next=${p.next}`;
  if (p.isLearner) text += ' learner';
  if (p.paused) text += ' paused';
  if (p.pendingSnapshot > 0) text += ` pendingSnap=${p.pendingSnapshot}`;
  if (!p.recentActive) text += ' inactive';
  if (p.inflightMsgs > 0) text += ` inflight=${p.inflightMsgs}`;
  return text;
}

