import { assert } from '../lib/assert.js';
import { randomChance, type Prng } from '../lib/prng.js';
import { decodeMessage, encodeMessage } from '../raft/wire-codec.js';
import type { Message, NodeId } from '../raft/types.js';
import { TRANSPORT_LIMITS } from './limits.js';
import { ReportQueue } from './report-queue.js';
import { newTransportStats, type TransportStats } from './stats.js';
import type { GroupId, Transport, TransportHandler } from './transport.js';

/**
 * MemoryNetwork is an in-process hub connecting MemoryTransports, for tests of everything above
 * the transport. Links can be cut (one direction or both) and messages dropped at random (from
 * an injected Prng). A cut link behaves like a dead TCP connection: sends are dropped and
 * reported unreachable, snapshots fail. Random drops are silent, like loss the sender never sees.
 */
export class MemoryNetwork {
  private readonly members = new Map<NodeId, MemoryTransport>();
  private readonly cuts = new Set<string>();
  private dropRate = 0;
  private prng: Prng | undefined;

  /** transport creates the transport of member `localId` on this network. */
  transport(localId: NodeId, handler: TransportHandler, options: MemoryTransportOptions = {}): MemoryTransport {
    return new MemoryTransport(this, localId, handler, options);
  }

  /** cut stops delivery from `a` to `b`, and from `b` to `a` unless `oneWay`. */
  cut(a: NodeId, b: NodeId, oneWay = false): void {
    this.cuts.add(`${a}>${b}`);
    if (!oneWay) this.cuts.add(`${b}>${a}`);
  }

  /** isolate cuts every link of `id`, both ways. */
  isolate(id: NodeId): void {
    for (const other of this.members.keys()) if (other !== id) this.cut(id, other);
  }

  /** heal restores every link. */
  heal(): void {
    this.cuts.clear();
  }

  /** setDropRate makes each message lost with probability `rate` (0..1), drawn from `prng`. */
  setDropRate(rate: number, prng: Prng): void {
    assert(rate >= 0 && rate <= 1, 'drop rate in [0, 1]');
    this.dropRate = rate;
    this.prng = prng;
  }

  /** @internal */
  register(transport: MemoryTransport): void {
    assert(!this.members.has(transport.localId), `member ${transport.localId} already on the network`);
    this.members.set(transport.localId, transport);
  }

  /** @internal */
  unregister(transport: MemoryTransport): void {
    if (this.members.get(transport.localId) === transport) this.members.delete(transport.localId);
  }

  /** @internal route returns the started transport `to` reachable from `from`, if any. */
  route(from: NodeId, to: NodeId): MemoryTransport | undefined {
    if (this.cuts.has(`${from}>${to}`)) return undefined;
    return this.members.get(to);
  }

  /** @internal lose draws whether one message is lost at random. */
  lose(): boolean {
    return this.prng !== undefined && randomChance(this.prng, this.dropRate);
  }
}

/** MemoryTransportOptions tune a MemoryTransport. */
export interface MemoryTransportOptions {
  /** roundTrip passes every message through the wire codec, as TCP would (default true). */
  readonly roundTrip?: boolean;
  /** peerQueueMessagesMax bounds the messages waiting for one peer's next delivery turn. */
  readonly peerQueueMessagesMax?: number;
}

interface Outgoing {
  groups: GroupId[];
  messages: Message[];
}

/**
 * MemoryTransport implements Transport over a MemoryNetwork. Messages queued during one turn are
 * delivered together on a later turn (setImmediate), FIFO per (sender, receiver), each turn
 * counting as one batch frame in `stats`. Snapshots are delivered whole and reported 'finished'.
 */
export class MemoryTransport implements Transport {
  readonly stats: TransportStats = newTransportStats();
  private readonly reports: ReportQueue;
  private readonly peers = new Map<NodeId, string>();
  private readonly outgoing = new Map<NodeId, Outgoing>();
  private scheduled: NodeJS.Immediate | undefined;
  private state: 'new' | 'started' | 'stopped' = 'new';
  private readonly roundTrip: boolean;
  private readonly peerQueueMessagesMax: number;

