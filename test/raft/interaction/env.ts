import type { Logger, LogFields } from '../../../src/lib/logger.js';
import type { RawNode } from '../../../src/raft/index.js';
import type { RaftConfig } from '../../../src/raft/config.js';
import { RaftError } from '../../../src/raft/errors.js';
import type { MemoryStorage } from '../../../src/raft/storage.js';
import type { ConfState, LogIndex, Message, NodeId } from '../../../src/raft/types.js';
import type { TestBlock } from './datadriven.js';
import { compact, logLevel, restart, addNodes } from './env-nodes.js';
import { deliverMsgs, heal, partition, processReady, stabilize } from './env-delivery.js';
import {
  campaign, propose, proposeConfChange, readIndex, reportSnapshot, reportUnreachable,
  tick, tickElection, tickHeartbeat, transferLeadership,
} from './env-requests.js';
import { raftLog, raftState, status } from './env-inspect.js';
import { TraceWriter } from './trace.js';

/**
 * NodeOptions is the part of a RaftConfig an `add-nodes` line chooses; the environment adds the
 * id, storage, prng (seeded from the id), logger and applied index, and `restart` reuses them.
 */
export type NodeOptions = Omit<RaftConfig, 'id' | 'storage' | 'prng' | 'logger' | 'applied'>;

/** AppliedConf records the configuration in force from `index` on (from a snapshot or a conf-change entry). */
export interface AppliedConf {
  readonly index: LogIndex;
  readonly confState: ConfState;
}

/**
 * EnvNode is one simulated member: its RawNode, the MemoryStorage that survives a `restart`, and
 * the state machine's progress (`applied`, and the configurations applied so far, which `compact`
 * needs for the snapshot it writes).
 */
export interface EnvNode {
  readonly id: NodeId;
  rawNode: RawNode;
  readonly storage: MemoryStorage;
  readonly options: NodeOptions;
  /** applied is the index of the last entry (or snapshot) applied to the state machine. */
  applied: LogIndex;
  /** confs lists the configurations applied, oldest first; never empty. */
  readonly confs: AppliedConf[];
}

/** LOG_LEVELS orders the levels of `log-level`; `none` (the default) prints no core log lines. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'none'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * InteractionEnv runs the Raft interaction scripts (test/raft/testdata/*.txt), after etcd-io/raft's
 * rafttest.InteractionEnv: N RawNodes, each with its own MemoryStorage, and a queue of undelivered
 * messages per recipient. Nothing happens unless a command says so: `process-ready` persists,
 * queues the messages and applies; `deliver-msgs` steps queued messages into their recipient;
 * `stabilize` repeats both until no node has work. Output is built only from the describe*
 * formatters of src/raft/describe.ts, so traces read like the core's logs.
 *
 * Defaults of `add-nodes` (chosen for short traces, like etcd's): election-ticks=3,
 * heartbeat-ticks=1, prevote=false, checkquorum=false; everything else is the core's default.
 */
export class InteractionEnv {
  /** nodes by id, in the order they were added. */
  readonly nodes = new Map<NodeId, EnvNode>();
  /** inboxes holds the sent but undelivered messages, by recipient (which may not exist yet). */
  readonly inboxes = new Map<NodeId, Message[]>();
  /** partitionOf maps a node to its side of the current partition; undefined when healed. */
  partitionOf: Map<NodeId, number> | undefined;
  /** appliedEntries remembers, per index, the first entry applied there and by whom (state machine safety). */
  readonly appliedEntries = new Map<LogIndex, { readonly by: NodeId; readonly entry: string }>();
  /** logLevel is the lowest core log level printed into the trace. */
  logLevel: LogLevel = 'none';
  readonly trace = new TraceWriter();

  /** handle runs one block and returns its trace; `ok` when the command printed nothing. */
  handle(block: TestBlock): string {
    this.dispatch(block);
    const text = this.trace.take();
    return text === '' ? 'ok' : text;
  }

  private dispatch(block: TestBlock): void {
    switch (block.command) {
      case 'add-nodes': return addNodes(this, block);
      case 'restart': return restart(this, block);
      case 'compact': return compact(this, block);
      case 'log-level': return logLevel(this, block);
      case 'process-ready': return processReady(this, block);
      case 'deliver-msgs': deliverMsgs(this, block); return;
      case 'stabilize': return stabilize(this, block);
      case 'partition': return partition(this, block);
      case 'heal': return heal(this);
      case 'campaign': return campaign(this, block);
      case 'propose': return propose(this, block);
      case 'propose-conf-change': return proposeConfChange(this, block);
      case 'tick': return tick(this, block);
      case 'tick-heartbeat': return tickHeartbeat(this, block);
      case 'tick-election': return tickElection(this, block);
      case 'read-index': return readIndex(this, block);
      case 'transfer-leadership': return transferLeadership(this, block);
      case 'report-unreachable': return reportUnreachable(this, block);
      case 'report-snapshot': return reportSnapshot(this, block);
      case 'raft-log': return raftLog(this, block);
      case 'raft-state': return raftState(this);
      case 'status': return status(this, block);
      default: throw new Error(`unknown command '${block.command}'`);
    }
  }

  /** node returns the member `id`, failing the script if it does not exist. */
  node(id: NodeId): EnvNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`node ${id} does not exist`);
    return node;
  }

  /** inbox returns the queue of messages waiting for `id`. */
  inbox(id: NodeId): Message[] {
    let queue = this.inboxes.get(id);
    if (queue === undefined) {
      queue = [];
      this.inboxes.set(id, queue);
    }
    return queue;
  }

  /** sortedIds lists the existing nodes in ascending id order. */
  sortedIds(): NodeId[] {
    return [...this.nodes.keys()].sort((a, b) => a - b);
  }

  /**
   * withRaftErrors runs a local request; a RaftError (an operating error the core returns) is
   * printed as `raft: <code> <message>`, anything else is a bug and propagates.
   */
  withRaftErrors(request: () => void): void {
    try {
      request();
    } catch (error) {
      if (!(error instanceof RaftError)) throw error;
      this.trace.write(`raft: ${error.code} ${error.message}`);
    }
  }

  /** loggerFor returns the logger given to node `id`: lines at or above `logLevel` go to the trace. */
  loggerFor(id: NodeId): Logger {
    const line = (level: Exclude<LogLevel, 'none'>) => (message: string, fields?: LogFields): void => {
      if (LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(this.logLevel)) return;
      const rendered = fields === undefined ? '' : ' ' + JSON.stringify(fields, (_k, v: unknown) =>
        typeof v === 'bigint' ? v.toString() : v);
      this.trace.write(`${level.toUpperCase()} ${id} ${message}${rendered}`);
    };
    return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
  }
}
