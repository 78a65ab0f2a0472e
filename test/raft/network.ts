/**
 * A small in-memory network of RawNodes for the paper tests: each node has a MemoryStorage and is
 * driven by the host loop of docs/raft-core-api.md (persist, then send, then apply, then advance).
 * Messages wait in one FIFO queue until `deliver()`; links can be cut, nodes isolated, and a
 * filter can drop or intercept messages. Everything is deterministic from the node seeds.
 */
import assert from 'node:assert/strict';
import { Xoshiro128 } from '../../src/lib/prng.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { decodeConfChange } from '../../src/raft/conf-change-codec.js';
import { describeMessage } from '../../src/raft/describe.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import {
  EMPTY_CONF_STATE, EntryType, NONE,
  type ConfState, type Entry, type HardState, type LogIndex, type Message, type NodeId,
  type MsgApp, type MsgAppResp, type MsgHeartbeat, type MsgHeartbeatResp, type MsgVote, type MsgVoteResp,
  type ReadState, type Role, type Term,
} from '../../src/raft/types.js';
import type { RaftConfig } from '../../src/raft/config.js';

/** id brands a small test number as a NodeId. */
export function id(n: number): NodeId {
  return n as NodeId;
}

/** ids returns the NodeIds 1..size. */
export function idsBySize(size: number): NodeId[] {
  return Array.from({ length: size }, (_, i) => id(i + 1));
}

/** entry builds a normal entry; `data` defaults to a text naming its term and index. */
export function entry(term: Term, index: LogIndex, data?: string): Entry {
  return { term, index, type: EntryType.Normal, data: new TextEncoder().encode(data ?? `t${term}i${index}`) };
}

/** entriesOfTerms builds a log whose entry i+1 has term `terms[i]` (etcd's Figure 7 shorthand). */
export function entriesOfTerms(terms: readonly Term[], firstIndex = 1): Entry[] {
  return terms.map((t, i) => entry(t, firstIndex + i));
}

/** text decodes an entry's data. */
export function text(e: Entry): string {
  return new TextDecoder().decode(e.data);
}

/** NodeOptions sets up one node's durable state before it starts. */
export interface NodeOptions {
  /** voters of the initial configuration (ignored when `confState` is given). */
  readonly peers?: readonly NodeId[];
  readonly confState?: ConfState;
  /** log is the node's persisted log (indexes from 1). */
  readonly log?: readonly Entry[];
  readonly hardState?: HardState;
  readonly seed?: number;
  /**
   * bootstrap makes the founding configuration (`peers`/`confState`) part of the log, as
   * committed conf-change entries at term 1 (`MemoryStorage.bootstrap`), instead of keeping it in
   * the index-0 snapshot metadata (`MemoryStorage.withConf`). Needed when membership changes:
   * a member added later learns the configuration by replaying the log. Excludes `log`/`hardState`.
   */
  readonly bootstrap?: boolean;
  /** storage, when given, is used as is (a restart): `confState`, `log` and `hardState` are ignored. */
  readonly storage?: MemoryStorage;
  /** config overrides the paper defaults below (electionTicks 10, heartbeatTicks 1, no PreVote, no CheckQuorum). */
  readonly config?: Partial<Omit<RaftConfig, 'id' | 'storage'>>;
}

/** PAPER_CONFIG is the plain Raft of the paper: no PreVote, no CheckQuorum (§9.6 extensions). */
export const PAPER_CONFIG = { electionTicks: 10, heartbeatTicks: 1, preVote: false, checkQuorum: false } as const;

/** CONFIGS are the two setups most tests run under: the paper's plain Raft and Concord's defaults. */
export const CONFIGS: readonly NonNullable<NodeOptions['config']>[] = [
  {},
  { preVote: true, checkQuorum: true },
];

/** configSuffix names a config in test names (empty for the paper's plain Raft). */
export function configSuffix(config: NodeOptions['config']): string {
  return config && Object.keys(config).length > 0 ? ` [${Object.entries(config).map(([k, v]) => `${k}=${String(v)}`).join(' ')}]` : '';
}

/**
 * TestNode is one RawNode with its storage and everything the host loop handed out: applied
 * entries (in order) and read states.
 */
