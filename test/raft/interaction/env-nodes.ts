import { Xoshiro128 } from '../../../src/lib/prng.js';
import { describeEntry, describeHardState, describeMessage, describeSnapshot } from '../../../src/raft/describe.js';
import { RawNode } from '../../../src/raft/index.js';
import { ReadOnlyOption } from '../../../src/raft/config.js';
import { MemoryStorage } from '../../../src/raft/storage.js';
import { EMPTY_CONF_STATE, NONE, nodeId, type ConfState, type NodeId } from '../../../src/raft/types.js';
import { boolArg, firstId, idsArg, intArg, positionalIds, positionalWords, stringArg } from './block-args.js';
import type { TestBlock } from './datadriven.js';
import { LOG_LEVELS, type EnvNode, type InteractionEnv, type LogLevel, type NodeOptions } from './env.js';
import { raftLog } from './env-inspect.js';
import { EnvStorage, type AppliedState } from './env-storage.js';

/**
 * Commands that create, crash and compact nodes: `add-nodes`, `restart`, `compact`, `log-level`.
 */

const encoder = new TextEncoder();

/**
 * addNodes runs `add-nodes N [voters=(..)] [learners=(..)] [index=i | bootstrap=true] [content=c]
 * [options]`. New nodes take the next free ids. With voters/learners they start from a snapshot at
 * `index` (term 1 when index > 0) holding that configuration; with `bootstrap=true` instead from
 * MemoryStorage.bootstrap (the configuration as committed conf-change entries 1..n, applied in
 * the first Ready); without either, empty, waiting to be brought in by a leader. Prints each new
 * node's initial snapshot (or bootstrapped log).
 */
export function addNodes(env: InteractionEnv, block: TestBlock): void {
  const count = positionalIds(block)[0];
  if (count === undefined) throw new Error('add-nodes needs a count');
  const voters = idsArg(block, 'voters') ?? [];
  const learners = idsArg(block, 'learners') ?? [];
  const index = intArg(block, 'index', 0);
  const content = stringArg(block, 'content', '');
  const confState: ConfState = { ...EMPTY_CONF_STATE, voters, learners };
  const options = parseNodeOptions(block);
  const firstNew = Math.max(0, ...env.nodes.keys()) + 1;
  const bootstrap = boolArg(block, 'bootstrap', false);
  if (bootstrap && index > 0) throw new Error('bootstrap= and index= exclude each other');
  for (let i = 0; i < count; i++) {
    const id = nodeId(firstNew + i);
    const storage = bootstrap ? MemoryStorage.bootstrap(confState) : MemoryStorage.withConf(confState);
    if (index > 0) {
      storage.applySnapshot({ metadata: { index, term: 1, confState }, data: encoder.encode(content) });
      // A node holding a term-1 snapshot has seen term 1; its durable term says so.
      storage.setHardState({ term: 1, vote: NONE, commit: index });
    }
    // A bootstrapped log starts from no configuration: its conf-change entries build it when applied.
    const initialConf = bootstrap ? EMPTY_CONF_STATE : confState;
    const node: EnvNode = {
      id,
      rawNode: createRawNode(env, id, storage, options, index, () => appliedStateOf(node)),
      storage,
      options,
      applied: index,
      confs: [{ index, confState: initialConf }],
    };
    env.nodes.set(id, node);
    if (bootstrap) {
      const log = storage.entries(storage.firstIndex(), storage.lastIndex() + 1, Number.MAX_SAFE_INTEGER);
      env.trace.write(`${id}: ${describeHardState(storage.initialState().hardState)} ${log.map((e) => describeEntry(e)).join(', ')}`);
    } else {
      env.trace.write(`${id}: ${describeSnapshot(storage.snapshot())}`);
    }
  }
}

/**
 * restart runs `restart ID`: the node crashes and comes back from its storage alone. Messages
 * waiting for it are lost (printed as dropped); the new RawNode starts with `applied` at what the
 * state machine had applied, with the same options and a PRNG re-seeded from its id.
 */
