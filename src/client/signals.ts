/**
 * anySignal aborts when any of `signals` aborts (like AbortSignal.any), holding strong references
 * both ways for as long as the returned signal is in use. AbortSignal.any's dependent signals are
 * weakly held by their sources in some Node 20 releases, and a wait that must be cancelled cannot
 * risk its signal never firing. Call `dispose()` when done to detach the listeners.
 */
export function anySignal(signals: readonly AbortSignal[]): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const detach: (() => void)[] = [];
  const dispose = (): void => {
    for (const d of detach) d();
    detach.length = 0;
  };
  for (const s of signals) {
    if (s.aborted) {
      controller.abort(s.reason);
      dispose();
      return { signal: controller.signal, dispose };
    }
    const onAbort = (): void => {
      controller.abort(s.reason);
      dispose();
    };
    s.addEventListener('abort', onAbort, { once: true });
    detach.push(() => s.removeEventListener('abort', onAbort));
  }
  return { signal: controller.signal, dispose };
}