export class TestNode {
  readonly node: RawNode;
  readonly storage: MemoryStorage;
  readonly applied: Entry[] = [];
  readonly readStates: ReadState[] = [];
  /** confStates are the results of `applyConfChange`, in apply order. */
  readonly confStates: ConfState[] = [];

  constructor(readonly id: NodeId, options: NodeOptions = {}) {
    if (options.storage) {
      this.storage = options.storage;
    } else {
      const confState = options.confState ??
        { ...EMPTY_CONF_STATE, voters: [...(options.peers ?? [id])] };
      assert.ok(!options.bootstrap || (!options.log && !options.hardState), 'bootstrap excludes log and hardState');
      this.storage = options.bootstrap ? MemoryStorage.bootstrap(confState) : MemoryStorage.withConf(confState);
      if (options.log) this.storage.append(options.log);
      if (options.hardState) this.storage.setHardState(options.hardState);
    }
    this.node = new RawNode({
      id,
      storage: this.storage,
      prng: new Xoshiro128(options.seed ?? id * 7919),
      ...PAPER_CONFIG,
      ...options.config,
    });
  }

  /**
   * flush runs the host loop until the node has nothing ready and returns the messages it asked
   * to send, in order.
   */
  flush(): Message[] {
    const out: Message[] = [];
    for (let rounds = 0; this.node.hasReady(); rounds++) {
      assert.ok(rounds < 10_000, `node ${this.id}: ready loop does not settle`);
      const rd = this.node.ready();
      if (rd.snapshot) this.storage.applySnapshot(rd.snapshot);
      this.storage.append(rd.entries);
      if (rd.hardState) this.storage.setHardState(rd.hardState);
      out.push(...rd.messages);
      for (const e of rd.committedEntries) {
        if (e.type === EntryType.ConfChange) this.confStates.push(this.node.applyConfChange(decodeConfChange(e.data)));
        this.applied.push(e);
      }
      this.readStates.push(...rd.readStates);
      this.node.advance();
    }
    return out;
  }

  /** step hands a message to the node and returns what it sends in response. */
  stepAndFlush(m: Message): Message[] {
    this.node.step(m);
    return this.flush();
  }

  /** tick advances the logical clock `n` times, flushing after each tick; returns the messages. */
  tick(n = 1): Message[] {
    const out: Message[] = [];
    for (let i = 0; i < n; i++) {
      this.node.tick();
      out.push(...this.flush());
    }
    return out;
  }

  get term(): Term { return this.node.raft.term; }
  get vote(): NodeId { return this.node.raft.vote; }
  get role(): Role { return this.node.raft.role; }
  get lead(): NodeId { return this.node.raft.lead; }
  get committed(): LogIndex { return this.node.raft.raftLog.committed; }
  get lastIndex(): LogIndex { return this.node.raft.raftLog.lastIndex(); }

  /** log returns the persisted log (after `flush`, the whole log), from index 1. */
  log(): Entry[] {
    const last = this.storage.lastIndex();
    const first = this.storage.firstIndex();
    return last < first ? [] : this.storage.entries(first, last + 1, Number.MAX_SAFE_INTEGER);
  }

  /** logTerms is `log()` as the list of entry terms (Figure 7 shorthand). */
  logTerms(): Term[] {
    return this.log().map((e) => e.term);
  }
}

/**
 * Filter decides what happens to a message about to be delivered: deliver it, drop it, or
 * deliver a replacement (for example a MsgApp with fewer entries).
 */
export type Filter = (m: Message) => 'deliver' | 'drop' | Message;

/**
 * Network connects TestNodes through one FIFO queue. `deliver()` routes what is queued,
 * `stabilize()` repeats flush + deliver until nothing moves. Cut links and isolated nodes drop
 * their messages silently, as a real network would.
 */
