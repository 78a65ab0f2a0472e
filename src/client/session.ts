/**
 * Session: exactly-once writes (docs/client.md, "Exactly-once writes with a session"; the wire
 * contract is docs/sessions.md). A session is a lease kept alive by the client, a fresh random
 * client id, and a SeqWindow numbering its writes. Every write (put, delete, write txn, compact,
 * sequencer next) carries `x-concord-session`, `-session-lease`, `-seq` and `-ack`; the state
 * machine records each seq's result, so a write whose outcome is unknown (connection lost, timeout,
 * leader change) is simply sent again, same request and same seq, to any member, until it is
 * answered: from the record if the first attempt was applied, by applying it if not.
 *
 * The retries of one write are bounded by `requestTimeoutMs` (backoff with jitter between
 * rounds of endpoints). A write that runs out of time fails with CONCORD_CLIENT_OUTCOME_UNKNOWN
 * (applied at most once: the session acknowledges past its seq, after which the server refuses
 * every copy). When the server no longer knows the session (its lease expired or was revoked), a
 * retry fails with CONCORD_CLIENT_SESSION_EXPIRED, never applying the write a second time.
 */
import { randomUUID } from 'node:crypto';
import { METHODS, type etcdserverpb, type MethodDescriptor } from '../api/codec/index.js';
import { backoffDelayMs, sleep } from './backoff.js';
import type { Bytes, KeySelector } from './bytes.js';
import type { DeleteResult, PutResult } from './client.js';
import type { EndpointPool } from './endpoint-pool.js';
import { ClientErrorCode, ConcordClientError, GRPC_STATUS } from './errors.js';
import { CallFailure } from './grpc-channel.js';
import { Lease } from './lease.js';
import { SeqWindow, SESSION_WINDOW_MAX } from './session-window.js';
import { deleteRequest, putRequest, TxnBuilder, txnResultOf, type PutOptions } from './txn.js';
import { headerOf, kvOf, revisionOf, type ResponseHeader } from './types.js';

const KV = {
  put: METHODS['/etcdserverpb.KV/Put'],
  deleteRange: METHODS['/etcdserverpb.KV/DeleteRange'],
  txn: METHODS['/etcdserverpb.KV/Txn'],
  compact: METHODS['/etcdserverpb.KV/Compact'],
} as const;
const NEXT = METHODS['/concord.v1.Sequencer/Next'];

/** SESSION_METADATA names the gRPC metadata of a session write (docs/sessions.md). */
export const SESSION_METADATA = {
  session: 'x-concord-session',
  lease: 'x-concord-session-lease',
  seq: 'x-concord-seq',
  ack: 'x-concord-ack',
} as const;

/** SESSION_TTL_SECONDS_DEFAULT is the default TTL of a session's lease. */
export const SESSION_TTL_SECONDS_DEFAULT = 60;

/**
 * SESSION_GRANT_ATTEMPTS_MAX bounds the lease grants (and revokes) tried when one's outcome is
 * unknown: an extra granted lease just expires, a second revoke finds no lease.
 */
const SESSION_GRANT_ATTEMPTS_MAX = 5;

/**
 * SERVER_SESSION_RESULTS_MAX mirrors the server's results kept per session (src/kv/session-table.ts);
 * the window must stay below it so the server never evicts a result the client still retries.
 */
const SERVER_SESSION_RESULTS_MAX = 256;

/** SessionOptions configure `client.session()`. */
export interface SessionOptions {
  /** ttl is the session lease's TTL in seconds (default 60): how long the server keeps the session after this client stops renewing it. */
  readonly ttl?: number;
  /** requestTimeoutMs bounds one write including all its retries (default: the client's requestTimeoutMs). */
  readonly requestTimeoutMs?: number;
  /** windowMax bounds the writes in flight (seqs above the ack) on the session (default 128, at most 255). */
  readonly windowMax?: number;
}

