import net from 'node:net';
import { assert } from '../lib/assert.js';
import { nullLogger, type Logger } from '../lib/logger.js';
import type { Message, NodeId } from '../raft/types.js';
import { InboundConnection, SnapshotBudget, type InboundContext } from './inbound-connection.js';
import { resolveTransportLimits, type TransportLimits } from './limits.js';
import { OutboundPeer, type OutboundContext } from './outbound-peer.js';
import { parsePeerUrl } from './peer-url.js';
import { ReportQueue } from './report-queue.js';
import { newTransportStats, type TransportStats } from './stats.js';
import type { GroupId, Transport, TransportHandler } from './transport.js';

/** TcpTransportOptions configure a TcpTransport. */
export interface TcpTransportOptions {
  /** localId is this member's id; peers must name it in their hello. */
  readonly localId: NodeId;
  /** clusterId is the cluster's token (etcd's --initial-cluster-token); peers with another are refused. */
  readonly clusterId: string;
  readonly handler: TransportHandler;
  /** listenHost / listenPort: where to accept peers; port 0 picks a free port (read `listenPort`). */
  readonly listenHost?: string;
  readonly listenPort?: number;
  readonly logger?: Logger;
  /** limits override TRANSPORT_LIMITS (limits.ts). */
  readonly limits?: Partial<TransportLimits>;
  /** random is the [0, 1) source of reconnect jitter (default Math.random). */
  readonly random?: () => number;
}

/**
 * TcpTransport is the peer transport over TCP (docs/transport.md): one listener, one outbound
 * connection per peer carrying all groups, binary length-prefixed frames, per-turn batching,
 * reconnect with backoff, chunked snapshot streaming. It owns every socket it opens or accepts;
 * `stop()` closes them all.
 */
