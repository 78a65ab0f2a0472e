import { decodeConfChange } from '../../../src/raft/conf-change-codec.js';
import { describeConfState, describeEntry, describeMessage, describeReady } from '../../../src/raft/describe.js';
import { EntryType, type Entry, type Message, type MessageType, type NodeId } from '../../../src/raft/types.js';
import { groupArgs, idsArg, positionalIds, stringArg } from './block-args.js';
import type { TestBlock } from './datadriven.js';
import type { EnvNode, InteractionEnv } from './env.js';

/**
 * Commands that move work through the simulated hosts and network: `process-ready`,
 * `deliver-msgs`, `stabilize`, `partition`, `heal`.
 */

/** STABILIZE_ROUNDS_MAX bounds `stabilize`; a cluster still busy after that many rounds is livelocked. */
const STABILIZE_ROUNDS_MAX = 1000;

/** processReady runs `process-ready [ID...]` (all nodes when none is named). */
export function processReady(env: InteractionEnv, block: TestBlock): void {
  const ids = positionalIds(block);
  for (const id of ids.length > 0 ? ids : env.sortedIds()) {
    const node = env.node(id);
    env.trace.write(`> ${id} handling Ready`);
    env.trace.indented(() => {
      if (node.rawNode.hasReady()) handleReady(env, node);
      else env.trace.write('<empty Ready>');
    });
  }
}

/**
 * handleReady does what a host does with one Ready, in the documented order: persist snapshot,
 * entries and hard state; queue the messages; apply the snapshot and committed entries (calling
 * applyConfChange for conf-change entries and printing the resulting configuration under
 * `> ID applied ...`); advance.
 * It checks what a state machine can check: entries apply in index order without gaps, and every
 * node applies the same entry at the same index.
 */
function handleReady(env: InteractionEnv, node: EnvNode): void {
  const rd = node.rawNode.ready();
  env.trace.write(describeReady(rd));
  if (rd.snapshot !== undefined) node.storage.applySnapshot(rd.snapshot);
  node.storage.append(rd.entries);
  if (rd.hardState !== undefined) node.storage.setHardState(rd.hardState);
  for (const message of rd.messages) env.inbox(message.to).push(message);
  if (rd.snapshot !== undefined) {
    const { index, confState } = rd.snapshot.metadata;
    if (index <= node.applied) {
      throw new Error(`node ${node.id} was handed snapshot ${index} but has applied ${node.applied}`);
    }
    node.applied = index;
    node.confs.push({ index, confState });
  }
  for (const entry of rd.committedEntries) applyEntry(env, node, entry);
  node.rawNode.advance();
}

function applyEntry(env: InteractionEnv, node: EnvNode, entry: Entry): void {
  if (entry.index !== node.applied + 1) {
    throw new Error(`node ${node.id} was handed committed entry ${entry.index} after applying ${node.applied}`);
  }
  const described = describeEntry(entry);
  const other = env.appliedEntries.get(entry.index);
  if (other !== undefined && other.entry !== described) {
    throw new Error(`state machine safety violated at index ${entry.index}: ` +
      `node ${other.by} applied '${other.entry}', node ${node.id} applies '${described}'`);
  }
  env.appliedEntries.set(entry.index, { by: node.id, entry: described });
  node.applied = entry.index;
  if (entry.type === EntryType.ConfChange) {
    const confState = node.rawNode.applyConfChange(decodeConfChange(entry.data));
    node.confs.push({ index: entry.index, confState });
    env.trace.outdented(() => {
      env.trace.write(`> ${node.id} applied ${describeEntry(entry)}`);
      env.trace.indented(() => env.trace.write(describeConfState(confState)));
    });
  }
}

/**
 * deliverMsgs runs `deliver-msgs [drop=(IDs)] [type=MsgX] [ID...]`: the queued messages for each
 * named recipient (all recipients when none is named) are stepped into it in order; those for a
 * `drop` recipient are discarded instead. With `type=`, only messages of that type move and the
 * rest stay queued. Messages crossing the current partition are dropped. Returns how many
 * messages were taken off the queues.
 */
export function deliverMsgs(env: InteractionEnv, block: TestBlock): number {
  const dropped = idsArg(block, 'drop') ?? [];
  const type = stringArg(block, 'type') as MessageType | undefined;
  const named = [...positionalIds(block), ...dropped];
  const recipients = named.length > 0 ? [...new Set(named)] : env.sortedIds();
  let moved = 0;
  for (const id of recipients) {
    moved += deliverTo(env, id, dropped.includes(id), (m) => type === undefined || m.type === type);
  }
  return moved;
}

function deliverTo(env: InteractionEnv, id: NodeId, drop: boolean, selected: (m: Message) => boolean): number {
  const queue = env.inbox(id);
  const taken = queue.filter(selected);
  if (taken.length === 0) return 0;
  if (!drop && !env.nodes.has(id)) return 0; // wait for the node to be added
  env.inboxes.set(id, queue.filter((m) => !selected(m)));
  if (drop) {
    for (const message of taken) env.trace.write(`dropped: ${describeMessage(message)}`);
    return taken.length;
  }
  const node = env.node(id);
  env.trace.write(`> ${id} receiving messages`);
  env.trace.indented(() => {
    for (const message of taken) {
      if (isPartitioned(env, message)) {
        env.trace.write(`dropped (partition): ${describeMessage(message)}`);
        continue;
      }
      env.trace.write(describeMessage(message));
      node.rawNode.step(message);
    }
  });
  return taken.length;
}

function isPartitioned(env: InteractionEnv, message: Message): boolean {
  const sides = env.partitionOf;
  if (sides === undefined) return false;
  return (sides.get(message.from) ?? 0) !== (sides.get(message.to) ?? 0);
}

/**
 * stabilize runs `stabilize [ID...]`: repeatedly, every named node (all when none is named)
 * handles its Ready, then receives its queued messages, until a round finds no work.
 */
export function stabilize(env: InteractionEnv, block: TestBlock): void {
  const named = positionalIds(block);
  for (let round = 0; round < STABILIZE_ROUNDS_MAX; round++) {
    const ids = named.length > 0 ? named : env.sortedIds();
    let busy = false;
    for (const id of ids) {
      const node = env.node(id);
      if (!node.rawNode.hasReady()) continue;
      busy = true;
      env.trace.write(`> ${id} handling Ready`);
      env.trace.indented(() => handleReady(env, node));
    }
    for (const id of ids) {
      if (deliverTo(env, id, false, () => true) > 0) busy = true;
    }
    if (!busy) return;
  }
  throw new Error(`stabilize: still busy after ${STABILIZE_ROUNDS_MAX} rounds`);
}

/**
 * partition runs `partition (1) (2 3)`: from now on messages between different groups are dropped
 * at delivery. Nodes not named form one more group together.
 */
export function partition(env: InteractionEnv, block: TestBlock): void {
  const sides = new Map<NodeId, number>();
  groupArgs(block).forEach((group, i) => {
    for (const id of group) sides.set(id, i + 1);
  });
  env.partitionOf = sides;
}

/** heal runs `heal`: the partition ends; messages still queued are delivered normally. */
export function heal(env: InteractionEnv): void {
  env.partitionOf = undefined;
}
