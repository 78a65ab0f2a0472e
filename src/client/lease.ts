/**
 * Lease: a granted lease kept alive automatically over a LeaseKeepAlive stream (one request
 * every TTL/3), with a `lost` signal. The lease counts as lost when a keep-alive answers TTL 0
 * (expired or revoked), or when the local deadline passes without a renewal: the deadline is
 * the send time of the last answered keep-alive (or grant) plus the TTL it returned. The server
 * never expires a lease before that instant (it computes expiry from the apply time, which is
 * later), so a holder that stops acting when `lost` fires never overlaps a successor, given
 * clocks that advance at the same rate.
 */
import { METHODS } from '../api/codec/index.js';
import { backoffDelayMs, sleep } from './backoff.js';
import { ClientErrorCode, ConcordClientError } from './errors.js';
import type { EndpointPool } from './endpoint-pool.js';
import type { RawCall } from './grpc-channel.js';
import { revisionOf } from './types.js';

const KEEP_ALIVE = METHODS['/etcdserverpb.Lease/LeaseKeepAlive'];
const GRANT = METHODS['/etcdserverpb.Lease/LeaseGrant'];
const REVOKE = METHODS['/etcdserverpb.Lease/LeaseRevoke'];
const TTL = METHODS['/etcdserverpb.Lease/LeaseTimeToLive'];

/** LeaseOptions: `keepAlive: false` grants a lease that simply expires. */
export interface LeaseOptions {
  readonly keepAlive?: boolean;
}

/** Lease is a granted lease. Attach keys with `put(key, value, { lease: lease.id })`. */
export class Lease {
  /** id is the lease id (64-bit, hence bigint). */
  readonly id: bigint;
  /** ttlSeconds is the TTL the server granted (it may raise a small request to its minimum). */
  readonly ttlSeconds: number;
  /** lost aborts when the lease is lost or revoked; `lost.reason` is a ConcordClientError (CONCORD_CLIENT_LEASE_LOST). */
  readonly lost: AbortSignal;
  private readonly controller = new AbortController();
  private readonly lostPromise: Promise<ConcordClientError>;
  private deadlineMs: number;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private stream: RawCall | undefined;
  private stopped = false;

  private constructor(private readonly pool: EndpointPool, id: bigint, ttlSeconds: number, grantSentAtMs: number) {
    this.id = id;
    this.ttlSeconds = ttlSeconds;
    this.lost = this.controller.signal;
    this.lostPromise = new Promise((resolve) => this.lost.addEventListener('abort', () => resolve(this.lost.reason as ConcordClientError), { once: true }));
    this.deadlineMs = grantSentAtMs + ttlSeconds * 1000;
    this.armDeadline();
  }

  /** grant asks for a lease of `ttlSeconds` and starts keeping it alive (unless `keepAlive: false`). */
  static async grant(pool: EndpointPool, ttlSeconds: number, options: LeaseOptions = {}): Promise<Lease> {
    if (!(ttlSeconds > 0)) throw new ConcordClientError(ClientErrorCode.InvalidArgument, `lease TTL must be positive, got ${ttlSeconds}`);
    const sentAt = Date.now();
    const r = await pool.unary(GRANT, { TTL: BigInt(Math.ceil(ttlSeconds)), ID: 0n }, 'write');
    if (r.error) throw new ConcordClientError(ClientErrorCode.Server, r.error);
    const lease = new Lease(pool, r.ID, revisionOf(r.TTL), sentAt);
    if (options.keepAlive !== false) void lease.keepAliveLoop();
    return lease;
  }

  /** whenLost resolves (with the reason) once the lease is lost. */
  whenLost(): Promise<ConcordClientError> {
    return this.lostPromise;
  }

  /** onLost calls `listener` once when the lease is lost (at once if it already is). */
  onLost(listener: (reason: ConcordClientError) => void): void {
    void this.lostPromise.then(listener);
  }

  /** expiresAtMs is the local time (Date.now() clock) by which the lease may have expired unless renewed. */
  get expiresAtMs(): number {
    return this.deadlineMs;
  }

