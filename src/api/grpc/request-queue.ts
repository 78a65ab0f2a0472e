/**
 * RequestQueue hands the decoded requests of one client-streaming or bidi call to its handler as
 * an async iterable, in arrival order. It holds at most about `capacity` messages: at the bound
 * it asks the transport to pause reading (`onPressure(true)`), so HTTP/2 flow control pushes back
 * on the client, and resumes once the handler drained half. `fail` makes pending and later
 * `next()` calls reject (cancellation); `close` ends the iteration after the queued items.
 * Single consumer.
 */
export class RequestQueue<T> implements AsyncIterableIterator<T> {
  private items: T[] = [];
  private head = 0;
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private closed = false;
  private failed = false;
  private failure: unknown;
  private paused = false;
  /** abandoned is set when the consumer stopped early (break/return); later pushes are dropped. */
  private abandoned = false;

  constructor(
    private readonly capacity: number,
    private readonly onPressure: (paused: boolean) => void,
  ) {}

  /** size is the number of queued, unconsumed items. */
  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    if (this.closed || this.failed || this.abandoned) return;
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      waiter.resolve({ value: item, done: false });
      return;
    }
    this.items.push(item);
    if (!this.paused && this.size >= this.capacity) {
      this.paused = true;
      this.onPressure(true);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const waiter = this.waiter;
    if (waiter !== undefined && this.size === 0) {
      this.waiter = undefined;
      waiter.resolve({ value: undefined, done: true });
    }
  }

  fail(reason: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.failure = reason;
    this.items = [];
    this.head = 0;
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      waiter.reject(reason);
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.failed) return Promise.reject(this.failure);
    if (this.size > 0) {
      const value = this.items[this.head]!;
      this.head++;
      if (this.head === this.items.length) {
        this.items.length = 0;
        this.head = 0;
      } else if (this.head >= 1024) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      if (this.paused && this.size <= this.capacity >> 1) {
        this.paused = false;
        this.onPressure(false);
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.closed || this.abandoned) return Promise.resolve({ value: undefined, done: true });
    if (this.waiter !== undefined) return Promise.reject(new Error('RequestQueue: concurrent next() calls'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.abandoned = true;
    this.items = [];
    this.head = 0;
    if (this.paused) {
      this.paused = false;
      this.onPressure(false);
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
