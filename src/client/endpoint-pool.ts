/**
 * EndpointPool owns one GrpcChannel per endpoint, tracks which endpoint is the Raft leader, and
 * runs every call with the client's retry policy:
 *
 * - writes go to the leader's endpoint when known (one hop fewer than a follower forwarding),
 *   reads stay on one "current" endpoint (any member serves them);
 * - a connection error before the request was sent moves to the next endpoint and retries;
 * - `Unavailable` answers that etcd guarantees were not applied (no leader, leader changed,
 *   request dropped, too many requests) are retried after a refresh of the leader, with bounded
 *   exponential backoff and jitter;
 * - reads are also retried after timeouts and lost connections (they change nothing);
 * - a write whose outcome is unknown (sent, then timeout or connection lost, or the server said
 *   "request timed out") is never retried: it fails with CONCORD_CLIENT_OUTCOME_UNKNOWN.
 *
 * Leader tracking: Maintenance/Status on every endpoint gives each endpoint's own member id
 * (header.member_id) and the leader's id; together they map the leader id to an endpoint.
 */
import { METHODS, type MethodDescriptor } from '../api/codec/index.js';
import { backoffDelayMs, sleep } from './backoff.js';
import { ClientErrorCode, ConcordClientError, GRPC_STATUS, isNotAppliedUnavailable } from './errors.js';
import { CallFailure, GrpcChannel, type Metadata, type RawCall } from './grpc-channel.js';

/**
 * CallKind decides routing and the retry policy: a `read` (any endpoint) and an `idempotent`
 * write (the leader's endpoint; applying it twice equals applying it once, like Lock with the
 * same lease) may always be retried; a `write` only when it certainly was not applied.
 */
export type CallKind = 'read' | 'idempotent' | 'write';

/** PoolOptions configure the pool (see ConcordOptions). */
export interface PoolOptions {
  readonly endpoints: readonly string[];
  readonly dialTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** attemptsMax bounds the attempts of one call (on top of the request timeout). */
  readonly attemptsMax: number;
}

/** UnaryOptions are the per-call options of `unary`. */
export interface UnaryOptions {
  readonly metadata?: Metadata;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  /** endpointIndex pins the call to one endpoint (no failover). */
  readonly endpointIndex?: number;
}

/** LEADER_REFRESH_MS is how old the leader information may get before a write refreshes it in the background. */
const LEADER_REFRESH_MS = 10_000;

