/**
 * reconnectDelayMs is the wait before reconnect attempt `failures` (1 after the first failure):
 * exponential from `minMs`, capped at `maxMs`, with "equal jitter" — half fixed, half drawn from
 * `random` (a [0, 1) source) — so peers that lost a member together do not reconnect in step.
 */
export function reconnectDelayMs(failures: number, minMs: number, maxMs: number, random: () => number): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const ceiling = Math.min(maxMs, minMs * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