/** SessionStats count a session's writes (for logs and tests). */
export interface SessionStats {
  /** writes is the number of writes that took a seq. */
  readonly writes: number;
  /** attempts is the number of times a write was sent (or tried). */
  readonly attempts: number;
  /** retries is attempts beyond the first of each write. */
  readonly retries: number;
  /** recovered counts writes answered after at least one failed attempt. */
  readonly recovered: number;
  /** unknown counts writes that ran out of time with an unknown outcome. */
  readonly unknown: number;
}

/** SequencerBlock is the numbers a sequencer `next` took: `first` .. `first + count - 1`. */
export interface SequencerBlock {
  readonly first: number;
  readonly count: number;
  readonly header: ResponseHeader;
}

/**
 * Session makes writes exactly-once across lost connections and leader changes (see the file
 * comment). Get one from `client.session({ ttl })`; writes may run concurrently. `close()` waits
 * for the writes in flight, then revokes the lease.
 */
export class Session {
  /** id is the session's client id (a random UUID). */
  readonly id: string;
  /** leaseId is the lease the session is bound to. */
  readonly leaseId: bigint;
  /** ttlSeconds is the lease TTL the server granted. */
  readonly ttlSeconds: number;
  /** lost aborts when the session ends (lease lost or revoked, or `close()`); its reason is a ConcordClientError. */
  readonly lost: AbortSignal;
  private readonly controller = new AbortController();
  private readonly window: SeqWindow;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly counts = { writes: 0, attempts: 0, retries: 0, recovered: 0, unknown: 0 };

  private constructor(private readonly pool: EndpointPool, private readonly lease: Lease, private readonly requestTimeoutMs: number, windowMax: number) {
    this.id = randomUUID();
    this.leaseId = lease.id;
    this.ttlSeconds = lease.ttlSeconds;
    this.lost = this.controller.signal;
    this.window = new SeqWindow(windowMax);
    lease.onLost((reason) => this.end(new ConcordClientError(ClientErrorCode.SessionExpired,
      `session ${this.id} ended: ${reason.message}`, { cause: reason })));
  }

  /** open grants the session's lease (kept alive by the client) and returns the session. */
  static async open(pool: EndpointPool, options: SessionOptions = {}): Promise<Session> {
    const ttl = options.ttl ?? SESSION_TTL_SECONDS_DEFAULT;
    const windowMax = options.windowMax ?? SESSION_WINDOW_MAX;
    const requestTimeoutMs = options.requestTimeoutMs ?? pool.requestTimeoutMs;
    if (!Number.isInteger(windowMax) || windowMax < 1 || windowMax >= SERVER_SESSION_RESULTS_MAX) {
      throw new ConcordClientError(ClientErrorCode.InvalidArgument, `session windowMax must be 1..${SERVER_SESSION_RESULTS_MAX - 1}, got ${windowMax}`);
    }
    if (!(requestTimeoutMs > 0)) throw new ConcordClientError(ClientErrorCode.InvalidArgument, `session requestTimeoutMs must be positive, got ${requestTimeoutMs}`);
    for (let attempt = 1; ; attempt++) {
      try {
        return new Session(pool, await Lease.grant(pool, ttl), requestTimeoutMs, windowMax);
      } catch (error) {
        // A grant that may have been applied only leaves a lease nobody renews: it expires.
        if (!(error instanceof ConcordClientError && error.code === ClientErrorCode.OutcomeUnknown) || attempt >= SESSION_GRANT_ATTEMPTS_MAX) throw error;
        await sleep(backoffDelayMs(attempt));
      }
    }
  }

  /** ack is the session's acknowledgement watermark: every write numbered <= ack has its answer. */
  get ack(): number {
    return this.window.ack;
  }

  /** stats counts writes, attempts and recoveries so far. */
  get stats(): SessionStats {
    return { ...this.counts };
  }