export class EndpointPool {
  readonly channels: readonly GrpcChannel[];
  private current = 0;
  private leaderIndex: number | undefined;
  private leaderCheckedAt = 0;
  private refreshing: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: PoolOptions) {
    if (options.endpoints.length === 0) throw new ConcordClientError(ClientErrorCode.InvalidArgument, 'at least one endpoint is required');
    this.channels = options.endpoints.map((e) => new GrpcChannel(normalizeEndpoint(e), options.dialTimeoutMs));
  }

  get requestTimeoutMs(): number {
    return this.options.requestTimeoutMs;
  }

  /** leaderEndpoint is the endpoint believed to be the leader's, if known. */
  get leaderEndpoint(): string | undefined {
    return this.leaderIndex === undefined ? undefined : this.channels[this.leaderIndex]!.endpoint;
  }

  close(): void {
    this.closed = true;
    for (const c of this.channels) c.close();
  }

  /** pick chooses the endpoint for an attempt. */
  pick(kind: CallKind): number {
    if (kind !== 'read' && this.leaderIndex !== undefined) return this.leaderIndex;
    return this.current;
  }

  /** markFailed moves reads (and writes, if it was the leader's) away from a failed endpoint. */
  markFailed(index: number): void {
    if (this.current === index) this.current = (index + 1) % this.channels.length;
    if (this.leaderIndex === index) this.leaderIndex = undefined;
  }

  /** unary runs a unary call with the retry policy of `kind`; resolves with the decoded response. */
  async unary<Req, Res>(method: MethodDescriptor<Req, Res>, request: Req, kind: CallKind, options: UnaryOptions = {}): Promise<Res> {
    const frame = method.request.encodeFrame(request);
    const bytes = await this.withRetries(kind, options, async (channel, timeoutMs) => {
      const call = await channel.open(method.path, callOptions(options, timeoutMs), true, frame);
      const first = await call.next();
      if (first === undefined) throw new ConcordClientError(ClientErrorCode.Protocol, `${method.path}: no response message`, { endpoint: channel.endpoint });
      while ((await call.next()) !== undefined) { /* a unary call has one message; wait for the status */ }
      return first;
    });
    return method.response.decode(bytes);
  }

  /**
   * openStream opens a streaming call on one endpoint, failing over between endpoints only while
   * connecting (nothing was sent yet). Later failures are the stream owner's to handle.
   */
  async openStream(path: string, options: UnaryOptions, firstFrame?: Uint8Array, endStream = false, kind: CallKind = 'read'): Promise<RawCall> {
    return this.withRetries(kind, options, async (channel) => channel.open(path, callOptions(options, undefined), endStream, firstFrame));
  }

  /** withRetries runs `attempt` against endpoints until it succeeds or the policy gives up. */
  async withRetries<T>(kind: CallKind, options: UnaryOptions, attempt: (channel: GrpcChannel, timeoutMs: number) => Promise<T>): Promise<T> {
    const deadline = Date.now() + (options.timeoutMs ?? this.options.requestTimeoutMs);
    let lastError: ConcordClientError | undefined;
    let failuresInRow = 0;
    for (let n = 0; n < this.options.attemptsMax; n++) {
      if (this.closed) throw new ConcordClientError(ClientErrorCode.Closed, 'client closed');
      if (options.signal?.aborted) throw new ConcordClientError(ClientErrorCode.Aborted, 'aborted', { cause: options.signal.reason });
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) break;
      if (kind !== 'read' && Date.now() - this.leaderCheckedAt > LEADER_REFRESH_MS) void this.refreshLeader();
      const index = options.endpointIndex ?? this.pick(kind);
      const channel = this.channels[index]!;
      // A read gives each endpoint a share of the time, so one stuck member cannot use it all.
      const attemptMs = kind === 'read' ? Math.min(remainingMs, Math.max(1_000, this.options.requestTimeoutMs / 3)) : remainingMs;
      try {
        return await attempt(channel, attemptMs);
      } catch (error) {
        const e = error instanceof ConcordClientError ? error
          : new ConcordClientError(ClientErrorCode.Protocol, String(error), { endpoint: channel.endpoint, cause: error });
        lastError = e;
        const decision = classify(e, kind);
        if (decision === 'fail') throw e;
        if (decision === 'unknown') {
          this.markFailed(index);
          throw new ConcordClientError(ClientErrorCode.OutcomeUnknown,
            `the write may or may not have been applied (${e.message}); it was not retried`, { endpoint: channel.endpoint, cause: e, ...(e.grpcCode === undefined ? {} : { grpcCode: e.grpcCode }) });
        }
        if (options.endpointIndex !== undefined) throw e;
        if (decision === 'next-endpoint') {
          this.markFailed(index);
          failuresInRow++;
          // Try every endpoint once at once, then back off.
          if (failuresInRow % this.channels.length !== 0) continue;
        } else {
          // No leader / leader changed: find the leader again.
          this.leaderIndex = undefined;
          void this.refreshLeader();
        }
        await sleep(Math.min(backoffDelayMs(n), Math.max(0, deadline - Date.now())), options.signal);
      }
    }
    if (lastError?.code === ClientErrorCode.NoLeader) throw lastError;
    if (lastError instanceof CallFailure && !lastError.sent) {
      throw new ConcordClientError(ClientErrorCode.Unavailable, `no endpoint reachable: ${lastError.message}`, { cause: lastError });
    }
    throw new ConcordClientError(ClientErrorCode.Timeout, `request did not complete within ${options.timeoutMs ?? this.options.requestTimeoutMs} ms${lastError ? `: ${lastError.message}` : ''}`, lastError ? { cause: lastError } : {});
  }

  /**
   * refreshLeader asks every endpoint's Status for its own member id and the leader id, and
   * points writes at the leader's endpoint. Concurrent callers share one refresh.
   */
  refreshLeader(): Promise<void> {
    this.refreshing ??= this.doRefreshLeader().finally(() => { this.refreshing = undefined; });
    return this.refreshing;
  }

  private async doRefreshLeader(): Promise<void> {
    const method = METHODS['/etcdserverpb.Maintenance/Status'];
    const results = await Promise.all(this.channels.map(async (channel, index) => {
      try {
        const call = await channel.open(method.path, { timeoutMs: 1_000 }, true, method.request.encodeFrame({}));
        const bytes = await call.next();
        while (bytes && (await call.next()) !== undefined) { /* drain */ }
        if (!bytes) return undefined;
        const s = method.response.decode(bytes);
        return { index, memberId: s.header?.memberId ?? 0n, leader: s.leader };
      } catch {
        return undefined;
      }
    }));
    this.leaderCheckedAt = Date.now();
    const answered = results.filter((r) => r !== undefined);
    // Trust the highest term's view: take the leader id most members report.
    const votes = new Map<bigint, number>();
    for (const r of answered) if (r.leader !== 0n) votes.set(r.leader, (votes.get(r.leader) ?? 0) + 1);
    const leaderId = [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    const leader = answered.find((r) => r.memberId === leaderId);
    this.leaderIndex = leader?.index;
    if (!answered.some((r) => r.index === this.current) && answered[0]) this.current = answered[0].index;
  }
}

type Decision = 'fail' | 'unknown' | 'next-endpoint' | 'backoff';

/** classify applies the retry policy to one failed attempt. */
function classify(e: ConcordClientError, callKind: CallKind): Decision {
  const kind = callKind === 'write' ? 'write' : 'read';
  if (e.code === ClientErrorCode.Aborted || e.code === ClientErrorCode.Closed) return 'fail';
  if (e instanceof CallFailure) {
    if (!e.sent) return 'next-endpoint';
    return kind === 'read' ? 'next-endpoint' : 'unknown';
  }
  if (e.grpcCode === GRPC_STATUS.UNAVAILABLE) {
    if (isNotAppliedUnavailable(e.message)) return 'backoff';
    return kind === 'read' ? 'next-endpoint' : 'unknown';
  }
  if (e.grpcCode === GRPC_STATUS.DEADLINE_EXCEEDED) return kind === 'read' ? 'next-endpoint' : 'unknown';
  if (e.code === ClientErrorCode.Protocol) return kind === 'read' ? 'next-endpoint' : 'unknown';
  return 'fail';
}

function callOptions(options: UnaryOptions, timeoutMs: number | undefined): { timeoutMs?: number; metadata?: Metadata; signal?: AbortSignal } {
  return {
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
}

/** normalizeEndpoint accepts `host:port`, `http://host:port` (https is not supported yet). */
export function normalizeEndpoint(endpoint: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(endpoint) ? endpoint : `http://${endpoint}`;
  const url = new URL(withScheme);
  if (url.protocol !== 'http:') {
    throw new ConcordClientError(ClientErrorCode.InvalidArgument, `endpoint ${endpoint}: only http:// (cleartext HTTP/2) is supported`);
  }
  return `http://${url.host}`;
}
