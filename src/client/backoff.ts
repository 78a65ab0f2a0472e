/**
 * backoffDelayMs is the wait before retry number `attempt` (0-based): exponential from
 * `baseMs`, capped at `capMs`, with "full jitter" (uniform in [cap/2, cap]) so clients that
 * failed together do not retry together.
 */
export function backoffDelayMs(attempt: number, baseMs = 25, capMs = 1_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** sleep waits `ms`, or less if `signal` aborts (it then resolves; the caller checks the signal). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
