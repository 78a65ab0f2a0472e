/**
 * generateKvHistory produces linearizable key-value histories for tests, fuzzing and benchmarks:
 * clients issue operations with random timings; each operation takes effect at a random instant
 * inside its [call, return] interval on a real sequential map, which fixes its output. Some
 * operations get an unknown outcome: they take effect at a random instant after their call (even
 * after the client has moved on) or never, and their output is dropped. Every value written is
 * unique, so a read of any other value is never linearizable.
 */
import { randomChance, randomFloat, randomInt, type Prng } from '../lib/prng.js';
import type { Operation } from './history.js';
import type { KvInput, KvOutput } from './kv-model.js';

/** KvHistoryOptions shape a generated history. Times are integer ticks. */
export interface KvHistoryOptions {
  readonly operations: number;
  readonly clients: number;
  readonly keys: number;
  /** unknownRate is the probability (0..1) that an operation's outcome is unknown; default 0.05. */
  readonly unknownRate?: number;
  /** gapTicksMax bounds the pause between a client's operations; default 5. */
  readonly gapTicksMax?: number;
  /** durationTicksMax bounds an operation's duration; default 20. */
  readonly durationTicksMax?: number;
}

/** GeneratedOperation is a history operation plus where it took effect (null: never). */
export interface GeneratedKvHistory {
  readonly history: Array<Operation<KvInput, KvOutput>>;
  /** effectTimes[i] is when operation i took effect, or null if it never did. */
  readonly effectTimes: ReadonlyArray<number | null>;
}

interface Draft {
  readonly clientId: number;
  readonly callTime: number;
  readonly returnTime: number | null;
  readonly input: KvInput;
  readonly effectTime: number | null;
}

/** generateKvHistory draws a linearizable history from `prng` (see the file comment). */
export function generateKvHistory(prng: Prng, options: KvHistoryOptions): GeneratedKvHistory {
  const unknownRate = options.unknownRate ?? 0.05;
  const gapTicksMax = options.gapTicksMax ?? 5;
  const durationTicksMax = options.durationTicksMax ?? 20;
  const freeAt = new Array<number>(options.clients).fill(0);
  const written: string[][] = Array.from({ length: options.keys }, () => []);
  const drafts: Draft[] = [];
  for (let i = 0; i < options.operations; i++) {
    const clientId = randomInt(prng, options.clients);
    const keyIndex = randomInt(prng, options.keys);
    const key = `k${keyIndex}`;
    const callTime = freeAt[clientId]! + randomInt(prng, gapTicksMax + 1);
    const durationTicks = 1 + randomInt(prng, durationTicksMax);
    freeAt[clientId] = callTime + durationTicks + 1;
    const input = drawInput(prng, key, `v${i}`, written[keyIndex]!);
    if (input.type === 'put' || input.type === 'cas') written[keyIndex]!.push(input.value);
    const unknown = randomChance(prng, unknownRate);
    const effectTime = unknown
      ? randomChance(prng, 0.5) ? callTime + randomFloat(prng) * durationTicksMax * 4 : null
      : callTime + randomInt(prng, durationTicks + 1);
    drafts.push({ clientId, callTime, returnTime: unknown ? null : callTime + durationTicks, input, effectTime });
  }

  const order = drafts.map((_, i) => i).filter((i) => drafts[i]!.effectTime !== null);
  order.sort((a, b) => drafts[a]!.effectTime! - drafts[b]!.effectTime! || a - b);
  const outputs = new Map<number, KvOutput>();
  const store = new Map<string, string>();
  for (const i of order) outputs.set(i, apply(store, drafts[i]!.input));

  const history = drafts.map((d, i): Operation<KvInput, KvOutput> =>
    d.returnTime === null
      ? { clientId: d.clientId, callTime: d.callTime, returnTime: null, input: d.input }
      : { clientId: d.clientId, callTime: d.callTime, returnTime: d.returnTime, input: d.input, output: outputs.get(i)! },
  );
  return { history, effectTimes: drafts.map((d) => d.effectTime) };
}

function drawInput(prng: Prng, key: string, fresh: string, written: readonly string[]): KvInput {
  const roll = randomInt(prng, 100);
  if (roll < 40) return { type: 'get', key };
  if (roll < 70) return { type: 'put', key, value: fresh };
  if (roll < 90) {
    const recent = written.slice(-3);
    const pick = randomInt(prng, recent.length + 1);
    return { type: 'cas', key, expected: recent[pick], value: fresh };
  }
  return { type: 'delete', key };
}

function apply(store: Map<string, string>, input: KvInput): KvOutput {
  const current = store.get(input.key);
  switch (input.type) {
    case 'get':
      return { value: current };
    case 'put':
      store.set(input.key, input.value);
      return {};
    case 'cas':
      if (current !== input.expected) return { ok: false };
      store.set(input.key, input.value);
      return { ok: true };
    case 'delete':
      store.delete(input.key);
      return { deleted: current !== undefined };
  }
}