  /** timeToLive asks the server for the remaining TTL in seconds (-1: the lease does not exist). */
  async timeToLive(): Promise<{ ttlSeconds: number; grantedTtlSeconds: number; keys: Uint8Array[] }> {
    const r = await this.pool.unary(TTL, { ID: this.id, keys: true }, 'read');
    return { ttlSeconds: Number(r.TTL), grantedTtlSeconds: Number(r.grantedTTL), keys: r.keys.map((k) => k.slice()) };
  }

  /** revoke stops the keep-alive and revokes the lease, deleting its keys. `lost` fires (reason: revoked). */
  async revoke(): Promise<void> {
    this.stop(new ConcordClientError(ClientErrorCode.LeaseLost, `lease ${this.id.toString(16)} revoked`));
    try {
      await this.pool.unary(REVOKE, { ID: this.id }, 'write');
    } catch (error) {
      if (error instanceof ConcordClientError && error.code === ClientErrorCode.LeaseNotFound) return;
      throw error;
    }
  }

  /** release stops keeping the lease alive without revoking it (it expires after its TTL). */
  release(): void {
    this.stop(new ConcordClientError(ClientErrorCode.LeaseLost, `lease ${this.id.toString(16)} released by its holder`));
  }

  private stop(reason: ConcordClientError): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.deadlineTimer);
    this.stream?.cancel();
    if (!this.lost.aborted) this.controller.abort(reason);
  }

  private markLost(why: string): void {
    this.stop(new ConcordClientError(ClientErrorCode.LeaseLost, `lease ${this.id.toString(16)} lost: ${why}`));
  }

  private armDeadline(): void {
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(() => {
      if (Date.now() >= this.deadlineMs) this.markLost('not renewed before it could expire');
      else this.armDeadline();
    }, Math.max(0, this.deadlineMs - Date.now()));
  }

  /**
   * keepAliveLoop sends one keep-alive every TTL/3 on a stream; an unanswered keep-alive (one
   * interval) or a failed stream moves to another endpoint. It ends when the lease is lost.
   */
  private async keepAliveLoop(): Promise<void> {
    const intervalMs = Math.max(100, (this.ttlSeconds * 1000) / 3);
    let failures = 0;
    while (!this.stopped) {
      let call: RawCall | undefined;
      try {
        call = await this.pool.openStream(KEEP_ALIVE.path, { signal: this.lost }, undefined, false, 'idempotent');
        this.stream = call;
        for (;;) {
          if (this.stopped) return;
          const sentAt = Date.now();
          call.write(KEEP_ALIVE.request.encodeFrame({ ID: this.id }));
          const bytes = await withTimeout(call.next(), intervalMs);
          if (bytes === 'timeout') throw new ConcordClientError(ClientErrorCode.Timeout, `keep-alive unanswered for ${intervalMs} ms`, { endpoint: call.endpoint });
          if (bytes === undefined) throw new ConcordClientError(ClientErrorCode.Unavailable, 'keep-alive stream ended', { endpoint: call.endpoint });
          const r = KEEP_ALIVE.response.decode(bytes);
          if (r.TTL <= 0n) {
            // A member that has not applied the grant yet also answers TTL 0: confirm with a
            // linearizable TimeToLive before giving the lease up.
            const confirmed = await this.pool.unary(TTL, { ID: this.id, keys: false }, 'read').catch(() => undefined);
            if (!confirmed || confirmed.TTL <= 0n) {
              this.markLost('the server says it expired');
              return;
            }
            await sleep(100, this.lost);
            continue;
          }
          if (Date.now() >= this.deadlineMs) {
            // Too late: the holder may already have been told (or should assume) it lost the lease.
            this.markLost('renewed only after it could have expired');
            return;
          }
          failures = 0;
          this.deadlineMs = Math.max(this.deadlineMs, sentAt + Number(r.TTL) * 1000);
          this.armDeadline();
          await sleep(Math.max(0, sentAt + intervalMs - Date.now()), this.lost);
        }
      } catch (error) {
        if (this.stopped) return;
        if (error instanceof ConcordClientError && error.code === ClientErrorCode.Closed) {
          this.markLost('client closed');
          return;
        }
        failures++;
        if (call) this.pool.markFailed(this.pool.channels.findIndex((c) => c.endpoint === call!.endpoint));
        await sleep(backoffDelayMs(failures, 50, 500), this.lost);
      } finally {
        call?.cancel();
      }
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), ms); }),
  ]).finally(() => clearTimeout(timer));
}
