/**
 * src/check is Concord's linearizability checker (Wing–Gong search with Lowe's memoization, as
 * in Porcupine). Pure: no clock, no I/O — the caller passes `now()` for a time budget. See
 * docs/checker.md.
 */
export { check, describeCheckResult } from './check.js';
export type { CheckOptions, CheckResult, Counterexample, PartitionResult, TimelineOperation, TimelineRole, Verdict } from './check.js';
export type { BudgetOptions, UnknownReason } from './budget.js';
export { CheckErrorCode, CheckInputError, isUnknown, validateHistory } from './history.js';
export type { CompletedOperation, History, Operation, UnknownOperation } from './history.js';
export { hashString, mix32, STEP_ILLEGAL, stepTo } from './model.js';
export type { Model, StepResult } from './model.js';
export { describeKvOperation, kv, kvModel } from './kv-model.js';
export type { KvInput, KvOutput, KvState } from './kv-model.js';
export { sequenceModel } from './sequence-model.js';
export type { SequenceInput, SequenceOutput } from './sequence-model.js';
export { renderTimelineHtml } from './timeline-html.js';
export type { TimelineHtmlOptions } from './timeline-html.js';
export { generateKvHistory } from './generate.js';
export type { GeneratedKvHistory, KvHistoryOptions } from './generate.js';