  /** put writes a key, exactly once. */
  async put(key: Bytes, value: Bytes, options: PutOptions = {}): Promise<PutResult> {
    const r = await this.write(KV.put, putRequest(key, value, options));
    const header = headerOf(r.header);
    return { revision: header.revision, header, prevKv: r.prevKv ? kvOf(r.prevKv) : undefined };
  }

  /** delete deletes one key, or `{ prefix }`, or `{ start, end }`, exactly once. */
  async delete(selector: KeySelector, options: { prevKv?: boolean } = {}): Promise<DeleteResult> {
    const r = await this.write(KV.deleteRange, deleteRequest(selector, options.prevKv ?? false));
    return { revision: headerOf(r.header).revision, deleted: revisionOf(r.deleted), prevKvs: r.prevKvs.map(kvOf) };
  }

  /**
   * txn starts a transaction applied exactly once: a retry after an unknown outcome gets the
   * first application's answer (`succeeded`, results, revision). A txn of only gets is a read
   * and takes no seq.
   */
  txn(): TxnBuilder {
    return new TxnBuilder(async (request) => {
      if (isReadOnlyTxn(request)) return txnResultOf(await this.pool.unary(KV.txn, request, 'read'));
      return txnResultOf(await this.write(KV.txn, request));
    });
  }

  /** compact discards history before `revision`, as `client.compact`, through the session. */
  async compact(revision: number, options: { physical?: boolean } = {}): Promise<void> {
    await this.write(KV.compact, { revision: BigInt(revision), physical: options.physical ?? false });
  }

  /**
   * next takes `count` (1..10 000) consecutive numbers from the sequencer counter `name`
   * (docs/sequencer.md), exactly once: a retry never takes a second block.
   */
  async next(name: string, count = 1): Promise<SequencerBlock> {
    if (!Number.isInteger(count) || count < 1) throw new ConcordClientError(ClientErrorCode.InvalidArgument, `sequencer count must be a positive integer, got ${count}`);
    const r = await this.write(NEXT, { name, count });
    return { first: revisionOf(r.first), count: r.count, header: headerOf(r.header) };
  }

  /**
   * close ends the session: later writes fail (CONCORD_CLIENT_CLOSED), the writes in flight
   * finish (answered or timed out), then the lease is revoked and the server drops the session
   * (the revoke is retried after an unknown outcome).
   */
  async close(): Promise<void> {
    this.end(new ConcordClientError(ClientErrorCode.Closed, `session ${this.id} closed`));
    await Promise.allSettled([...this.inFlight]);
    // Revoking twice is harmless (the second answers "lease not found", which revoke accepts).
    for (let attempt = 1; ; attempt++) {
      try {
        await this.lease.revoke();
        return;
      } catch (error) {
        if (!(error instanceof ConcordClientError && error.code === ClientErrorCode.OutcomeUnknown) || attempt >= SESSION_GRANT_ATTEMPTS_MAX) throw error;
        await sleep(backoffDelayMs(attempt));
      }
    }
  }

  private end(reason: ConcordClientError): void {
    if (this.lost.aborted) return;
    this.window.fail(reason);
    this.controller.abort(reason);
  }

  /** write numbers one request and sends it until it is answered (see the file comment). */
  private async write<Req, Res>(method: MethodDescriptor<Req, Res>, request: Req): Promise<Res> {
    if (this.lost.aborted) throw this.lost.reason as ConcordClientError;
    const seq = await this.window.acquire();
    const task = this.send(method, request, seq).finally(() => this.window.complete(seq));
    this.inFlight.add(task);
    void task.catch(() => undefined).finally(() => this.inFlight.delete(task));
    return task;
  }

  private metadata(seq: number): Record<string, string> {
    return {
      [SESSION_METADATA.session]: this.id,
      [SESSION_METADATA.lease]: this.leaseId.toString(),
      [SESSION_METADATA.seq]: String(seq),
      [SESSION_METADATA.ack]: String(this.window.ack),
    };
  }

