import net from 'node:net';
import { CodecError } from '../lib/binary.js';
import type { Logger } from '../lib/logger.js';
import { entriesBytes, type Message, type NodeId } from '../raft/types.js';
import { reconnectDelayMs } from './backoff.js';
import {
  PEER_PROTOCOL_MAGIC, PEER_PROTOCOL_VERSION, FrameType, decodeFrame, encodeBatchFrames, encodeHello, type Frame,
} from './frame-codec.js';
import { FrameReader } from './frame-reader.js';
import type { TransportLimits } from './limits.js';
import type { PeerAddress } from './peer-url.js';
import type { ReportQueue } from './report-queue.js';
import { SnapshotSender } from './snapshot-sender.js';
import type { TransportStats } from './stats.js';
import type { GroupId } from './transport.js';

/** OutboundContext is what every OutboundPeer of one transport shares. */
export interface OutboundContext {
  readonly localId: NodeId;
  readonly clusterId: string;
  readonly limits: TransportLimits;
  readonly logger: Logger;
  readonly stats: TransportStats;
  readonly reports: ReportQueue;
  /** random is a [0, 1) source for backoff jitter. */
  readonly random: () => number;
}

/**
 * OutboundState: `connecting` (TCP connect + handshake; sends are queued), `connected` (queue
 * flushed every event-loop turn), `backoff` (the last attempt failed; sends are dropped and
 * reported unreachable until the next attempt), `closed` (removed or stopped).
 */
type OutboundState = 'connecting' | 'connected' | 'backoff' | 'closed';

/**
 * OutboundPeer owns the one outbound connection to a peer, which carries this member's messages
 * of every group to it. Messages queued during one event-loop turn go out as one batch frame
 * (split only at `frameBytesMax`) in one socket write, on setImmediate. The queue is bounded by
 * `peerQueueMessagesMax` / `peerQueueBytesMax`; overflow is dropped and reported unreachable.
 * A failed connection is retried after `reconnectDelayMs` (exponential backoff with jitter).
 * Invariant: `socket` is defined exactly in states connecting and connected.
 */
export class OutboundPeer {
  private state: OutboundState = 'backoff';
  private socket: net.Socket | undefined;
  private reader: FrameReader;
  private groups: GroupId[] = [];
  private messages: Message[] = [];
  private queuedBytes = 0;
  private flushScheduled: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** failures counts consecutive failed attempts (0 while connected). */
  private failures = 0;
  private lastFailure = '';
  private closedWaiters: (() => void)[] = [];
  private readonly snapshots: SnapshotSender;

  constructor(readonly id: NodeId, private address: PeerAddress, private readonly ctx: OutboundContext) {
    this.reader = new FrameReader(ctx.limits.handshakeFrameBytesMax);
    this.snapshots = new SnapshotSender(id, ctx, (reason) => this.breakConnection(reason), () => this.scheduleFlush());
  }

  /** isConnected says whether the handshake has completed on the current connection. */
  get isConnected(): boolean {
    return this.state === 'connected';
  }

