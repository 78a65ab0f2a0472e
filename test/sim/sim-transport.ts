import { Xoshiro128 } from '../../src/lib/prng.js';
import type { Message, NodeId } from '../../src/raft/index.js';
import type { GroupId, Transport, TransportHandler } from '../../src/transport/transport.js';
import { SimNetwork, type NetworkFaults } from './network.js';

/**
 * SimTransportHub puts the simulator's network (SimNetwork: loss, delay, duplication, reordering,
 * partitions, clogging — all from one seed) behind the peer `Transport` interface, so code written
 * against the real TCP transport runs over it and the transport conformance suite checks it.
 * Time is the hub's step counter, advanced by `step()` (the simulator) or by a timer (`run()`).
 */
export class SimTransportHub {
  readonly network: SimNetwork;
  private readonly transports = new Map<NodeId, SimTransport>();
  /** groupOf remembers each in-flight message's group (the network carries bare messages). */
  private readonly groupOf = new WeakMap<Message, GroupId>();
  private nowStep = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(seed: number, faults: NetworkFaults, inFlightMax = 1_000_000) {
    this.network = new SimNetwork(new Xoshiro128(seed), faults, inFlightMax);
  }

  transport(id: NodeId, handler: TransportHandler): SimTransport {
    const t = new SimTransport(this, id, handler);
    this.transports.set(id, t);
    return t;
  }

  /** run advances one step every `intervalMs` of real time (for tests outside the simulator). */
  run(intervalMs = 1): void {
    this.timer ??= setInterval(() => this.step(), intervalMs);
  }

  stopRunning(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** step advances simulated time by one step and delivers what is due. */
  step(): void {
    this.nowStep++;
    const due = this.network.takeDue(this.nowStep, (sender, m) => this.transports.get(sender)?.reportLost(m, this.groupOf.get(m) ?? 0));
    for (const { sender, message } of due) {
      const groupId = this.groupOf.get(message) ?? 0;
      const target = this.transports.get(message.to);
      if (!target?.running) {
        this.transports.get(sender)?.reportLost(message, groupId);
        continue;
      }
      target.deliver(sender, groupId, message);
      if (message.type === 'MsgSnap') this.transports.get(sender)?.reportSnapshot(message.to, groupId, message.snapshot.metadata.index, 'finished');
    }
  }

  /** put hands one message to the network; false when it was dropped at once. */
  put(sender: NodeId, groupId: GroupId, message: Message): boolean {
    this.groupOf.set(message, groupId);
    return this.network.send(sender, message, this.nowStep) === undefined;
  }

  isRunning(id: NodeId): boolean {
    return this.transports.get(id)?.running ?? false;
  }
}

/** SimTransport is one member's Transport over a SimTransportHub. */
export class SimTransport implements Transport {
  running = false;
  private stopped = false;
  private readonly peers = new Set<NodeId>();

  constructor(private readonly hub: SimTransportHub, readonly localId: NodeId, private readonly handler: TransportHandler) {}

  get url(): string {
    return `sim://${this.localId}`;
  }

  async start(): Promise<void> {
    this.running = true;
  }

  addPeer(id: NodeId): void {
    this.peers.add(id);
  }

  removePeer(id: NodeId): void {
    this.peers.delete(id);
  }

  send(to: NodeId, groupId: GroupId, messages: readonly Message[]): void {
    if (this.stopped) return;
    for (const m of messages) {
      const reachable = this.peers.has(to) && this.hub.isRunning(to);
      if (!reachable || !this.hub.put(this.localId, groupId, m)) this.reportLost(m, groupId);
    }
  }

  /** reportLost tells the sender's host, on a later turn, that a message was lost. */
  reportLost(m: Message, groupId: GroupId): void {
    this.later(() => {
      this.handler.onUnreachable(m.to, groupId);
      if (m.type === 'MsgSnap') this.handler.onSnapshotStatus(m.to, groupId, m.snapshot.metadata.index, 'failure');
    });
  }

  reportSnapshot(peer: NodeId, groupId: GroupId, index: number, status: 'finished' | 'failure'): void {
    this.later(() => this.handler.onSnapshotStatus(peer, groupId, index, status));
  }

  deliver(from: NodeId, groupId: GroupId, message: Message): void {
    this.later(() => this.handler.onMessage(from, groupId, message));
  }

  private later(f: () => void): void {
    setImmediate(() => {
      if (!this.stopped) f();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.running = false;
  }
}
