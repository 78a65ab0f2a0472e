import { nodeId, type NodeId } from '../../../src/raft/types.js';
import type { TestBlock } from './datadriven.js';

/**
 * Typed access to the arguments of a data-driven block. Every accessor throws a plain Error on a
 * malformed argument: that is a mistake in the script, reported with the block's position.
 */

/** argValues returns the values of `key=...`, or undefined when the argument is absent. */
export function argValues(block: TestBlock, key: string): readonly string[] | undefined {
  return block.args.find((a) => a.key === key)?.values;
}

/** stringArg returns the single value of `key=value`, or `fallback`. */
export function stringArg(block: TestBlock, key: string, fallback: string): string;
export function stringArg(block: TestBlock, key: string): string | undefined;
export function stringArg(block: TestBlock, key: string, fallback?: string): string | undefined {
  const values = argValues(block, key);
  if (values === undefined) return fallback;
  if (values.length !== 1) throw new Error(`${where(block)}: ${key}= needs exactly one value`);
  return values[0];
}

/** intArg returns `key=n` as a non-negative safe integer, or `fallback`. */
export function intArg(block: TestBlock, key: string, fallback: number): number;
export function intArg(block: TestBlock, key: string): number | undefined;
export function intArg(block: TestBlock, key: string, fallback?: number): number | undefined {
  const value = stringArg(block, key);
  return value === undefined ? fallback : parseCount(block, value);
}

/** boolArg returns `key=true|false` (a bare `key` means true), or `fallback`. */
export function boolArg(block: TestBlock, key: string, fallback: boolean): boolean {
  const values = argValues(block, key);
  if (values === undefined) return fallback;
  if (values.length === 0) return true;
  if (values.length === 1 && (values[0] === 'true' || values[0] === 'false')) return values[0] === 'true';
  throw new Error(`${where(block)}: ${key}= must be true or false`);
}

/** idsArg returns `key=(1,2,3)` as node ids, or undefined when absent. */
export function idsArg(block: TestBlock, key: string): NodeId[] | undefined {
  return argValues(block, key)?.map((v) => parseId(block, v));
}

/** positionalIds returns the bare numeric arguments (`process-ready 1 2`) as node ids. */
export function positionalIds(block: TestBlock): NodeId[] {
  return block.args.filter((a) => a.values.length === 0 && /^\d+$/.test(a.key)).map((a) => parseId(block, a.key));
}

/** positionalWords returns the bare non-numeric arguments, in order. */
export function positionalWords(block: TestBlock): string[] {
  return block.args.filter((a) => a.values.length === 0 && a.key !== '' && !/^\d+$/.test(a.key)).map((a) => a.key);
}

/** groupArgs returns the parenthesized groups (`partition (1) (2 3)`) as lists of node ids. */
export function groupArgs(block: TestBlock): NodeId[][] {
  return block.args.filter((a) => a.key === '').map((a) => a.values.map((v) => parseId(block, v)));
}

/** firstId returns the first positional id, which the command requires. */
export function firstId(block: TestBlock): NodeId {
  const id = positionalIds(block)[0];
  if (id === undefined) throw new Error(`${where(block)}: ${block.command} needs a node id`);
  return id;
}

/** parseId parses one node id. */
export function parseId(block: TestBlock, text: string): NodeId {
  return nodeId(parseCount(block, text));
}

function parseCount(block: TestBlock, text: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`${where(block)}: '${text}' is not a non-negative integer`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`${where(block)}: '${text}' is too large`);
  return n;
}

function where(block: TestBlock): string {
  return `${block.file}:${block.line}`;
}
