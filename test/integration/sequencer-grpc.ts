import * as grpc from '@grpc/grpc-js';
import {
  codecFor, METHODS, type MessageTypeName, type MessageTypes, type MethodPath, type RequestOf, type ResponseOf,
} from '../../src/api/codec/index.js';

/**
 * A minimal gRPC unary caller for the sequencer and session tests: @grpc/grpc-js for HTTP/2 and
 * the project's own codecs (src/api/codec) for the messages, so the test speaks exactly the wire
 * contract of docs/sequencer.md and docs/sessions.md without the TypeScript client.
 */
export class UnaryCaller {
  private readonly client: grpc.Client;

  constructor(readonly target: string) {
    // Each caller gets its own connection (grpc-js shares one per target otherwise), so N callers
    // are N clients, and a cut connection ends only its own caller's request.
    this.client = new grpc.Client(target, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.enable_retries': 0,
      'grpc.initial_reconnect_backoff_ms': 50,
      'grpc.max_reconnect_backoff_ms': 200,
    });
  }

  /** call sends one request with `metadata` (string values) and resolves with the response. */
  call<P extends MethodPath>(path: P, request: RequestOf<P>, metadata: Record<string, string> = {}, timeoutMs = 5_000): Promise<ResponseOf<P>> {
    const d = METHODS[path];
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(metadata)) md.set(k, v);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest<RequestOf<P>, ResponseOf<P>>(
        path,
        (m) => Buffer.from(d.request.encode(m as never)),
        (bytes) => d.response.decode(bytes) as ResponseOf<P>,
        request,
        md,
        { deadline: Date.now() + timeoutMs },
        (error, response) => (error ? reject(error) : resolve(response!)),
      );
    });
  }

  close(): void {
    this.client.close();
  }
}

/** isGrpcError tells a gRPC status error (with `code`) from anything else. */
export function grpcCodeOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'number' ? error.code : undefined;
}

/** nextRequest builds a concord.v1.NextRequest. */
export function nextRequest(name: string, count: number): RequestOf<'/concord.v1.Sequencer/Next'> {
  return { name, count };
}

/** blank returns a message of `typeName` with every field at its default (decoded from no bytes). */
export function blank<T extends MessageTypeName>(typeName: T): MessageTypes[T] {
  return codecFor(typeName).decode(new Uint8Array(0)) as MessageTypes[T];
}

/** grantLease grants a lease of `ttlSeconds` and returns its id. */
export async function grantLease(caller: UnaryCaller, ttlSeconds: number): Promise<bigint> {
  const r = await caller.call('/etcdserverpb.Lease/LeaseGrant', { TTL: BigInt(ttlSeconds), ID: 0n });
  return r.ID;
}

/** sessionMetadata is the exactly-once metadata of one request (docs/sessions.md). */
export function sessionMetadata(clientId: string, lease: bigint, seq: number, ack: number): Record<string, string> {
  return {
    'x-concord-session': clientId,
    'x-concord-session-lease': lease.toString(),
    'x-concord-seq': String(seq),
    'x-concord-ack': String(ack),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * retrying runs `attempt` against `targets` in turn until it succeeds or `timeoutMs` passes,
 * retrying only UNAVAILABLE, DEADLINE_EXCEEDED and CANCELLED. Use it only for calls that are
 * safe to repeat (reads, lease grants, or calls made exactly-once by session metadata).
 */
export async function retrying<T>(targets: readonly string[], timeoutMs: number, attempt: (caller: UnaryCaller) => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    const caller = new UnaryCaller(targets[i % targets.length]!);
    try {
      return await attempt(caller);
    } catch (error) {
      const code = grpcCodeOf(error);
      if ((code !== 14 && code !== 4 && code !== 1) || Date.now() > deadline) throw error;
      await sleep(100);
    } finally {
      caller.close();
    }
  }
}
