import v8 from 'node:v8';

/**
 * V8 settings a serving member runs with. A member's request path is a few hundred small
 * functions called thousands of times a second; V8 optimises a function once it has spent an
 * "interrupt budget" of bytecode, 67,584 bytes by default (Node 20), so after a start a member
 * runs its request path unoptimised for seconds: one client's puts right after a cluster starts
 * cost the leader ≈ 820–900 µs of CPU each and ran at 580–630/s (docs/performance.md, *Warm
 * sooner after a start*). With a budget of 8,192 the same row cost ≈ 510–560 µs and ran at
 * 850–940/s; one client's linearizable gets mostly gained too (1,325–2,143 against 1,307–1,526/s).
 * Rows measured after the warm-up did not move.
 *
 * The operator's own choice wins: a flag named in `node`'s arguments (or in NODE_OPTIONS, for
 * flags Node accepts there) is left as given.
 */
export const SERVING_V8_FLAGS: readonly string[] = ['--interrupt-budget=8192'];

/**
 * servingV8Flags returns the flags of SERVING_V8_FLAGS that neither `execArgv` nor `nodeOptions`
 * already sets (by name, with or without a value).
 */
export function servingV8Flags(execArgv: readonly string[], nodeOptions: string): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map((a) => a.split('=')[0]!.replace(/_/g, '-'));
  return SERVING_V8_FLAGS.filter((flag) => !given.includes(flag.split('=')[0]!));
}

/** tuneV8ForServing applies servingV8Flags to this process (before the request path runs) and returns them. */
export function tuneV8ForServing(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env['NODE_OPTIONS'] ?? ''): string[] {
  const flags = servingV8Flags(execArgv, nodeOptions);
  for (const flag of flags) v8.setFlagsFromString(flag);
  return flags;
}
