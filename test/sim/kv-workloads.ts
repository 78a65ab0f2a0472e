/**
 * The verification workloads run by simulated clients against the whole stack (`--stack kv`):
 * register, set, sequencer and watch (lease and lock: kv-lease-workload.ts, kv-lock-workload.ts), each recording its history in the format of
 * `src/check/workload-histories.ts` (times in simulated milliseconds) for `checkWorkloadHistory`.
 * Each workload has a few logical clients, one request in flight each; a client whose request
 * ended with an unknown outcome continues under a new client id (as a new connection would).
 * During the fault phases `onTick` issues requests; once the cluster has healed and settled,
 * `finishTick` runs the final reads until it returns true.
 */
import { randomChance, randomInt, type Prng } from '../../src/lib/prng.js';
import type { KvInput, KvOutput } from '../../src/check/kv-model.js';
import type { Operation } from '../../src/check/history.js';
import type {
  RegisterHistory, SequencerHistory, SetHistory, WatchEvent as HistoryWatchEvent, WatchHistory, WorkloadHistory, WorkloadName,
} from '../../src/check/workload-histories.js';
import { CompareResult, EventType, prefixEnd, type KvApplyResult, type MvccStore, type WatchEvent } from '../../src/kv/index.js';
import type { NodeId } from '../../src/raft/index.js';
import { storeOf, type KvClients } from './kv-clients.js';
import { KvSimStateMachine } from './kv-state-machine.js';
import { isMember, type SimNode } from './sim-node.js';
import { currentLeader, upNodes, type World } from './world.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string): Uint8Array => encoder.encode(text);
const text = (data: Uint8Array): string => decoder.decode(data);

/** StackWorkload is one workload run by simulated clients (see the file comment). */
export interface StackWorkload {
  readonly name: WorkloadName;
  /** onTick issues this tick's requests (fault and liveness phases). */
  onTick(): void;
  /** onSettleTick runs each tick of the settle phase, when requests have stopped (keep-alives go on). */
  onSettleTick?(): void;
  /** onApplied hears every client value any node applied, right after it was applied. */
  onApplied?(node: SimNode, value: string): void;
  /** stats: one line of counts for the trace. */
  stats?(): string;
  /** problems: broken guarantees the workload's clients saw themselves (each fails the run). */
  problems?(): string[];
  /** finishTick drives the final reads once healed; true when the history is complete. */
  finishTick(): boolean;
  history(): WorkloadHistory;
}

/** ClientSlot is one logical client: its current id and whether a request is in flight. */
interface ClientSlot {
  id: number;
  busy: boolean;
}

/** Clients holds a workload's logical clients and starts requests at a per-tick rate. */
class Clients {
  readonly slots: ClientSlot[] = [];
  private nextId = 0;

  constructor(count: number, private readonly prng: Prng, private readonly ratePerTick: number) {
    for (let i = 0; i < count; i++) this.slots.push({ id: this.nextId++, busy: false });
  }

  /** each calls `start` for every idle client whose turn it is this tick. */
  each(start: (slot: ClientSlot) => void): void {
    for (const slot of this.slots) if (!slot.busy && randomChance(this.prng, this.ratePerTick)) start(slot);
  }

  /** renew gives a client a new id after an unknown outcome. */
  renew(slot: ClientSlot): void {
    slot.id = this.nextId++;
  }
}

/**
 * FinalRead retries a linearizable read at the leader until it is answered. It starts only once
 * no request of the workload is in flight, so every acknowledged write was acknowledged before
 * the final read was called (as a real workload stops its writers first).
 */
class FinalRead<T> {
  result: { time: number; value: T } | undefined;
  private inFlight = false;

  constructor(private readonly clients: KvClients, private readonly read: (store: MvccStore) => T) {}

  /** step issues the read when none is in flight; true once answered. */
  step(): boolean {
    if (this.result !== undefined) return true;
    if (this.inFlight || this.clients.inFlight > 0) return false;
    const time = this.clients.nowMs();
    this.inFlight = this.clients.read((store) => {
      this.inFlight = false;
      if (store !== null) this.result = { time, value: this.read(store) };
    }, true);
    return false;
  }
}

