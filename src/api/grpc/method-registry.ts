import { assert } from '../../lib/assert.js';
import { DurationHistogram } from '../../lib/duration-histogram.js';
import type {
  BidiHandler,
  ClientStreamHandler,
  MethodBinding,
  MethodDef,
  ServerStreamHandler,
  UnaryHandler,
} from './method.js';
import { grpcStatusCount } from './status.js';

/**
 * MethodStats are the per-method counters of the gRPC server, plain numbers bumped on the hot
 * path and read by the metrics collector at scrape time (etcd's go-grpc-prometheus series).
 */
export class MethodStats {
  started = 0;
  /** handled[code] counts finished calls by final status code. */
  readonly handled: number[] = new Array<number>(grpcStatusCount).fill(0);
  messagesReceived = 0;
  messagesSent = 0;
  /** handling: how long finished calls took, stream open to status (bounds: handlingBucketBounds). */
  readonly handling = new DurationHistogram(handlingBucketBounds);

  /**
   * handlingBuckets[i] counts finished calls that took at most handlingBucketBounds[i] seconds
   * and more than the bound before it (the last slot: more than every bound); not cumulative.
   */
  get handlingBuckets(): readonly number[] {
    return this.handling.counts;
  }

  get handlingSecondsSum(): number {
    return this.handling.sumSeconds;
  }

  /** observeHandling records one finished call that took `seconds` (stream open to status). */
  observeHandling(seconds: number): void {
    this.handling.observe(seconds);
  }
}

/**
 * handlingBucketBounds are the upper bounds (seconds) of `grpc_server_handling_seconds`: finer
 * than go-grpc-prometheus's defaults (5 ms to 10 s) because Concord's calls take 0.1–50 ms, and
 * a p99 between 20 and 50 ms should be readable from the series.
 */
export const handlingBucketBounds: readonly number[] = [
  0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075,
  0.1, 0.2, 0.5, 1, 2, 5, 10,
];

/** RegisteredMethod is one entry of a MethodRegistry: the binding and its counters. */
export interface RegisteredMethod {
  readonly binding: MethodBinding;
  readonly stats: MethodStats;
}

/**
 * MethodRegistry maps gRPC paths to handlers. The etcd service layer fills it once at startup;
 * the gRPC server and the JSON gateway both dispatch through it, so each handler is written
 * once. Registering a path twice, or a def whose kind does not match the registration call, is
 * a programmer error.
 */
export class MethodRegistry {
  private readonly methods = new Map<string, RegisteredMethod>();

  unary<Req, Res>(def: MethodDef<Req, Res>, handler: UnaryHandler<Req, Res>): MethodBinding<Req, Res> {
    return this.add({ kind: 'unary', def, handler });
  }

  serverStream<Req, Res>(def: MethodDef<Req, Res>, handler: ServerStreamHandler<Req, Res>): MethodBinding<Req, Res> {
    return this.add({ kind: 'server-stream', def, handler });
  }

  clientStream<Req, Res>(def: MethodDef<Req, Res>, handler: ClientStreamHandler<Req, Res>): MethodBinding<Req, Res> {
    return this.add({ kind: 'client-stream', def, handler });
  }

  bidi<Req, Res>(def: MethodDef<Req, Res>, handler: BidiHandler<Req, Res>): MethodBinding<Req, Res> {
    return this.add({ kind: 'bidi', def, handler });
  }

  /** add registers a binding; its kind must equal its def's kind. */
  add<Req, Res>(binding: MethodBinding<Req, Res>): MethodBinding<Req, Res> {
    assert(binding.kind === binding.def.kind, () => `method ${binding.def.path}: registered as ${binding.kind}, defined as ${binding.def.kind}`);
    assert(binding.def.path.startsWith('/') && binding.def.path.indexOf('/', 1) > 1, () => `bad gRPC method path ${binding.def.path}`);
    assert(!this.methods.has(binding.def.path), () => `method ${binding.def.path} registered twice`);
    this.methods.set(binding.def.path, { binding, stats: new MethodStats() });
    return binding;
  }

  /** lookup returns the method registered at `path`, if any. */
  lookup(path: string): RegisteredMethod | undefined {
    return this.methods.get(path);
  }

  /** entries lists every registered method with its path (for metrics and docs). */
  entries(): IterableIterator<[string, RegisteredMethod]> {
    return this.methods.entries();
  }
}
