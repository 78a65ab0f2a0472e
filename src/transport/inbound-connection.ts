import type { Socket } from 'node:net';
import { CodecError } from '../lib/binary.js';
import type { Logger } from '../lib/logger.js';
import type { Message, MsgSnap, NodeId } from '../raft/types.js';
import {
  PEER_PROTOCOL_MAGIC, PEER_PROTOCOL_VERSION, FrameType, RefusalCode, decodeFrame, encodeHelloOk, encodeRefuse,
  encodeSnapshotAck, type Frame, type Hello,
} from './frame-codec.js';
import { FrameReader } from './frame-reader.js';
import type { TransportLimits } from './limits.js';
import type { TransportStats } from './stats.js';
import type { GroupId } from './transport.js';

/**
 * SnapshotBudget bounds the bytes of all snapshots being reassembled at once, across peers
 * (`snapshotReceiveBytesMax`). Invariant: 0 <= inUseBytes <= bytesMax.
 */
export class SnapshotBudget {
  inUseBytes = 0;
  constructor(readonly bytesMax: number) {}
  /** reserve takes `bytes` from the budget, or returns false when they do not fit. */
  reserve(bytes: number): boolean {
    if (this.inUseBytes + bytes > this.bytesMax) return false;
    this.inUseBytes += bytes;
    return true;
  }
  release(bytes: number): void {
    this.inUseBytes -= bytes;
  }
}

/** InboundContext is what every accepted connection of one transport shares. */
export interface InboundContext {
  readonly localId: NodeId;
  readonly clusterId: string;
  readonly limits: TransportLimits;
  readonly logger: Logger;
  readonly stats: TransportStats;
  readonly snapshotBudget: SnapshotBudget;
  /** isRemoved says whether `id` was removed (its connections are refused). */
  isRemoved(id: NodeId): boolean;
  /** onEstablished registers the connection as the current one from its peer. */
  onEstablished(connection: InboundConnection): void;
  /** deliver hands one received message to the host. */
  deliver(from: NodeId, groupId: GroupId, message: Message): void;
}

/** IncomingSnapshot is the one stream open on a connection. */
interface IncomingSnapshot {
  readonly groupId: GroupId;
  readonly message: MsgSnap;
  /** data is undefined when the stream is being discarded (refused for lack of budget). */
  readonly data: Uint8Array | undefined;
  readonly dataBytes: number;
  received: number;
}

/**
 * InboundConnection is one accepted connection: it checks the peer's hello (magic, version,
 * cluster id, target member id, not removed), then delivers the batches and reassembled
 * snapshots the peer sends, answering each snapshot with an ack. A malformed or oversized frame
 * closes the connection with a logged error; other connections are not affected.
 * Invariant: at most one snapshot stream is open per connection, hence per (peer, group).
 */
export class InboundConnection {
  /** peerId is the member on the other end, known once the hello is accepted. */
  peerId: NodeId | undefined;
  private established = false;
  /** refused is set once a refusal is sent: nothing more is read. */
  private refused = false;
  private readonly reader: FrameReader;
  private stream: IncomingSnapshot | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private readonly closed: Promise<void>;
  readonly remoteAddress: string;

  constructor(private readonly socket: Socket, private readonly ctx: InboundContext) {
    this.remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.reader = new FrameReader(ctx.limits.handshakeFrameBytesMax);
    socket.setNoDelay(true);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('close', () => this.onClose());
    socket.on('error', (error) => ctx.logger.debug('peer connection error', { address: this.remoteAddress, error: error.message }));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.handshakeTimer = setTimeout(() => {
      ctx.logger.warn('closing peer connection: no hello', { address: this.remoteAddress, timeoutMs: ctx.limits.handshakeTimeoutMs });
      socket.destroy();
    }, ctx.limits.handshakeTimeoutMs);
  }

  /** refuseAtCapacity refuses a connection over `inboundConnectionsMax` before its hello. */
  refuseAtCapacity(): void {
    this.refuse(RefusalCode.TooManyConnections, `too many peer connections (${this.ctx.limits.inboundConnectionsMax})`, undefined);
  }

  /** close destroys the connection; resolves once it is closed. */
  close(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }

  private onClose(): void {
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    if (this.stream !== undefined) this.ctx.snapshotBudget.release(this.stream.data?.byteLength ?? 0);
    this.stream = undefined;
  }

