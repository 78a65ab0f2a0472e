import type { Message, NodeId, SnapshotStatus } from '../raft/types.js';

/**
 * GroupId names one Raft group (shard) hosted by a process; a non-negative safe integer. Many
 * groups share one transport and one connection per peer.
 */
export type GroupId = number;

/**
 * TransportHandler receives what a transport has to tell its host. Every callback runs on its
 * own event-loop turn, never inside `send()`, so the host may call into its RawNodes from it.
 */
export interface TransportHandler {
  /**
   * onMessage delivers one message from `from` for `groupId`. Messages from one peer arrive in
   * the order that peer sent them, except a MsgSnap, which arrives once fully received (later
   * small messages of that group may overtake it).
   */
  onMessage(from: NodeId, groupId: GroupId, message: Message): void;
  /**
   * onUnreachable says messages to `peer` were lost (queue overflow, peer down, connection
   * broken). `groupId` is undefined when the loss may concern every group (a broken connection).
   * The host forwards it to `RawNode.reportUnreachable(peer)` of the group(s).
   */
  onUnreachable(peer: NodeId, groupId: GroupId | undefined): void;
  /**
   * onSnapshotStatus reports, once per MsgSnap given to `send()`, whether the snapshot at
   * `snapshotIndex` reached `peer` ('finished': the peer handed it to its host) or not. The host
   * forwards it to `RawNode.reportSnapshot(peer, status)` of the group.
   */
  onSnapshotStatus(peer: NodeId, groupId: GroupId, snapshotIndex: number, status: SnapshotStatus): void;
}

/**
 * Transport carries Raft messages of many groups between members. Implementations: TcpTransport
 * (framed binary TCP) and MemoryTransport (in-process hub for tests). Both pass
 * test/conformance/transport.ts.
 *
 * Ownership and ordering: the transport owns its sockets and queues; messages given to `send`
 * must not be mutated afterwards. Delivery is at most once and FIFO per (sender, receiver) pair.
 */
export interface Transport {
  /** localId is this member's id. */
  readonly localId: NodeId;
  /** start begins listening and connecting; resolves once incoming connections are accepted. */
  start(): Promise<void>;
  /**
   * send queues `messages` of `groupId` for peer `to`. It never blocks and never throws on a
   * dead or unknown peer: what cannot be queued (queue full, peer down, unknown peer) is dropped
   * and reported with `onUnreachable`; a dropped MsgSnap is reported with `onSnapshotStatus`
   * 'failure'. After `stop()` it drops silently.
   */
  send(to: NodeId, groupId: GroupId, messages: readonly Message[]): void;
  /**
   * flushNow writes what `send` has queued to the sockets now instead of on a later event-loop
   * turn. Optional. A leader calls it before it writes its own log, so that followers receive
   * the entries while its disk works rather than a loop turn after.
   */
  flushNow?(): void;
  /** addPeer makes `id` reachable at `url` (`http://host:port` or `tcp://host:port`); re-adding updates the url. */
  addPeer(id: NodeId, url: string | URL): void;
  /** removePeer forgets `id`: closes its connections, drops its queue, fails its pending snapshots, refuses it. */
  removePeer(id: NodeId): void;
  /** stop closes every connection and the listener; resolves when all are closed. No callback runs afterwards. */
  stop(): Promise<void>;
}