export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  /** queue holds messages sent and not yet delivered, oldest first. */
  queue: Message[] = [];
  /** trace is describeMessage() of every delivered message, for failure output. */
  readonly trace: string[] = [];
  private readonly cuts = new Set<string>();
  filter: Filter | undefined;

  constructor(nodes: Iterable<TestNode>) {
    for (const n of nodes) this.nodes.set(n.id, n);
  }

  /** ofSize builds `size` fresh founding members 1..size with the paper config. */
  static ofSize(size: number, config?: NodeOptions['config']): Network {
    const peers = idsBySize(size);
    return new Network(peers.map((p) => new TestNode(p, { peers, ...(config ? { config } : {}) })));
  }

  node(n: number): TestNode {
    const found = this.nodes.get(id(n));
    assert.ok(found, `no node ${n}`);
    return found;
  }

  /**
   * restart crashes node `n` and starts it again from its storage (everything it persisted),
   * dropping its volatile state; messages queued to or from it stay queued.
   */
  restart(n: number, options: Omit<NodeOptions, 'storage' | 'peers' | 'confState' | 'log' | 'hardState'> = {}): TestNode {
    const old = this.node(n);
    const fresh = new TestNode(old.id, { ...options, storage: old.storage });
    this.nodes.set(old.id, fresh);
    return fresh;
  }

  add(node: TestNode): void {
    this.nodes.set(node.id, node);
  }

  /** cut drops every message between a and b, both ways. */
  cut(a: number, b: number): void {
    this.cuts.add(`${a}-${b}`);
    this.cuts.add(`${b}-${a}`);
  }

  /** isolate cuts `n` from every other node. */
  isolate(n: number): void {
    for (const other of this.nodes.keys()) if (other !== n) this.cut(n, other);
  }

  /** heal restores every link (the filter stays). */
  heal(): void {
    this.cuts.clear();
  }

  connected(from: number, to: number): boolean {
    return !this.cuts.has(`${from}-${to}`);
  }

  /** flushAll runs every node's host loop and queues what they send; returns how many were queued. */
  flushAll(): number {
    let sent = 0;
    for (const n of this.nodes.values()) {
      const msgs = n.flush();
      this.queue.push(...msgs);
      sent += msgs.length;
    }
    return sent;
  }

  /** deliver routes every queued message once (new messages produced are queued, not delivered). */
  deliver(): number {
    const batch = this.queue;
    this.queue = [];
    let delivered = 0;
    for (const m of batch) {
      const target = this.nodes.get(m.to);
      if (!target || !this.connected(m.from, m.to)) continue;
      const verdict = this.filter ? this.filter(m) : 'deliver';
      if (verdict === 'drop') continue;
      const delivered_ = verdict === 'deliver' ? m : verdict;
      this.trace.push(describeMessage(delivered_));
      target.node.step(delivered_);
      delivered++;
    }
    return delivered;
  }

  /** stabilize flushes and delivers until no node has anything ready and nothing is queued. */
  stabilize(roundsMax = 1000): void {
    for (let round = 0; ; round++) {
      assert.ok(round < roundsMax, `network does not stabilize; last messages:\n${this.trace.slice(-20).join('\n')}`);
      this.flushAll();
      if (this.queue.length === 0) return;
      this.deliver();
    }
  }

  /** tickAll ticks every node once (no delivery). */
  tickAll(): void {
    for (const n of this.nodes.values()) n.node.tick();
  }

  /** campaign makes node `n` start an election now and runs the network until it settles. */
  campaign(n: number): void {
    this.node(n).node.campaign();
    this.stabilize();
  }

  /** propose submits `data` at node `n` and runs the network until it settles. */
  propose(n: number, data: string): void {
    this.node(n).node.propose(new TextEncoder().encode(data));
    this.stabilize();
  }

  /** leaders lists the nodes that currently believe they lead. */
  leaders(): TestNode[] {
    return [...this.nodes.values()].filter((n) => n.role === 'leader');
  }
}

/** sortByTo orders messages by recipient (then type) so tests can compare lists. */
export function sortByTo<M extends Message>(msgs: readonly M[]): M[] {
  return [...msgs].sort((a, b) => a.to - b.to || a.type.localeCompare(b.type));
}

/** describeAll renders messages one per line (assert failure output). */
export function describeAll(msgs: readonly Message[]): string {
  return msgs.map((m) => describeMessage(m)).join('\n');
}

/** ofType keeps the messages of one type, narrowed. */
export function ofType<T extends Message['type']>(msgs: readonly Message[], type: T): MessageOf<T>[] {
  return msgs.filter((m): m is MessageOf<T> => m.type === type);
}

/** MessageOf is the member of the Message union whose `type` can be T (MsgVote for 'MsgPreVote' too). */
export type MessageOf<T extends Message['type']> = Message extends infer M
  ? M extends Message ? (T extends M['type'] ? M : never) : never
  : never;

export { NONE };

// Message builders: every field spelled out, so a test reads like the RPC it sends.