export class TcpTransport implements Transport {
  readonly localId: NodeId;
  /** stats are the transport's counters (read-only for callers). */
  readonly stats: TransportStats = newTransportStats();
  private readonly limits: TransportLimits;
  private readonly logger: Logger;
  private readonly reports: ReportQueue;
  private readonly peers = new Map<NodeId, OutboundPeer>();
  private readonly removed = new Set<NodeId>();
  private readonly inbound = new Set<InboundConnection>();
  /** inboundByPeer is the current established connection from each peer (older ones are closed). */
  private readonly inboundByPeer = new Map<NodeId, InboundConnection>();
  private readonly server: net.Server;
  private readonly outboundContext: OutboundContext;
  private readonly inboundContext: InboundContext;
  private state: 'new' | 'started' | 'stopped' = 'new';
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: TcpTransportOptions) {
    this.localId = options.localId;
    this.limits = resolveTransportLimits(options.limits);
    this.logger = options.logger ?? nullLogger;
    assert(new TextEncoder().encode(options.clusterId).byteLength <= this.limits.clusterIdBytesMax, 'cluster id too long');
    this.reports = new ReportQueue(options.handler);
    const common = { localId: this.localId, clusterId: options.clusterId, limits: this.limits, logger: this.logger, stats: this.stats };
    this.outboundContext = { ...common, reports: this.reports, random: options.random ?? Math.random };
    this.inboundContext = {
      ...common,
      snapshotBudget: new SnapshotBudget(this.limits.snapshotReceiveBytesMax),
      isRemoved: (id) => this.removed.has(id),
      onEstablished: (connection) => this.onEstablished(connection),
      deliver: (from, groupId, message) => {
        if (this.state === 'started') options.handler.onMessage(from, groupId, message);
      },
    };
    this.server = net.createServer((socket) => this.onConnection(socket));
  }

  /** listenPort is the bound port (after `start()`). */
  get listenPort(): number {
    const address = this.server.address();
    assert(address !== null && typeof address === 'object', 'transport not listening');
    return address.port;
  }

  /** url is this transport's peer url (after `start()`), for `addPeer` on other members. */
  get url(): string {
    const host = this.options.listenHost ?? '127.0.0.1';
    return `tcp://${host.includes(':') ? `[${host}]` : host}:${this.listenPort}`;
  }

  async start(): Promise<void> {
    assert(this.state === 'new', 'transport started twice');
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: this.options.listenHost ?? '127.0.0.1', port: this.options.listenPort ?? 0 }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.server.on('error', (error) => this.logger.error('peer listener error', { error: error.message }));
    this.state = 'started';
    this.logger.info('peer transport listening', { member: this.localId, port: this.listenPort });
    for (const peer of this.peers.values()) peer.connect();
  }

  send(to: NodeId, groupId: GroupId, messages: readonly Message[]): void {
    if (this.state === 'stopped' || messages.length === 0) return;
    const peer = this.peers.get(to);
    if (peer !== undefined) {
      peer.send(groupId, messages);
      return;
    }
    this.logger.debug('message to unknown peer dropped', { peer: to, group: groupId, messages: messages.length });
    this.stats.messagesDropped += messages.length;
    this.reports.reportUnreachable(to, groupId);
    for (const m of messages) {
      if (m.type === 'MsgSnap') {
        this.stats.snapshotsFailed += 1;
        this.reports.reportSnapshot(to, groupId, m.snapshot.metadata.index, 'failure');
      }
    }
  }

  flushNow(): void {
    if (this.state === 'stopped') return;
    for (const peer of this.peers.values()) peer.flushNow();
  }

  addPeer(id: NodeId, url: string | URL): void {
    assert(id !== this.localId, 'a transport cannot add itself as a peer');
    if (this.state === 'stopped') return;
    const address = parsePeerUrl(url);
    this.removed.delete(id);
    const existing = this.peers.get(id);
    if (existing !== undefined) {
      existing.setAddress(address);
      return;
    }
    const peer = new OutboundPeer(id, address, this.outboundContext);
    this.peers.set(id, peer);
    if (this.state === 'started') peer.connect();
  }

  removePeer(id: NodeId): void {
    if (this.state === 'stopped') return;
    this.removed.add(id);
    const peer = this.peers.get(id);
    this.peers.delete(id);
    void peer?.close();
    for (const connection of this.inbound) {
      if (connection.peerId === id) void connection.close();
    }
  }

  /** isConnected says whether the outbound connection to `id` has completed its handshake. */
  isConnected(id: NodeId): boolean {
    return this.peers.get(id)?.isConnected ?? false;
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const wasListening = this.state === 'started';
    this.state = 'stopped';
    this.reports.close();
    const closing: Promise<void>[] = [];
    if (wasListening) closing.push(new Promise((resolve) => this.server.close(() => resolve())));
    for (const peer of this.peers.values()) closing.push(peer.close());
    for (const connection of this.inbound) closing.push(connection.close());
    this.peers.clear();
    await Promise.all(closing);
    this.logger.info('peer transport stopped', { member: this.localId });
  }

  private onConnection(socket: net.Socket): void {
    if (this.state !== 'started') {
      socket.destroy();
      return;
    }
    const connection = new InboundConnection(socket, this.inboundContext);
    this.inbound.add(connection);
    socket.once('close', () => {
      this.inbound.delete(connection);
      if (connection.peerId !== undefined && this.inboundByPeer.get(connection.peerId) === connection) {
        this.inboundByPeer.delete(connection.peerId);
      }
    });
    if (this.inbound.size > this.limits.inboundConnectionsMax) connection.refuseAtCapacity();
  }

  private onEstablished(connection: InboundConnection): void {
    const peer = connection.peerId as NodeId;
    const previous = this.inboundByPeer.get(peer);
    this.inboundByPeer.set(peer, connection);
    if (previous !== undefined && previous !== connection) {
      this.logger.info('replacing older connection from peer', { peer, address: previous.remoteAddress });
      void previous.close();
    }
  }
}
