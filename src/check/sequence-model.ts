/**
 * sequenceModel is an increment-and-get counter (a sequencer): each call returns the previous
 * value plus one, starting from 1. Linearizability makes the numbers unique, increasing in
 * real-time order and gapless except for numbers taken by unknown-outcome calls that took effect.
 * Partitioned by sequence name, so several independent sequences can share one history.
 */
import { mix32, STEP_ILLEGAL, stepTo, type Model } from './model.js';

/** SequenceInput asks the sequence named `key` for its next number. */
export interface SequenceInput {
  readonly key: string;
}

/** SequenceOutput is the number the call returned. */
export interface SequenceOutput {
  readonly value: number;
}

/** sequenceModel is the increment-and-get counter model (see the file comment). State: last value handed out. */
export const sequenceModel: Model<number, SequenceInput, SequenceOutput> = {
  name: 'unique-sequence',
  init: () => 0,
  step: (state, _input, output) => (output === undefined || output.value === state + 1 ? stepTo(state + 1) : STEP_ILLEGAL),
  equal: (a, b) => a === b,
  hash: (state) => mix32(state | 0) ^ mix32(Math.floor(state / 0x1_0000_0000)),
  partitionKey: (input) => input.key,
  describeOperation: (_input, output) => `next() → ${output === undefined ? '?' : String(output.value)}`,
  describeState: (state) => String(state),
};