  constructor(
    private readonly network: MemoryNetwork,
    readonly localId: NodeId,
    private readonly handler: TransportHandler,
    options: MemoryTransportOptions,
  ) {
    this.reports = new ReportQueue(handler);
    this.roundTrip = options.roundTrip ?? true;
    this.peerQueueMessagesMax = options.peerQueueMessagesMax ?? TRANSPORT_LIMITS.peerQueueMessagesMax;
  }

  /** url is this member's address on the network. */
  get url(): string {
    return `memory://${this.localId}`;
  }

  start(): Promise<void> {
    assert(this.state === 'new', 'transport started twice');
    this.state = 'started';
    this.network.register(this);
    return Promise.resolve();
  }

  send(to: NodeId, groupId: GroupId, messages: readonly Message[]): void {
    if (this.state === 'stopped') return;
    const known = this.peers.has(to);
    let out = this.outgoing.get(to);
    for (const message of messages) {
      if (!known || this.state !== 'started' || (out?.messages.length ?? 0) >= this.peerQueueMessagesMax) {
        this.dropOne(to, groupId, message);
        continue;
      }
      if (out === undefined) {
        out = { groups: [], messages: [] };
        this.outgoing.set(to, out);
      }
      out.groups.push(groupId);
      out.messages.push(this.roundTrip ? decodeMessage(encodeMessage(message)) : message);
    }
    if (this.outgoing.size > 0 && this.scheduled === undefined) this.scheduled = setImmediate(() => this.deliver());
  }

  addPeer(id: NodeId, url: string | URL): void {
    assert(id !== this.localId, 'a transport cannot add itself as a peer');
    this.peers.set(id, String(url));
  }

  removePeer(id: NodeId): void {
    this.peers.delete(id);
    const out = this.outgoing.get(id);
    this.outgoing.delete(id);
    if (out !== undefined) for (let i = 0; i < out.messages.length; i++) this.dropOne(id, out.groups[i] as GroupId, out.messages[i] as Message);
  }

  stop(): Promise<void> {
    if (this.state === 'stopped') return Promise.resolve();
    this.state = 'stopped';
    this.reports.close();
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.outgoing.clear();
    this.network.unregister(this);
    return Promise.resolve();
  }

  /** @internal receive is called by a peer's delivery turn. */
  receive(from: NodeId, groupId: GroupId, message: Message): void {
    if (this.state !== 'started') return;
    this.stats.messagesReceived += 1;
    if (message.type === 'MsgSnap') this.stats.snapshotsReceived += 1;
    this.handler.onMessage(from, groupId, message);
  }

  /** @internal countBatch is called by a peer once per delivery turn that reached us. */
  countBatch(): void {
    this.stats.batchFramesReceived += 1;
  }

  private deliver(): void {
    this.scheduled = undefined;
    const outgoing = [...this.outgoing];
    this.outgoing.clear();
    for (const [to, out] of outgoing) {
      let target = this.network.route(this.localId, to);
      if (target !== undefined) {
        this.stats.batchFramesSent += 1;
        this.stats.socketWrites += 1;
        target.countBatch();
      }
      for (let i = 0; i < out.messages.length; i++) {
        if (this.state !== 'started') return;
        const message = out.messages[i] as Message;
        const groupId = out.groups[i] as GroupId;
        target = this.network.route(this.localId, to);
        if (target === undefined || !this.peers.has(to)) {
          this.dropOne(to, groupId, message);
          continue;
        }
        if (this.network.lose()) {
          this.stats.messagesDropped += 1;
          if (message.type === 'MsgSnap') this.reportSnapshot(to, groupId, message, 'failure');
          continue;
        }
        this.stats.messagesSent += 1;
        target.receive(this.localId, groupId, message);
        if (message.type === 'MsgSnap') this.reportSnapshot(to, groupId, message, 'finished');
      }
    }
  }

  private dropOne(to: NodeId, groupId: GroupId, message: Message): void {
    this.stats.messagesDropped += 1;
    this.reports.reportUnreachable(to, groupId);
    if (message.type === 'MsgSnap') this.reportSnapshot(to, groupId, message, 'failure');
  }

  private reportSnapshot(to: NodeId, groupId: GroupId, message: Message & { type: 'MsgSnap' }, status: 'finished' | 'failure'): void {
    if (status === 'finished') this.stats.snapshotsSent += 1;
    else this.stats.snapshotsFailed += 1;
    this.reports.reportSnapshot(to, groupId, message.snapshot.metadata.index, status);
  }
}