  private async send<Req, Res>(method: MethodDescriptor<Req, Res>, request: Req, seq: number): Promise<Res> {
    const frame = method.request.encodeFrame(request);
    const deadline = Date.now() + this.requestTimeoutMs;
    this.counts.writes++;
    let attempts = 0;
    let sentAttempts = 0;
    let lastError: ConcordClientError | undefined;
    for (let round = 0; Date.now() < deadline; round++) {
      try {
        const bytes = await this.pool.withRetries('idempotent', { timeoutMs: deadline - Date.now() }, async (channel, timeoutMs) => {
          attempts++;
          this.counts.attempts++;
          if (attempts > 1) this.counts.retries++;
          // The ack is read per attempt: a later attempt tells the server about newer answers.
          const call = await channel.open(method.path, { timeoutMs, metadata: this.metadata(seq) }, true, frame);
          sentAttempts++;
          const first = await call.next();
          if (first === undefined) throw new ConcordClientError(ClientErrorCode.Protocol, `${method.path}: no response message`, { endpoint: channel.endpoint });
          while ((await call.next()) !== undefined) { /* a unary call has one message; wait for the status */ }
          return first;
        });
        if (attempts > 1) this.counts.recovered++;
        return method.response.decode(bytes);
      } catch (error) {
        const e = error instanceof ConcordClientError ? error : new ConcordClientError(ClientErrorCode.Protocol, String(error), { cause: error });
        if (e.code === ClientErrorCode.SessionExpired) {
          this.end(e);
          throw new ConcordClientError(ClientErrorCode.SessionExpired, sentAttempts > 1
            ? `session ${this.id} expired before write ${seq} was answered: it may have been applied once, never twice (${e.message})`
            : `session ${this.id} expired; write ${seq} was not applied (${e.message})`, { cause: e, ...grpcCodeOf(e) });
        }
        if (e.code === ClientErrorCode.SessionSeqTooOld) {
          throw new ConcordClientError(ClientErrorCode.SessionSeqTooOld,
            `the server no longer holds the result of session ${this.id} write ${seq}: it may have been applied once, never twice (${e.message})`, { cause: e, ...grpcCodeOf(e) });
        }
        if (!isRetryable(e)) throw e;
        lastError = e;
        await sleep(Math.min(backoffDelayMs(round, 50, 1_000), Math.max(0, deadline - Date.now())));
      }
    }
    if (sentAttempts === 0 && lastError) throw lastError; // never sent: not applied, the error says why
    this.counts.unknown++;
    throw new ConcordClientError(ClientErrorCode.OutcomeUnknown,
      `session ${this.id} write ${seq} was not answered within ${this.requestTimeoutMs} ms (${attempts} attempts): it may have been applied once, never twice${lastError ? ` (${lastError.message})` : ''}`,
      lastError ? { cause: lastError } : {});
  }
}

/** isReadOnlyTxn: no branch writes, nested txns included (the server serves such a txn as a read, without the session). */
function isReadOnlyTxn(request: etcdserverpb.TxnRequest): boolean {
  return [...request.success, ...request.failure].every((o) => o.request?.$case === 'requestRange'
    || (o.request?.$case === 'requestTxn' && isReadOnlyTxn(o.request.value)));
}

/** isRetryable: failures after which the write's outcome is unknown or it was refused before the log — a session resends it. */
function isRetryable(e: ConcordClientError): boolean {
  if (e instanceof CallFailure) return true;
  if (e.code === ClientErrorCode.Timeout || e.code === ClientErrorCode.Unavailable || e.code === ClientErrorCode.NoLeader
    || e.code === ClientErrorCode.OutcomeUnknown || e.code === ClientErrorCode.Protocol) return true;
  return e.grpcCode === GRPC_STATUS.UNAVAILABLE || e.grpcCode === GRPC_STATUS.DEADLINE_EXCEEDED || e.grpcCode === GRPC_STATUS.CANCELLED;
}

function grpcCodeOf(e: ConcordClientError): { grpcCode?: number } {
  return e.grpcCode === undefined ? {} : { grpcCode: e.grpcCode };
}
