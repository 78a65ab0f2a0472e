/**
 * kvModel is a map of independent registers: put, get, compare-and-set and delete on string keys
 * holding string values. It is partitioned per key, so each key's sub-history is checked on its
 * own with a single register (`string | undefined`, undefined meaning absent) as the state.
 */
import { hashString, mix32, STEP_ILLEGAL, stepTo, type Model, type StepResult } from './model.js';

/** KvInput is one operation on a key. `cas` with `expected: undefined` succeeds only on an absent key. */
export type KvInput =
  | { readonly type: 'put'; readonly key: string; readonly value: string }
  | { readonly type: 'get'; readonly key: string }
  | { readonly type: 'cas'; readonly key: string; readonly expected: string | undefined; readonly value: string }
  | { readonly type: 'delete'; readonly key: string };

/**
 * KvOutput is what the client observed, read by field according to the input's type:
 * get → `value` (undefined or null: absent); cas → `ok`; delete → `deleted` (optional: whether a
 * value existed; omit it when unknown); put → nothing.
 */
export interface KvOutput {
  readonly value?: string | null | undefined;
  readonly ok?: boolean;
  readonly deleted?: boolean;
}

/** KvState is one register: the current value, or undefined when the key is absent. */
export type KvState = string | undefined;

const ABSENT_HASH = 0x9e3779b9;

/** kvModel is the register-per-key key-value model (see the file comment). */
export const kvModel: Model<KvState, KvInput, KvOutput> = {
  name: 'kv-register',
  init: () => undefined,
  step(state: KvState, input: KvInput, output: KvOutput | undefined): StepResult<KvState> {
    switch (input.type) {
      case 'put':
        return stepTo(input.value);
      case 'get': {
        if (output === undefined) return stepTo(state);
        const observed = output.value ?? undefined;
        return observed === state ? stepTo(state) : STEP_ILLEGAL;
      }
      case 'cas': {
        const matches = state === input.expected;
        if (output !== undefined && output.ok !== matches) return STEP_ILLEGAL;
        return stepTo(matches ? input.value : state);
      }
      case 'delete': {
        if (output !== undefined && output.deleted !== undefined && output.deleted !== (state !== undefined)) {
          return STEP_ILLEGAL;
        }
        return stepTo(undefined);
      }
    }
  },
  equal: (a, b) => a === b,
  hash: (state) => (state === undefined ? ABSENT_HASH : mix32(hashString(state))),
  partitionKey: (input) => input.key,
  readOnly: (input) => input.type === 'get',
  describeOperation: describeKvOperation,
  describeState: (state) => (state === undefined ? '∅' : JSON.stringify(state)),
};

/** describeKvOperation renders e.g. `put("x")`, `get() → "x"`, `cas(∅ → "y") → ok`, `delete() → ?`. */
export function describeKvOperation(input: KvInput, output: KvOutput | undefined): string {
  const show = (v: string | null | undefined): string => (v === undefined || v === null ? '∅' : JSON.stringify(v));
  const unknown = output === undefined;
  switch (input.type) {
    case 'put':
      return `put(${show(input.value)})${unknown ? ' → ?' : ''}`;
    case 'get':
      return `get() → ${unknown ? '?' : show(output.value)}`;
    case 'cas':
      return `cas(${show(input.expected)} → ${show(input.value)}) → ${unknown ? '?' : output.ok === true ? 'ok' : 'fail'}`;
    case 'delete':
      return `delete()${unknown ? ' → ?' : output.deleted === undefined ? '' : output.deleted ? ' → deleted' : ' → absent'}`;
  }
}

/** kv holds constructors for KvInput values, for tests and harnesses. */
export const kv = {
  put: (key: string, value: string): KvInput => ({ type: 'put', key, value }),
  get: (key: string): KvInput => ({ type: 'get', key }),
  cas: (key: string, expected: string | undefined, value: string): KvInput => ({ type: 'cas', key, expected, value }),
  delete: (key: string): KvInput => ({ type: 'delete', key }),
} as const;
