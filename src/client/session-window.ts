/**
 * SeqWindow numbers the writes of one client session (docs/sessions.md) and computes the
 * acknowledgement watermark the server may forget results below.
 *
 * - `acquire()` hands out 1, 2, 3, ... in call order. A seq is *open* until `complete(seq)`:
 *   answered (a response or a definite error), or given up (outcome unknown).
 * - `ack` is the highest seq with every seq at or below it complete: the lowest open seq − 1, or
 *   the last seq handed out when none is open. It is always below every open seq, as the server
 *   requires (`ack < seq`).
 * - At most `windowMax` seqs lie above `ack`: a new seq waits (FIFO) until the lowest open one
 *   completes. Every request carries an ack ≥ its seq − windowMax, so the server never holds
 *   more than `windowMax` results for the session; with windowMax below the server's
 *   SESSION_RESULTS_MAX (256) it never evicts the result of a request the client still retries.
 */
import { assert } from '../lib/assert.js';
import { ClientErrorCode, ConcordClientError } from './errors.js';

/** SESSION_WINDOW_MAX is the default bound on seqs above the ack (half the server's 256 results per session). */
export const SESSION_WINDOW_MAX = 128;

/** SESSION_WAITERS_MAX bounds the writes queued for a seq when the window is full (overflow is an error). */
export const SESSION_WAITERS_MAX = 10_000;

/** SeqWindow is the seq allocator and ack watermark of one session (see the file comment). */
export class SeqWindow {
  /** nextSeq is the seq the next acquire hands out. Invariant: ack < nextSeq. */
  private nextSeq = 1;
  /** open holds the handed-out seqs not yet complete. Invariant: every open seq > ack. */
  private readonly open = new Set<number>();
  /** lowestOpen caches min(open) (undefined when open is empty). */
  private lowestOpen: number | undefined;
  /** waiters are the acquires queued for room, oldest first; a waiter is handed its seq directly. */
  private readonly waiters: { resolve: (seq: number) => void; reject: (error: ConcordClientError) => void }[] = [];
  private failure: ConcordClientError | undefined;

  constructor(readonly windowMax = SESSION_WINDOW_MAX) {
    if (!Number.isSafeInteger(windowMax) || windowMax < 1) throw new RangeError(`windowMax must be a positive integer, got ${windowMax}`);
  }

  /** ack is the acknowledgement watermark: every seq <= ack is complete. */
  get ack(): number {
    return (this.lowestOpen ?? this.nextSeq) - 1;
  }

  /** inFlight counts the open seqs. */
  get inFlight(): number {
    return this.open.size;
  }

  /** waiting counts the acquires queued for a full window. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** acquire returns the next seq, waiting (FIFO) while `windowMax` seqs lie above the ack. Rejects after `fail`. */
  acquire(): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiters.length === 0 && this.hasRoom()) return Promise.resolve(this.take());
    if (this.waiters.length >= SESSION_WAITERS_MAX) {
      return Promise.reject(new ConcordClientError(ClientErrorCode.Unavailable, `more than ${SESSION_WAITERS_MAX} writes queued on one session; not sent`));
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** complete closes `seq` (answered, failed definitely, or given up); the ack may advance. */
  complete(seq: number): void {
    assert(this.open.delete(seq), () => `seq ${seq} is not open`);
    if (seq === this.lowestOpen) {
      let lowest: number | undefined;
      for (const s of this.open) if (lowest === undefined || s < lowest) lowest = s;
      this.lowestOpen = lowest;
    }
    this.wakeWaiters();
  }

  /** fail makes every queued and later acquire reject with `error` (the session ended). */
  fail(error: ConcordClientError): void {
    this.failure ??= error;
    for (const w of this.waiters.splice(0)) w.reject(this.failure);
  }

  private hasRoom(): boolean {
    return this.nextSeq - this.ack <= this.windowMax;
  }

  private take(): number {
    const seq = this.nextSeq++;
    this.open.add(seq);
    this.lowestOpen ??= seq;
    return seq;
  }

  private wakeWaiters(): void {
    while (this.waiters.length > 0 && this.hasRoom()) this.waiters.shift()!.resolve(this.take());
  }
}