/** rangePrefix reads every key under `prefix` (key → value) and the store's revision. */
function rangePrefix(store: MvccStore, prefix: string): { revision: number; kvs: Map<string, string> } {
  const r = store.range({ key: bytes(prefix), rangeEnd: prefixEnd(bytes(prefix)) });
  if (!r.ok) throw new Error(`final range of ${prefix} failed: ${r.error.message}`);
  return { revision: r.response.header.revision, kvs: new Map(r.response.kvs.map((kv) => [text(kv.key), text(kv.value)])) };
}

/** RegisterWorkload: put/get/CAS/delete on a few keys, checked for linearizability. */
export class RegisterWorkload implements StackWorkload {
  readonly name = 'register' as const;
  private readonly ops: Array<Operation<KvInput, KvOutput>> = [];
  private readonly clients: Clients;
  private readonly written = new Map<string, string[]>();
  private valueSeq = 0;
  private readonly keys = ['/r/a', '/r/b', '/r/c'];

  constructor(private readonly kv: KvClients, prng: Prng) {
    this.clients = new Clients(4, prng, 0.5);
  }

  onTick(): void {
    this.clients.each((slot) => this.issue(slot));
  }

  private issue(slot: ClientSlot): void {
    const prng = this.kv.prng;
    const key = this.keys[randomInt(prng, this.keys.length)]!;
    const roll = randomInt(prng, 100);
    const callTime = this.kv.nowMs();
    const record = (input: KvInput, output: KvOutput | null): void => {
      slot.busy = false;
      if (output === null) {
        this.ops.push({ clientId: slot.id, callTime, returnTime: null, input });
        this.clients.renew(slot);
      } else {
        this.ops.push({ clientId: slot.id, callTime, returnTime: this.kv.nowMs(), input, output });
      }
    };
    if (roll < 35) {
      const input: KvInput = { type: 'get', key };
      slot.busy = this.kv.read((store) => {
        if (store === null) {
          slot.busy = false; // a read without an answer tells nothing
          return;
        }
        const r = store.range({ key: bytes(key) });
        if (!r.ok) throw new Error(`get ${key}: ${r.error.message}`);
        const kv = r.response.kvs[0];
        record(input, { value: kv === undefined ? null : text(kv.value) });
      });
      return;
    }
    const value = `v${++this.valueSeq}`;
    const history = this.written.get(key) ?? [];
    this.written.set(key, history);
    if (roll < 70) {
      history.push(value);
      const input: KvInput = { type: 'put', key, value };
      slot.busy = this.kv.write({ type: 'put', request: { key: bytes(key), value: bytes(value) } }, (r) => {
        if (r !== null && !r.ok) return void (slot.busy = false);
        record(input, r === null ? null : {});
      });
    } else if (roll < 90) {
      const recent = history.slice(-3);
      const expected = randomChance(prng, 0.2) || recent.length === 0 ? undefined : recent[randomInt(prng, recent.length)];
      history.push(value);
      const input: KvInput = { type: 'cas', key, expected, value };
      const compare = expected === undefined
        ? { key: bytes(key), result: CompareResult.Equal, target: 'version' as const, version: 0 }
        : { key: bytes(key), result: CompareResult.Equal, target: 'value' as const, value: bytes(expected) };
      slot.busy = this.kv.write({
        type: 'txn',
        request: { compare: [compare], success: [{ type: 'put', request: { key: bytes(key), value: bytes(value) } }], failure: [] },
      }, (r) => {
        if (r !== null && !r.ok) return void (slot.busy = false);
        record(input, r === null ? null : { ok: txnSucceeded(r) });
      });
    } else {
      const input: KvInput = { type: 'delete', key };
      slot.busy = this.kv.write({ type: 'deleteRange', request: { key: bytes(key) } }, (r) => {
        if (r !== null && !r.ok) return void (slot.busy = false);
        record(input, r === null ? null : { deleted: r !== null && r.ok && r.result.type === 'deleteRange' && r.result.response.deleted > 0 });
      });
    }
  }

  finishTick(): boolean {
    return true;
  }

  history(): RegisterHistory {
    return { workload: 'register', operations: this.ops };
  }
}

function txnSucceeded(r: KvApplyResult): boolean {
  if (!r.ok || r.result.type !== 'txn') throw new Error('a txn answered with something else');
  return r.result.response.succeeded;
}