export function msgApp(p: { from: number; to: number; term: Term; logTerm: Term; index: LogIndex; entries?: readonly Entry[]; commit?: LogIndex; commitOnly?: boolean }): MsgApp {
  return { type: 'MsgApp', from: id(p.from), to: id(p.to), term: p.term, logTerm: p.logTerm, index: p.index, entries: p.entries ?? [], commit: p.commit ?? 0, commitOnly: p.commitOnly ?? false };
}

export function msgAppResp(p: { from: number; to: number; term: Term; index: LogIndex; reject?: boolean; rejectHint?: LogIndex; logTerm?: Term }): MsgAppResp {
  return { type: 'MsgAppResp', from: id(p.from), to: id(p.to), term: p.term, index: p.index, reject: p.reject ?? false, rejectHint: p.rejectHint ?? 0, logTerm: p.logTerm ?? 0 };
}

export function msgVote(p: { from: number; to: number; term: Term; logTerm: Term; index: LogIndex }): MsgVote {
  return { type: 'MsgVote', from: id(p.from), to: id(p.to), term: p.term, logTerm: p.logTerm, index: p.index, transfer: false };
}

export function msgVoteResp(p: { from: number; to: number; term: Term; reject: boolean }): MsgVoteResp {
  return { type: 'MsgVoteResp', from: id(p.from), to: id(p.to), term: p.term, reject: p.reject };
}

export function msgHeartbeat(p: { from: number; to: number; term: Term; commit?: LogIndex; context?: string; sentTick?: number }): MsgHeartbeat {
  return { type: 'MsgHeartbeat', from: id(p.from), to: id(p.to), term: p.term, commit: p.commit ?? 0, context: p.context ?? '', sentTick: p.sentTick ?? 0 };
}

export function msgHeartbeatResp(p: { from: number; to: number; term: Term; context?: string; sentTick?: number }): MsgHeartbeatResp {
  return { type: 'MsgHeartbeatResp', from: id(p.from), to: id(p.to), term: p.term, context: p.context ?? '', sentTick: p.sentTick ?? 0 };
}

/** acceptReply is the follower's success answer to a MsgApp (etcd's acceptAndReply). */
export function acceptReply(m: MsgApp): MsgAppResp {
  return msgAppResp({ from: m.to, to: m.from, term: m.term, index: m.index + m.entries.length });
}

/**
 * electedLeader returns node `n` of a group of `peers`, elected by stepping grants from a bare
 * majority, with its durable state set by `options`; the Ready of the election is flushed and its
 * messages (the new leader's MsgApps) returned.
 */
export function electedLeader(n: number, peers: readonly NodeId[], options: Omit<NodeOptions, 'peers'> = {}): { leader: TestNode; msgs: Message[] } {
  const leader = new TestNode(id(n), { ...options, peers });
  leader.node.campaign();
  leader.flush();
  const others = peers.filter((p) => p !== n);
  const need = Math.floor(peers.length / 2); // plus its own vote
  for (const p of others.slice(0, need)) leader.node.step(msgVoteResp({ from: p, to: n, term: leader.term, reject: false }));
  assert.equal(leader.role, 'leader', `node ${n} did not win with ${need} grants`);
  return { leader, msgs: leader.flush() };
}

/**
 * acceptUntilQuiet plays every follower of `leader` accepting every MsgApp in `msgs` and in what
 * the leader sends back, until it sends no more MsgApp; returns the leader's last messages.
 */
export function acceptUntilQuiet(leader: TestNode, msgs: readonly Message[]): Message[] {
  let out: Message[] = [...msgs];
  for (let round = 0; ofType(out, 'MsgApp').length > 0; round++) {
    assert.ok(round < 100, 'the leader keeps sending MsgApp');
    for (const m of ofType(out, 'MsgApp')) leader.node.step(acceptReply(m));
    out = leader.flush();
  }
  return out;
}

/**
 * commitNoop makes the new leader's no-op committed by accepting its MsgApps from every peer, and
 * returns the leader's messages after that.
 */
export function commitNoop(leader: TestNode, msgs: readonly Message[]): Message[] {
  for (const m of ofType(msgs, 'MsgApp')) leader.node.step(acceptReply(m));
  const out = leader.flush();
  assert.equal(leader.committed, leader.lastIndex, 'the no-op is not committed');
  return out;
}