  private onData(chunk: Buffer): void {
    if (this.socket.destroyed || this.refused) return;
    this.ctx.stats.bytesReceived += chunk.byteLength;
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
      if (!(this.established ? this.onFrame(frame) : this.onHello(frame))) return;
      if (this.socket.destroyed) return;
    }
  }

  private onHello(frame: Frame): boolean {
    if (frame.type !== FrameType.Hello) return this.protocolError(`expected hello, got frame type ${frame.type}`);
    const problem = this.checkHello(frame);
    if (problem !== undefined) {
      this.refuse(problem.code, problem.reason, frame.fromId === 0 ? undefined : frame.fromId);
      return false;
    }
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.peerId = frame.fromId;
    this.established = true;
    this.reader.frameBytesMax = this.ctx.limits.frameBytesMax;
    this.socket.setKeepAlive(true, 1000);
    this.write(encodeHelloOk(this.ctx.localId));
    this.ctx.stats.connectionsAccepted += 1;
    this.ctx.logger.info('accepted peer connection', { peer: frame.fromId, address: this.remoteAddress });
    this.ctx.onEstablished(this);
    return true;
  }

  private checkHello(hello: Hello): { code: RefusalCode; reason: string } | undefined {
    if (hello.magic !== PEER_PROTOCOL_MAGIC) return { code: RefusalCode.BadMagic, reason: `not a Concord peer (magic ${hello.magic.toString(16)})` };
    if (hello.version !== PEER_PROTOCOL_VERSION) {
      return { code: RefusalCode.VersionMismatch, reason: `protocol version mismatch (theirs ${hello.version}, ours ${PEER_PROTOCOL_VERSION})` };
    }
    if (hello.clusterId !== this.ctx.clusterId) {
      return { code: RefusalCode.ClusterIdMismatch, reason: `cluster id mismatch (theirs ${hello.clusterId}, ours ${this.ctx.clusterId})` };
    }
    if (hello.toId !== this.ctx.localId) {
      return { code: RefusalCode.WrongMemberId, reason: `wrong target member id (they want member ${hello.toId}, this is member ${this.ctx.localId})` };
    }
    if (hello.fromId === this.ctx.localId) {
      return { code: RefusalCode.WrongMemberId, reason: `sender claims our own member id ${hello.fromId}` };
    }
    if (this.ctx.isRemoved(hello.fromId)) {
      return { code: RefusalCode.RemovedMember, reason: `member ${hello.fromId} was removed from this cluster` };
    }
    return undefined;
  }

  private refuse(code: RefusalCode, reason: string, peer: NodeId | undefined): void {
    this.refused = true;
    this.ctx.stats.connectionsRefused += 1;
    this.ctx.logger.error('refused peer connection', { peer: peer ?? 'unknown', address: this.remoteAddress, reason });
    this.write(encodeRefuse(code, reason, this.ctx.limits.refusalReasonBytesMax));
    // The peer closes on reading the refusal; the handshake timer destroys the socket otherwise.
    this.socket.end();
  }

  private onFrame(frame: Frame): boolean {
    const peer = this.peerId as NodeId;
    switch (frame.type) {
      case FrameType.Batch: {
        this.ctx.stats.batchFramesReceived += 1;
        this.ctx.stats.messagesReceived += frame.messages.length;
        for (let i = 0; i < frame.messages.length; i++) {
          this.ctx.deliver(peer, frame.groups[i] as GroupId, frame.messages[i] as Message);
          if (this.socket.destroyed) return false;
        }
        return true;
      }
      case FrameType.SnapshotBegin: {
        if (this.stream !== undefined) return this.protocolError(`snapshot for group ${frame.groupId} begun while group ${this.stream.groupId} is open`);
        const fits = this.ctx.snapshotBudget.reserve(frame.dataBytes);
        this.stream = {
          groupId: frame.groupId, message: frame.message, dataBytes: frame.dataBytes, received: 0,
          data: fits ? new Uint8Array(frame.dataBytes) : undefined,
        };
        if (!fits) {
          const reason = `snapshot of ${frame.dataBytes} bytes exceeds the receive budget (${this.ctx.snapshotBudget.inUseBytes} of ${this.ctx.snapshotBudget.bytesMax} bytes in use)`;
          this.ctx.logger.warn('refused incoming snapshot', { peer, group: frame.groupId, reason });
          this.write(encodeSnapshotAck(frame.groupId, frame.message.snapshot.metadata.index, 'failure', reason));
        }
        return true;
      }
      case FrameType.SnapshotChunk: {
        const stream = this.stream;
        if (stream === undefined || stream.groupId !== frame.groupId) return this.protocolError(`snapshot chunk for group ${frame.groupId} without an open stream`);
        if (stream.received + frame.data.byteLength > stream.dataBytes) {
          return this.protocolError(`snapshot chunk overruns the declared ${stream.dataBytes} bytes`);
        }
        stream.data?.set(frame.data, stream.received);
        stream.received += frame.data.byteLength;
        return true;
      }
      case FrameType.SnapshotEnd: {
        const stream = this.stream;
        if (stream === undefined || stream.groupId !== frame.groupId) return this.protocolError(`snapshot end for group ${frame.groupId} without an open stream`);
        if (!frame.aborted && stream.received !== stream.dataBytes) {
          return this.protocolError(`snapshot ended after ${stream.received} of ${stream.dataBytes} bytes`);
        }
        this.stream = undefined;
        this.ctx.snapshotBudget.release(stream.data?.byteLength ?? 0);
        if (frame.aborted || stream.data === undefined) return true;
        const message: MsgSnap = { ...stream.message, snapshot: { metadata: stream.message.snapshot.metadata, data: stream.data } };
        this.ctx.stats.snapshotsReceived += 1;
        this.ctx.logger.info('snapshot received', { peer, group: stream.groupId, index: message.snapshot.metadata.index, bytes: stream.dataBytes });
        this.ctx.deliver(peer, stream.groupId, message);
        this.write(encodeSnapshotAck(stream.groupId, message.snapshot.metadata.index, 'finished', ''));
        return !this.socket.destroyed;
      }
      default:
        return this.protocolError(`unexpected frame type ${frame.type} on an inbound connection`);
    }
  }

  private protocolError(reason: string): false {
    this.ctx.stats.protocolErrors += 1;
    this.ctx.logger.error('closing peer connection: protocol error', { peer: this.peerId ?? 'unknown', address: this.remoteAddress, reason });
    this.socket.destroy();
    return false;
  }

  private write(bytes: Uint8Array): void {
    if (!this.socket.writable) return;
    this.socket.write(bytes);
    this.ctx.stats.bytesSent += bytes.byteLength;
  }
}
