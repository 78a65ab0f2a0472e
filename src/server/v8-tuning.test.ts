import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SERVING_V8_FLAGS, servingV8Flags } from './v8-tuning.js';

test('the serving V8 flags apply unless the operator set the same flag, in node\'s arguments or NODE_OPTIONS', () => {
  assert.deepEqual(servingV8Flags([], ''), [...SERVING_V8_FLAGS]);
  assert.deepEqual(servingV8Flags(['--max-old-space-size=4096'], '--trace-warnings'), [...SERVING_V8_FLAGS]);
  assert.deepEqual(servingV8Flags(['--interrupt-budget=67584'], ''), []);
  assert.deepEqual(servingV8Flags([], '--max-old-space-size=1024 --interrupt_budget=1000'), []);
  // A flag whose name only starts the same is another flag.
  assert.deepEqual(servingV8Flags(['--interrupt-budget-for-feedback-allocation=100'], ''), [...SERVING_V8_FLAGS]);
});
