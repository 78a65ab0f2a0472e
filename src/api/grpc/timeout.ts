/**
 * parseGrpcTimeout parses a `grpc-timeout` header value (`TimeoutValue TimeoutUnit`: 1–8 ASCII
 * digits, then one of H M S m u n) into milliseconds, rounded up so a positive timeout never
 * becomes 0. Returns undefined when malformed. Values beyond a timer's range (≈24.8 days) are
 * clamped to it.
 */
export function parseGrpcTimeout(value: string): number | undefined {
  const n = value.length;
  if (n < 2 || n > 9) return undefined;
  let amount = 0;
  for (let i = 0; i < n - 1; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    amount = amount * 10 + d;
  }
  let ms: number;
  switch (value.charCodeAt(n - 1)) {
    case 72: ms = amount * 3_600_000; break; // H
    case 77: ms = amount * 60_000; break; // M
    case 83: ms = amount * 1000; break; // S
    case 109: ms = amount; break; // m
    case 117: ms = Math.ceil(amount / 1000); break; // u
    case 110: ms = Math.ceil(amount / 1_000_000); break; // n
    default: return undefined;
  }
  return Math.min(ms, timerMsMax);
}

/** timerMsMax is the longest delay setTimeout honours (2^31 − 1 ms). */
export const timerMsMax = 2 ** 31 - 1;
