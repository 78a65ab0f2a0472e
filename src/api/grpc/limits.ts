import { assert } from '../../lib/assert.js';

/**
 * ServingLimits are the bounds of the client-port server (gRPC and the HTTP side). Every queue
 * and buffer of the serving layer is bounded by one of these; overflow ends the call with a
 * status (RESOURCE_EXHAUSTED) or refuses the stream, never grows memory.
 */
export interface ServingLimits {
  /** requestBytesMax is etcd's `--max-request-bytes` (1.5 MiB): the etcd layer's own check. */
  readonly requestBytesMax: number;
  /**
   * receiveMessageBytesMax bounds one received gRPC message (after decompression) and one
   * gateway request body: requestBytesMax plus etcd's 512 KiB gRPC overhead, as etcd configures
   * grpc-go's MaxRecvMsgSize. Larger messages end the call with RESOURCE_EXHAUSTED.
   */
  readonly receiveMessageBytesMax: number;
  /** sendMessageBytesMax bounds one sent message (etcd: math.MaxInt32; here 2 GiB − 1). */
  readonly sendMessageBytesMax: number;
  /** concurrentStreamsMax is the HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per connection. */
  readonly concurrentStreamsMax: number;
  /** connectionsMax bounds open client connections (HTTP/1.1 and HTTP/2 together). */
  readonly connectionsMax: number;
  /**
   * requestQueueMessagesMax bounds decoded-but-unconsumed messages of one client/bidi stream;
   * at the bound the stream stops reading (HTTP/2 flow control pushes back on the client).
   */
  readonly requestQueueMessagesMax: number;
  /** sessionIdleMs closes (GOAWAY) a connection with no open stream after this long; 0: never. */
  readonly sessionIdleMs: number;
  /** keepaliveIntervalMs: the server PINGs each connection this often (etcd: 2 h); 0: never. */
  readonly keepaliveIntervalMs: number;
  /** keepaliveTimeoutMs: a connection whose PING is not acknowledged in time is closed (20 s). */
  readonly keepaliveTimeoutMs: number;
  /** sessionMemoryMbMax is node:http2's maxSessionMemory (MB) per connection. */
  readonly sessionMemoryMbMax: number;
  /** streamWindowBytes is the HTTP/2 initial stream flow-control window we advertise. */
  readonly streamWindowBytes: number;
  /** connectionWindowBytes is the HTTP/2 connection-level receive window we advertise. */
  readonly connectionWindowBytes: number;
  /** headerListBytesMax bounds the request header block (SETTINGS_MAX_HEADER_LIST_SIZE). */
  readonly headerListBytesMax: number;
}

/** grpcOverheadBytes is etcd's allowance above --max-request-bytes for the gRPC receive limit. */
export const grpcOverheadBytes = 512 * 1024;

/** defaultServingLimits are etcd's defaults where etcd has one. */
export const defaultServingLimits: ServingLimits = {
  requestBytesMax: 1.5 * 1024 * 1024,
  receiveMessageBytesMax: 1.5 * 1024 * 1024 + grpcOverheadBytes,
  sendMessageBytesMax: 2 ** 31 - 1,
  concurrentStreamsMax: 4096,
  connectionsMax: 10_000,
  requestQueueMessagesMax: 64,
  sessionIdleMs: 5 * 60_000,
  keepaliveIntervalMs: 2 * 60 * 60_000,
  keepaliveTimeoutMs: 20_000,
  sessionMemoryMbMax: 64,
  streamWindowBytes: 1024 * 1024,
  connectionWindowBytes: 16 * 1024 * 1024,
  headerListBytesMax: 64 * 1024,
};

/** resolveServingLimits fills unset limits from the defaults and asserts their relationships. */
export function resolveServingLimits(partial: Partial<ServingLimits> = {}): ServingLimits {
  const limits: ServingLimits = { ...defaultServingLimits, ...partial };
  assert(limits.requestBytesMax > 0, 'requestBytesMax must be positive');
  assert(limits.receiveMessageBytesMax >= limits.requestBytesMax, 'receiveMessageBytesMax must be >= requestBytesMax');
  assert(limits.receiveMessageBytesMax <= 2 ** 32 - 1, 'receiveMessageBytesMax must fit the 4-byte length prefix');
  assert(limits.concurrentStreamsMax >= 1 && limits.concurrentStreamsMax <= 2 ** 31 - 1, 'concurrentStreamsMax out of range');
  assert(limits.requestQueueMessagesMax >= 1, 'requestQueueMessagesMax must be >= 1');
  assert(limits.keepaliveIntervalMs === 0 || limits.keepaliveTimeoutMs > 0, 'keepalive needs a timeout');
  assert(limits.streamWindowBytes >= 65_535 && limits.streamWindowBytes <= 2 ** 31 - 1, 'streamWindowBytes out of range');
  assert(limits.connectionWindowBytes >= limits.streamWindowBytes, 'connectionWindowBytes must be >= streamWindowBytes');
  return limits;
}
