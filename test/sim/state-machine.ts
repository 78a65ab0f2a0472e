import type { LogIndex } from '../../src/raft/index.js';

/**
 * ListStateMachine is each simulated node's application state: the list of applied client values
 * in log order, plus the index of the last applied entry. No-op and conf-change entries advance
 * `appliedIndex` without adding a value. A snapshot's data is the list encoded by
 * `encodeValues`, so installing one replaces the list wholesale.
 *
 * The list is only ever appended to or replaced by a new array, never edited in place, so a
 * (values, length) pair is an immutable view: that is how the simulated disk checkpoints it.
 */
export class ListStateMachine {
  values: string[] = [];
  appliedIndex: LogIndex = 0;

  /** applyValue appends one client value applied at `index`. */
  applyValue(index: LogIndex, value: string): void {
    this.values.push(value);
    this.appliedIndex = index;
  }

  /** applyEmpty advances the applied index over a no-op or conf-change entry. */
  applyEmpty(index: LogIndex): void {
    this.appliedIndex = index;
  }

  /** restore replaces the state with a snapshot's values at `index`. */
  restore(index: LogIndex, values: string[]): void {
    this.values = values;
    this.appliedIndex = index;
  }

  /** lastValue is the most recently applied value ('' when none). */
  lastValue(): string {
    return this.values[this.values.length - 1] ?? '';
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** encodeValues writes a value list as snapshot data: the values joined by newlines, UTF-8. */
export function encodeValues(values: readonly string[]): Uint8Array {
  return encoder.encode(values.join('\n'));
}

/** decodeValues reads snapshot data written by `encodeValues` (empty data: no values). */
export function decodeValues(data: Uint8Array): string[] {
  if (data.byteLength === 0) return [];
  return decoder.decode(data).split('\n');
}

/** encodeValue writes one client value as entry data. */
export function encodeValue(value: string): Uint8Array {
  return encoder.encode(value);
}

/** decodeValue reads entry data written by `encodeValue`. */
export function decodeValue(data: Uint8Array): string {
  return decoder.decode(data);
}
