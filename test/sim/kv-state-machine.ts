/**
 * The whole stack's state machine in the simulator: each node applies its committed client
 * values to the real MVCC store of `src/kv` (`applyKvCommand`, the same entry point the server's
 * state machine uses) and feeds the store's watch hub, on top of the value list the Raft checkers
 * compare. A KV entry's value is `<proposal id>:<hex of encodeKvCommand(command)>`, so it stays a
 * unique text value for the list (and its snapshots); other values (the liveness probe's) are
 * no-ops for the store. A snapshot or checkpoint restore rebuilds the store by re-applying the
 * restored values in order, so the store is always a function of the applied log.
 *
 * A proposal id is applied at most once: the simulated network duplicates messages, and a
 * duplicated forwarded MsgProp becomes a second log entry with the same value. (Over TCP the
 * server never sees that; the duplicate is counted and skipped here.)
 */
import { applyKvCommand, decodeKvCommand, encodeKvCommand, MvccStore, WatchHub, type KvApplyResult, type KvCommand } from '../../src/kv/index.js';
import type { LogIndex } from '../../src/raft/index.js';
import { ListStateMachine } from './state-machine.js';

/**
 * StackFault is a deliberately broken behaviour for the negative controls (never used otherwise):
 * `stale-reads` and `lose-writes` break the clients and the state machine (kv-clients.ts, here),
 * `fast-lease-clock` gives every member's lessor a clock running ten times too fast
 * (kv-lessors.ts), `lock-skips-wait` makes the lock recipe skip the wait for its predecessor
 * (kv-lock-workload.ts).
 */
export type StackFault = 'none' | 'stale-reads' | 'lose-writes' | 'fast-lease-clock' | 'lock-skips-wait';

/** STACK_FAULTS lists every StackFault (for the command line). */
export const STACK_FAULTS: readonly StackFault[] = ['none', 'stale-reads', 'lose-writes', 'fast-lease-clock', 'lock-skips-wait'];

/** LOSE_WRITES_EVERY: with the `lose-writes` fault, every this-many-th put is acknowledged but not applied. */
export const LOSE_WRITES_EVERY = 5;

const HEX = '0123456789abcdef';

/** encodeStackValue writes a KV command as an entry value (see the file comment). */
export function encodeStackValue(id: string, command: KvCommand): string {
  return encodeStackBytes(id, encodeKvCommand(command));
}

/** encodeStackBytes writes an encoded KV command (`encodeKvCommand`) as an entry value. */
export function encodeStackBytes(id: string, bytes: Uint8Array): string {
  let hex = '';
  for (const b of bytes) hex += HEX[b >> 4]! + HEX[b & 15]!;
  return `${id}:${hex}`;
}

/** decodeStackValue reads an entry value written by `encodeStackValue`; undefined for other values. */
export function decodeStackValue(value: string): { id: string; command: KvCommand } | undefined {
  const colon = value.indexOf(':');
  if (colon < 0) return undefined;
  const hex = value.slice(colon + 1);
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return { id: value.slice(0, colon), command: decodeKvCommand(bytes) };
}

/** KvSimStateMachine is a node's value list plus its MVCC store and watch hub (see the file comment). */
export class KvSimStateMachine extends ListStateMachine {
  store = new MvccStore();
  hub = new WatchHub(this.store);
  /** lastResult is the result of the last applied value (undefined: a no-op or a skipped duplicate). */
  lastResult: KvApplyResult | undefined;
  /** duplicatesSkipped counts entries whose proposal id was already applied. */
  duplicatesSkipped = 0;
  /** onCommandApplied hears every KV command applied in log order (not the re-applies of a restore): the lessor's input. */
  onCommandApplied: ((command: KvCommand, result: KvApplyResult) => void) | undefined;
  /** onRestored hears that a restore replaced the store. */
  onRestored: (() => void) | undefined;
  private restoring = false;
  private readonly appliedIds = new Set<string>();
  private putsApplied = 0;

  constructor(private readonly fault: StackFault = 'none') {
    super();
  }

  override applyValue(index: LogIndex, value: string): void {
    super.applyValue(index, value);
    this.lastResult = this.applyKv(value);
  }

  override restore(index: LogIndex, values: string[]): void {
    super.restore(index, values);
    this.store = new MvccStore();
    this.hub = new WatchHub(this.store);
    this.appliedIds.clear();
    this.putsApplied = 0;
    this.restoring = true;
    for (const value of values) this.applyKv(value);
    this.restoring = false;
    this.lastResult = undefined;
    this.onRestored?.();
  }

  private applyKv(value: string): KvApplyResult | undefined {
    const decoded = decodeStackValue(value);
    if (decoded === undefined) return undefined;
    if (this.appliedIds.has(decoded.id)) {
      this.duplicatesSkipped++;
      return undefined;
    }
    this.appliedIds.add(decoded.id);
    const command = decoded.command;
    if (this.fault === 'lose-writes' && command.type === 'put' && ++this.putsApplied % LOSE_WRITES_EVERY === 0) {
      // Broken on purpose: answer as if applied, change nothing.
      return { ok: true, result: { type: 'put', response: { header: { revision: this.store.currentRevision } } }, events: [] };
    }
    const result = applyKvCommand(this.store, command);
    if (result.ok && result.events.length > 0) this.hub.notify(result.events);
    if (!this.restoring) this.onCommandApplied?.(command, result);
    return result;
  }
}