  /** connect starts the first connection attempt. */
  connect(): void {
    if (this.state !== 'backoff') return;
    this.clearTimer();
    this.state = 'connecting';
    const socket = net.createConnection({ host: this.address.host, port: this.address.port });
    this.socket = socket;
    this.reader = new FrameReader(this.ctx.limits.handshakeFrameBytesMax);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 1000);
    this.timer = setTimeout(() => {
      this.breakConnection(`no handshake within ${this.ctx.limits.connectTimeoutMs} ms`);
    }, this.ctx.limits.connectTimeoutMs);
    socket.on('connect', () => {
      this.ctx.stats.connectionsOpened += 1;
      this.writeRaw(encodeHello(this.ctx.clusterId, this.ctx.localId, this.id));
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.socket === socket) this.onData(chunk);
    });
    socket.on('error', (error: Error) => {
      if (this.socket === socket) this.lastFailure = error.message;
    });
    socket.on('close', () => {
      if (this.socket === socket) this.onClose();
      const waiters = this.closedWaiters.splice(0);
      for (const resolve of waiters) resolve();
    });
  }

  /** send queues messages of one group (see Transport.send). */
  send(groupId: GroupId, messages: readonly Message[]): void {
    if (this.state === 'closed') return;
    for (const message of messages) {
      if (message.type === 'MsgSnap') {
        if (this.state === 'backoff') {
          this.ctx.logger.debug('snapshot dropped: peer down', { peer: this.id, group: groupId });
          this.ctx.stats.snapshotsFailed += 1;
          this.ctx.reports.reportSnapshot(this.id, groupId, message.snapshot.metadata.index, 'failure');
        } else {
          this.snapshots.enqueue(groupId, message);
        }
        continue;
      }
      const bytes = message.type === 'MsgApp' || message.type === 'MsgProp' ? entriesBytes(message.entries) : 0;
      if (
        this.state === 'backoff' || this.messages.length >= this.ctx.limits.peerQueueMessagesMax ||
        this.queuedBytes + bytes > this.ctx.limits.peerQueueBytesMax
      ) {
        this.drop(groupId, 1);
        continue;
      }
      this.groups.push(groupId);
      this.messages.push(message);
      this.queuedBytes += bytes;
    }
    if (this.state === 'connected' && (this.messages.length > 0 || this.snapshots.pendingCount > 0)) this.scheduleFlush();
  }

  /** setAddress points the peer at a new address; a live connection to the old one is closed. */
  setAddress(address: PeerAddress): void {
    if (address.host === this.address.host && address.port === this.address.port) return;
    this.address = address;
    this.failures = 0;
    if (this.state === 'backoff') this.connect();
    else if (this.state !== 'closed') this.breakConnection('peer address changed');
  }

  /**
   * close ends the peer for good: drops the queue, fails pending snapshots (reported unless the
   * transport's reports are closed) and resolves once the socket is closed.
   */
  close(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    this.state = 'closed';
    this.clearTimer();
    if (this.flushScheduled !== undefined) clearImmediate(this.flushScheduled);
    this.flushScheduled = undefined;
    this.dropQueue(false);
    this.snapshots.failAll('peer removed or transport stopped');
    const socket = this.socket;
    if (socket === undefined || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.closedWaiters.push(resolve);
      socket.destroy();
    });
  }

  private onData(chunk: Buffer): void {
    this.reader.push(chunk);
    for (;;) {
      let frame: Frame;
      try {
        const raw = this.reader.next();
        if (raw === undefined) return;
        frame = decodeFrame(raw.type, raw.payload, this.ctx.limits);
      } catch (error) {
        if (!(error instanceof CodecError)) throw error;
        this.protocolError(error.message);
        return;
      }
      if (!this.onFrame(frame)) return;
    }
  }

  /** onFrame handles one frame; returns false once the connection is being closed. */
  private onFrame(frame: Frame): boolean {
    const peer = { peer: this.id, address: `${this.address.host}:${this.address.port}` };
    if (this.state === 'connecting') {
      if (frame.type === FrameType.Refuse) {
        this.ctx.stats.connectionsRefused += 1;
        const reason = frame.reason;
        // Repeated refusals for the same reason are logged once per outage.
        const log = this.lastFailure === `refused: ${reason}` ? this.ctx.logger.debug : this.ctx.logger.error;
        log.call(this.ctx.logger, 'peer refused our connection', { ...peer, reason });
        this.breakConnection(`refused: ${reason}`);
        return false;
      }
      if (frame.type !== FrameType.HelloOk) return this.protocolError(`expected hello-ok, got frame type ${frame.type}`);
      if (frame.magic !== PEER_PROTOCOL_MAGIC || frame.version !== PEER_PROTOCOL_VERSION) {
        return this.protocolError(`peer speaks protocol version ${frame.version} (magic ${frame.magic.toString(16)}), ours is ${PEER_PROTOCOL_VERSION}`);
      }
      if (frame.memberId !== this.id) {
        this.ctx.stats.connectionsRefused += 1;
        this.ctx.logger.error('peer has another member id', { ...peer, reason: `expected member ${this.id}, reached member ${frame.memberId}` });
        this.breakConnection(`reached member ${frame.memberId} instead of ${this.id}`);
        return false;
      }
      this.clearTimer();
      this.state = 'connected';
      this.reader.frameBytesMax = this.ctx.limits.frameBytesMax;
      this.ctx.logger.info('connected to peer', { ...peer, afterFailures: this.failures });
      this.failures = 0;
      this.lastFailure = '';
      this.snapshots.attach(this.socket as net.Socket);
      this.scheduleFlush();
      return true;
    }
    if (frame.type !== FrameType.SnapshotAck) return this.protocolError(`unexpected frame type ${frame.type} on an outbound connection`);
    const error = this.snapshots.onAck(frame.groupId, frame.snapshotIndex, frame.status, frame.reason);
    return error === undefined ? true : this.protocolError(error);
  }

  private protocolError(reason: string): false {
    this.ctx.stats.protocolErrors += 1;
    this.ctx.logger.error('closing peer connection: protocol error', { peer: this.id, address: `${this.address.host}:${this.address.port}`, reason });
    this.breakConnection(`protocol error: ${reason}`);
    return false;
  }

  /** breakConnection destroys the current socket; its close event moves the peer to backoff. */
  private breakConnection(reason: string): void {
    this.lastFailure = reason;
    this.socket?.destroy();
  }

  private onClose(): void {
    this.socket = undefined;
    this.clearTimer();
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    this.state = 'backoff';
    this.failures += 1;
    const reason = this.lastFailure || 'connection closed';
    this.dropQueue(true);
    this.snapshots.failAll(`connection lost: ${reason}`);
    if (wasConnected) this.ctx.reports.reportUnreachable(this.id, undefined);
    const delayMs = reconnectDelayMs(this.failures, this.ctx.limits.reconnectBackoffMsMin, this.ctx.limits.reconnectBackoffMsMax, this.ctx.random);
    const fields = { peer: this.id, address: `${this.address.host}:${this.address.port}`, reason, retryInMs: delayMs, failures: this.failures };
    if (wasConnected || this.failures === 1) this.ctx.logger.warn('peer connection lost', fields);
    else this.ctx.logger.debug('peer connection attempt failed', fields);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect();
    }, delayMs);
  }

  /** flushNow runs a scheduled flush at once (see Transport.flushNow). */
  flushNow(): void {
    if (this.flushScheduled === undefined) return;
    clearImmediate(this.flushScheduled);
    this.flush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled === undefined) this.flushScheduled = setImmediate(() => this.flush());
  }

  /**
   * flush writes everything queued as batch frames in one socket write (corked when split), then
   * lets the snapshot stream continue behind it.
   */
  private flush(): void {
    this.flushScheduled = undefined;
    this.writeBatch();
    if (this.state === 'connected') this.snapshots.pump();
  }

  private writeBatch(): void {
    const socket = this.socket;
    if (this.state !== 'connected' || socket === undefined || this.messages.length === 0) return;
    if (socket.writableLength > this.ctx.limits.socketBufferedBytesMax) {
      this.ctx.logger.warn('peer is not reading; dropping batch', { peer: this.id, bufferedBytes: socket.writableLength, messages: this.messages.length });
      this.dropQueue(true);
      return;
    }
    const groups = this.groups;
    const messages = this.messages;
    this.groups = [];
    this.messages = [];
    this.queuedBytes = 0;
    const batch = encodeBatchFrames(groups, messages, this.ctx.limits.frameBytesMax);
    for (const i of batch.oversized) {
      this.ctx.logger.error('message exceeds the frame limit; dropped', {
        peer: this.id, group: groups[i], type: messages[i]?.type, frameBytesMax: this.ctx.limits.frameBytesMax,
      });
      this.drop(groups[i] ?? 0, 1);
    }
    if (batch.buffers.length === 0) return;
    if (batch.buffers.length > 1) socket.cork();
    for (const buffer of batch.buffers) socket.write(buffer);
    if (batch.buffers.length > 1) socket.uncork();
    const stats = this.ctx.stats;
    stats.socketWrites += 1;
    stats.batchFramesSent += batch.frames;
    stats.bytesSent += batch.bytes;
    stats.messagesSent += messages.length - batch.oversized.length;
  }

  private writeRaw(bytes: Uint8Array): void {
    const socket = this.socket;
    if (socket === undefined || !socket.writable) return;
    socket.write(bytes);
    this.ctx.stats.socketWrites += 1;
    this.ctx.stats.bytesSent += bytes.byteLength;
  }

  /** dropQueue discards queued messages, reporting each group unreachable when `report`. */
  private dropQueue(report: boolean): void {
    if (report) {
      const seen = new Set<GroupId>();
      for (const g of this.groups) {
        if (!seen.has(g)) this.ctx.reports.reportUnreachable(this.id, g);
        seen.add(g);
      }
    }
    this.ctx.stats.messagesDropped += this.messages.length;
    this.groups = [];
    this.messages = [];
    this.queuedBytes = 0;
  }

  private drop(groupId: GroupId, count: number): void {
    this.ctx.stats.messagesDropped += count;
    this.ctx.reports.reportUnreachable(this.id, groupId);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