/** SetWorkload: unique adds under one prefix, then one final read of the whole set. */
export class SetWorkload implements StackWorkload {
  readonly name = 'set' as const;
  private readonly adds: SetHistory['adds'][number][] = [];
  private readonly clients: Clients;
  private readonly final: FinalRead<string[]>;
  private seq = 0;
  private readonly prefix = '/s/';

  constructor(private readonly kv: KvClients, prng: Prng) {
    this.clients = new Clients(4, prng, 0.5);
    this.final = new FinalRead(kv, (store) => [...rangePrefix(store, this.prefix).kvs.keys()].map((k) => k.slice(this.prefix.length)));
  }

  onTick(): void {
    this.clients.each((slot) => {
      const element = `e${++this.seq}`;
      const callTime = this.kv.nowMs();
      slot.busy = this.kv.write({ type: 'put', request: { key: bytes(this.prefix + element), value: bytes('1') } }, (r) => {
        slot.busy = false;
        if (r === null) {
          this.adds.push({ clientId: slot.id, callTime, returnTime: null, input: { element } });
          this.clients.renew(slot);
        } else if (r.ok) {
          this.adds.push({ clientId: slot.id, callTime, returnTime: this.kv.nowMs(), input: { element }, output: {} });
        }
      });
    });
  }

  finishTick(): boolean {
    return this.final.step();
  }

  history(): SetHistory {
    const r = this.final.result;
    return { workload: 'set', adds: this.adds, finalRead: r === undefined ? null : { time: r.time, elements: r.value } };
  }
}

/** SequencerWorkload: concurrent increment-and-get calls on two named counters. */
export class SequencerWorkload implements StackWorkload {
  readonly name = 'sequencer' as const;
  private readonly calls: SequencerHistory['calls'][number][] = [];
  private readonly clients: Clients;
  private readonly names = ['seq-a', 'seq-b'];

  constructor(private readonly kv: KvClients, prng: Prng) {
    this.clients = new Clients(4, prng, 0.5);
  }

  onTick(): void {
    this.clients.each((slot) => {
      const prng = this.kv.prng;
      const name = this.names[randomInt(prng, this.names.length)]!;
      const count = 1 + randomInt(prng, 3);
      const callTime = this.kv.nowMs();
      slot.busy = this.kv.write({ type: 'sequencerNext', request: { name: bytes(name), count } }, (r) => {
        slot.busy = false;
        if (r === null) {
          this.calls.push({ clientId: slot.id, callTime, returnTime: null, input: { name, count } });
          this.clients.renew(slot);
        } else if (r.ok) {
          if (r.result.type !== 'sequencerNext') throw new Error('a sequencer call answered with something else');
          this.calls.push({ clientId: slot.id, callTime, returnTime: this.kv.nowMs(), input: { name, count }, output: { first: String(r.result.response.first) } });
        }
      });
    });
  }

  finishTick(): boolean {
    return true;
  }

  history(): SequencerHistory {
    return { workload: 'sequencer', calls: this.calls };
  }
}

/** SimWatcher is one watcher: attached to a node's watch hub, resuming on another node after it left. */
interface SimWatcher {
  readonly id: number;
  readonly events: HistoryWatchEvent[];
  compacted: boolean;
  /** lastRevision is the revision of the last event received (the watch resumes after it). */
  lastRevision: number;
  attached: { node: NodeId; store: MvccStore; watchId: number } | undefined;
}

/** WATCH_START_REVISION: the watch workload runs alone on a fresh store (revision 1). */
const WATCH_START_REVISION = 1;

/** WatchWorkload: writers change keys under a prefix while watchers record every event. */
export class WatchWorkload implements StackWorkload {
  readonly name = 'watch' as const;
  private readonly clients: Clients;
  private readonly watchers: SimWatcher[] = [];
  private readonly acknowledged: WatchHistory['acknowledged'][number][] = [];
  private readonly final: FinalRead<{ revision: number; kvs: Map<string, string> }>;
  private valueSeq = 0;
  private readonly prefix = '/w/';
  private readonly keys = ['/w/a', '/w/b', '/w/c', '/w/d'];

  constructor(private readonly kv: KvClients, prng: Prng, private readonly world: World) {
    this.clients = new Clients(3, prng, 0.5);
    for (let id = 0; id < 3; id++) this.watchers.push({ id, events: [], compacted: false, lastRevision: WATCH_START_REVISION, attached: undefined });
    this.final = new FinalRead(kv, (store) => rangePrefix(store, this.prefix));
  }