export function restart(env: InteractionEnv, block: TestBlock): void {
  const node = env.node(firstId(block));
  for (const message of env.inbox(node.id).splice(0)) env.trace.write(`dropped: ${describeMessage(message)}`);
  node.rawNode = createRawNode(env, node.id, node.storage, node.options, node.applied, () => appliedStateOf(node));
}

/**
 * compact runs `compact ID INDEX`: the node snapshots its state machine at INDEX (which it must
 * have applied) and discards the log up to and including INDEX. Prints the remaining log.
 */
export function compact(env: InteractionEnv, block: TestBlock): void {
  const [id, index] = positionalIds(block);
  if (id === undefined || index === undefined) throw new Error('compact needs a node id and an index');
  const node = env.node(id);
  if (index > node.applied) throw new Error(`compact ${index}: node ${id} has only applied up to ${node.applied}`);
  const conf = [...node.confs].reverse().find((c) => c.index <= index);
  if (conf === undefined) throw new Error(`no configuration known at index ${index}`);
  env.withRaftErrors(() => {
    node.storage.createSnapshot(index, conf.confState, encoder.encode(`applied@${index}`));
    node.storage.compact(index);
  });
  raftLog(env, block);
}

/** logLevel runs `log-level debug|info|warn|error|none`: core log lines at or above it enter the trace. */
export function logLevel(env: InteractionEnv, block: TestBlock): void {
  const level = positionalWords(block)[0];
  if (!LOG_LEVELS.includes(level as LogLevel)) throw new Error(`log-level must be one of ${LOG_LEVELS.join(', ')}`);
  env.logLevel = level as LogLevel;
}

function createRawNode(
  env: InteractionEnv, id: NodeId, storage: MemoryStorage, options: NodeOptions, applied: number,
  appliedState: () => AppliedState,
): RawNode {
  return new RawNode({
    ...options,
    id,
    storage: new EnvStorage(storage, appliedState),
    prng: new Xoshiro128(id),
    logger: env.loggerFor(id),
    applied,
  });
}

function appliedStateOf(node: EnvNode): AppliedState {
  const conf = node.confs[node.confs.length - 1];
  if (conf === undefined) throw new Error(`node ${node.id} has no configuration`);
  return { applied: node.applied, confState: conf.confState };
}

function parseNodeOptions(block: TestBlock): NodeOptions {
  const readOnly = stringArg(block, 'read-only', ReadOnlyOption.Safe);
  if (readOnly !== ReadOnlyOption.Safe && readOnly !== ReadOnlyOption.LeaseBased) {
    throw new Error(`read-only must be ${ReadOnlyOption.Safe} or ${ReadOnlyOption.LeaseBased}`);
  }
  const optional = (key: string, name: keyof NodeOptions): Partial<NodeOptions> => {
    const value = intArg(block, key);
    return value === undefined ? {} : { [name]: value };
  };
  return {
    electionTicks: intArg(block, 'election-ticks', 3),
    heartbeatTicks: intArg(block, 'heartbeat-ticks', 1),
    preVote: boolArg(block, 'prevote', false),
    checkQuorum: boolArg(block, 'checkquorum', false),
    readOnlyOption: readOnly,
    disableProposalForwarding: boolArg(block, 'disable-proposal-forwarding', false),
    ...optional('max-inflight', 'inflightMsgsMax'),
    ...optional('max-inflight-bytes', 'inflightBytesMax'),
    ...optional('max-uncommitted-bytes', 'uncommittedBytesMax'),
    ...optional('max-msg-bytes', 'appendBytesPerMsgMax'),
    ...optional('max-msg-entries', 'appendEntriesPerMsgMax'),
    ...optional('max-committed-bytes-per-ready', 'committedBytesPerReadyMax'),
    ...optional('lease-clock-drift-ticks', 'leaseClockDriftTicks'),
  };
}
