import { GrpcError, GrpcStatus } from './status.js';

/** messagePrefixBytes is the length of a gRPC message prefix: 1 flag byte, 4 length bytes (BE). */
export const messagePrefixBytes = 5;

/** MessageSink receives whole messages from a MessageDeframer, in order. */
export interface MessageSink {
  /** onMessage gets one message; `bytes` may be a view of the network chunk (copy to keep). */
  onMessage(compressed: boolean, bytes: Uint8Array): void;
}

/**
 * MessageDeframer splits the request body of one gRPC stream into length-prefixed messages.
 * Whole messages inside one network chunk are passed on as views without copying; only a message
 * split across chunks is assembled in a buffer of its declared size, which is checked against
 * `messageBytesMax` before anything is allocated. Owned by one call; not reusable after an error.
 */
export class MessageDeframer {
  private prefix: Buffer | undefined;
  private prefixFill = 0;
  private body: Buffer | undefined;
  private bodyFill = 0;
  private compressed = false;

  constructor(private readonly messageBytesMax: number) {}

  /** midMessage is true while a message has started but not completed (truncated if the body ends). */
  get midMessage(): boolean {
    return this.prefixFill > 0 || this.body !== undefined;
  }

  /**
   * push consumes one chunk, calling `sink.onMessage` for each completed message. Returns a
   * GrpcError (and stops) on a bad flag byte or an oversized message, otherwise undefined.
   */
  push(chunk: Buffer, sink: MessageSink): GrpcError | undefined {
    let offset = 0;
    const length = chunk.length;
    while (offset < length) {
      if (this.body !== undefined) {
        const take = Math.min(this.body.length - this.bodyFill, length - offset);
        chunk.copy(this.body, this.bodyFill, offset, offset + take);
        this.bodyFill += take;
        offset += take;
        if (this.bodyFill === this.body.length) {
          const body = this.body;
          this.body = undefined;
          this.bodyFill = 0;
          sink.onMessage(this.compressed, body);
        }
        continue;
      }
      let flag: number;
      let messageBytes: number;
      if (this.prefixFill === 0 && length - offset >= messagePrefixBytes) {
        flag = chunk[offset]!;
        messageBytes = chunk.readUInt32BE(offset + 1);
        offset += messagePrefixBytes;
      } else {
        const prefix = (this.prefix ??= Buffer.allocUnsafe(messagePrefixBytes));
        const take = Math.min(messagePrefixBytes - this.prefixFill, length - offset);
        chunk.copy(prefix, this.prefixFill, offset, offset + take);
        this.prefixFill += take;
        offset += take;
        if (this.prefixFill < messagePrefixBytes) break;
        this.prefixFill = 0;
        flag = prefix[0]!;
        messageBytes = prefix.readUInt32BE(1);
      }
      if (flag > 1) {
        return new GrpcError(GrpcStatus.INTERNAL, `grpc: received unexpected payload format ${flag}`);
      }
      if (messageBytes > this.messageBytesMax) {
        return new GrpcError(
          GrpcStatus.RESOURCE_EXHAUSTED,
          `grpc: received message larger than max (${messageBytes} vs. ${this.messageBytesMax})`,
        );
      }
      this.compressed = flag === 1;
      if (length - offset >= messageBytes) {
        const bytes = chunk.subarray(offset, offset + messageBytes);
        offset += messageBytes;
        sink.onMessage(this.compressed, bytes);
      } else {
        this.body = Buffer.allocUnsafe(messageBytes);
        this.bodyFill = 0;
      }
    }
    return undefined;
  }
}

/**
 * frameMessage returns `message` with its 5-byte prefix (flag 0, identity encoding) in one
 * buffer; small buffers come from node's shared pool.
 */
export function frameMessage(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(messagePrefixBytes + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, messagePrefixBytes);
  return frame;
}
