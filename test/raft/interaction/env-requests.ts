import {
  ConfChangeTransition, ConfChangeType, Role, SnapshotStatus, nodeId,
  type ConfChangeSingle, type NodeId,
} from '../../../src/raft/types.js';
import { firstId, intArg, positionalIds, positionalWords, stringArg } from './block-args.js';
import type { TestBlock } from './datadriven.js';
import type { EnvNode, InteractionEnv } from './env.js';

/**
 * Commands that are local calls into one node (the host's requests and its clock): `campaign`,
 * `propose`, `propose-conf-change`, `read-index`, `transfer-leadership`, `report-unreachable`,
 * `report-snapshot`, `tick`, `tick-heartbeat`, `tick-election`. Their effects show in the next
 * Ready; a refused request prints `raft: <code> <message>`.
 */

const encoder = new TextEncoder();

/** campaign runs `campaign ID`. */
export function campaign(env: InteractionEnv, block: TestBlock): void {
  const node = env.node(firstId(block));
  env.withRaftErrors(() => node.rawNode.campaign());
}

/** propose runs `propose ID DATA` (DATA is the rest of the line, as ASCII). */
export function propose(env: InteractionEnv, block: TestBlock): void {
  const node = env.node(firstId(block));
  const data = block.args.slice(1).map((a) => a.key).join(' ');
  env.withRaftErrors(() => node.rawNode.propose(encoder.encode(data)));
}

/**
 * proposeConfChange runs `propose-conf-change ID [transition=auto|joint-implicit|joint-explicit]`
 * with the changes as input (`v4 l5 r2`: add voter 4, add learner 5, remove 2; no input asks to
 * leave a joint configuration).
 */
export function proposeConfChange(env: InteractionEnv, block: TestBlock): void {
  const node = env.node(firstId(block));
  const transition = stringArg(block, 'transition', ConfChangeTransition.Auto);
  const transitions: readonly string[] = Object.values(ConfChangeTransition);
  if (!transitions.includes(transition)) throw new Error(`transition must be one of ${transitions.join(', ')}`);
  const changes = block.input.join(' ').split(/\s+/).filter((t) => t !== '').map(parseChange);
  env.withRaftErrors(() => node.rawNode.proposeConfChange({
    transition: transition as ConfChangeTransition,
    changes,
    context: new Uint8Array(0),
  }));
}

function parseChange(token: string): ConfChangeSingle {
  const match = /^([vlr])(\d+)$/.exec(token);
  if (match === null) throw new Error(`bad conf change '${token}' (want v<id>, l<id> or r<id>)`);
  const type = match[1] === 'v' ? ConfChangeType.AddVoter : match[1] === 'l' ? ConfChangeType.AddLearner : ConfChangeType.RemoveNode;
  return { type, nodeId: nodeId(Number(match[2])) };
}

/** readIndex runs `read-index ID CONTEXT`. */
export function readIndex(env: InteractionEnv, block: TestBlock): void {
  const node = env.node(firstId(block));
  const context = positionalWords(block)[0];
  if (context === undefined) throw new Error('read-index needs a context');
  env.withRaftErrors(() => node.rawNode.readIndex(context));
}

/** transferLeadership runs `transfer-leadership from=ID to=ID` (asked of node `from`). */
export function transferLeadership(env: InteractionEnv, block: TestBlock): void {
  const from = intArg(block, 'from');
  const to = intArg(block, 'to');
  if (from === undefined || to === undefined) throw new Error('transfer-leadership needs from= and to=');
  const node = env.node(nodeId(from));
  env.withRaftErrors(() => node.rawNode.transferLeadership(nodeId(to)));
}

/** reportUnreachable runs `report-unreachable FROM TO`: node FROM's host could not reach TO. */
export function reportUnreachable(env: InteractionEnv, block: TestBlock): void {
  const [from, to] = fromTo(block);
  env.node(from).rawNode.reportUnreachable(to);
}

/** reportSnapshot runs `report-snapshot FROM TO [status=finished|failure]`. */
export function reportSnapshot(env: InteractionEnv, block: TestBlock): void {
  const [from, to] = fromTo(block);
  const status = stringArg(block, 'status', SnapshotStatus.Finished);
  if (status !== SnapshotStatus.Finished && status !== SnapshotStatus.Failure) throw new Error('bad snapshot status');
  env.node(from).rawNode.reportSnapshot(to, status);
}

function fromTo(block: TestBlock): [NodeId, NodeId] {
  const [from, to] = positionalIds(block);
  if (from === undefined || to === undefined) throw new Error(`${block.command} needs two node ids`);
  return [from, to];
}

/** tick runs `tick ID N`: N ticks of the node's logical clock. */
export function tick(env: InteractionEnv, block: TestBlock): void {
  const [id, count] = positionalIds(block);
  if (id === undefined || count === undefined) throw new Error('tick needs a node id and a count');
  tickTimes(env.node(id), count);
}

/** tickHeartbeat runs `tick-heartbeat ID`: one heartbeat interval. */
export function tickHeartbeat(env: InteractionEnv, block: TestBlock): void {
  const node = env.node(firstId(block));
  tickTimes(node, node.options.heartbeatTicks ?? 1);
}

/**
 * tickElection runs `tick-election ID`: ticks until the node's election timer fires, exactly
 * once. For a follower or candidate that is its randomized timeout (drawn from [e, 2e) by a PRNG
 * seeded with the node's id, so it is deterministic), after which it campaigns; for a leader it
 * is the election timeout e, after which it runs CheckQuorum (if enabled) and abandons a stalled
 * leadership transfer. Reads the timer from the core's internals (a test-only window).
 */
export function tickElection(env: InteractionEnv, block: TestBlock): void {
  const node = env.node(firstId(block));
  const raft = node.rawNode.raft;
  const timeout = raft.role === Role.Leader ? raft.config.electionTicks : raft.randomizedElectionTimeout;
  tickTimes(node, Math.max(1, timeout - raft.electionElapsed));
}

function tickTimes(node: EnvNode, count: number): void {
  for (let i = 0; i < count; i++) node.rawNode.tick();
}