  onTick(): void {
    this.clients.each((slot) => {
      const prng = this.kv.prng;
      const key = this.keys[randomInt(prng, this.keys.length)]!;
      if (randomChance(prng, 0.2)) {
        slot.busy = this.kv.write({ type: 'deleteRange', request: { key: bytes(key) } }, (r) => {
          slot.busy = false;
          if (r !== null && r.ok && r.result.type === 'deleteRange') {
            this.acknowledged.push({ key, type: 'delete', revision: String(r.result.response.header.revision) });
          }
        });
      } else {
        const value = `v${++this.valueSeq}`;
        slot.busy = this.kv.write({ type: 'put', request: { key: bytes(key), value: bytes(value) } }, (r) => {
          slot.busy = false;
          if (r !== null && r.ok && r.result.type === 'put') {
            this.acknowledged.push({ key, type: 'put', value, revision: String(r.result.response.header.revision) });
          }
        });
      }
    });
    this.pumpWatchers();
  }

  /** pumpWatchers (re)attaches watchers to running nodes and takes their events. */
  private pumpWatchers(): void {
    const prng = this.kv.prng;
    for (const w of this.watchers) {
      if (w.compacted) continue;
      const a = w.attached;
      const node = a === undefined ? undefined : this.world.nodes[a.node - 1];
      // Detach when the node went down, replaced its store (restart, snapshot) or left the
      // configuration (a removed node that has not learnt it yet receives nothing more), or now
      // and then to move.
      if (a !== undefined && (node === undefined || !node.up || storeOf(node) !== a.store || !this.member(node) || randomChance(prng, 0.01))) {
        if (node?.up && storeOf(node) === a.store) (node.sm as KvSimStateMachine).hub.cancel(a.watchId);
        w.attached = undefined;
      }
      if (w.attached === undefined) {
        const up = upNodes(this.world).filter((n) => n.raw !== undefined && this.member(n));
        const target = up[randomInt(prng, Math.max(1, up.length))];
        if (target === undefined) continue;
        const sm = target.sm as KvSimStateMachine;
        const created = sm.hub.create({ key: bytes(this.prefix), rangeEnd: prefixEnd(bytes(this.prefix)), startRevision: w.lastRevision + 1 });
        if (created === undefined) continue;
        w.attached = { node: target.id, store: sm.store, watchId: created.watchId };
      }
      const at = w.attached;
      const hub = (this.world.nodes[at.node - 1]!.sm as KvSimStateMachine).hub;
      while (hub.hasPending(at.watchId)) {
        for (const response of hub.take(at.watchId)) {
          if (response.canceled) {
            w.compacted = true;
            w.attached = undefined;
            break;
          }
          for (const e of response.events) this.receive(w, e);
        }
        if (w.attached === undefined) break;
      }
    }
  }

  /** member: is the node in the current leader's configuration (any node when there is no leader)? */
  private member(node: SimNode): boolean {
    const cs = currentLeader(this.world)?.confState;
    return cs === undefined || isMember(cs, node.id);
  }

  private receive(w: SimWatcher, e: WatchEvent): void {
    const revision = e.kv.modRevision;
    const key = text(e.kv.key);
    w.events.push(e.type === EventType.Put
      ? { revision: String(revision), key, type: 'put', value: text(e.kv.value) }
      : { revision: String(revision), key, type: 'delete' });
    if (revision > w.lastRevision) w.lastRevision = revision;
  }

  finishTick(): boolean {
    this.pumpWatchers();
    if (!this.final.step()) return false;
    const finalRevision = this.final.result!.value.revision;
    return this.watchers.every((w) => w.compacted || w.lastRevision >= finalRevision);
  }

  history(): WatchHistory {
    const r = this.final.result;
    return {
      workload: 'watch',
      prefix: this.prefix,
      startRevision: String(WATCH_START_REVISION),
      initial: {},
      watchers: this.watchers.map((w) => ({ id: w.id, events: w.events, ...(w.compacted ? { compacted: true } : {}) })),
      acknowledged: this.acknowledged,
      final: r === undefined ? null : { revision: String(r.value.revision), kvs: Object.fromEntries(r.value.kvs) },
    };
  }
}
