import { randomChance, randomInt, type Prng } from '../../src/lib/prng.js';
import type { Message, NodeId } from '../../src/raft/index.js';

/** NetworkFaults are the per-message fault rates of the simulated network (all drawn from the seed). */
export interface NetworkFaults {
  /** dropRate is the chance (0..1) that any one message is lost. */
  dropRate: number;
  /** duplicateRate is the chance (0..1) that a message is delivered twice. */
  duplicateRate: number;
  /** delayStepsMin / delayStepsMax bound a message's one-way delay, in simulator steps. */
  delayStepsMin: number;
  delayStepsMax: number;
  /** longDelayRate is the chance a message takes up to `longDelayStepsMax` instead. */
  longDelayRate: number;
  longDelayStepsMax: number;
  /** reorder lets messages on one link overtake each other; false keeps each link FIFO. */
  reorder: boolean;
}

/** InFlight is one message on the wire. */
interface InFlight {
  /** sender is the node that put the message on the wire (a forwarded request keeps its origin in `from`). */
  readonly sender: NodeId;
  readonly message: Message;
  deliverAtStep: number;
  /** seq breaks ties so delivery order depends only on the seed. */
  readonly seq: number;
}

/** DropReason says why the network lost a message (for the trace). */
export type DropReason = 'loss' | 'partition' | 'flaky-link';

/**
 * SimNetwork is the simulated network between nodes. Faults: random loss, duplication, delay
 * (with a long tail) and reordering; directed link cuts (symmetric and one-way partitions);
 * per-link extra loss (flaky links); and FoundationDB-style clogging, which holds every message to
 * or from a clogged node until it is unclogged. Everything random comes from the injected PRNG.
 */
export class SimNetwork {
  private queue: InFlight[] = [];
  private seq = 0;
  /** blocked counts the active cuts of each directed link `from->to` (partitions may overlap). */
  private readonly blocked = new Map<string, number>();
  /** flaky maps a directed link `from->to` to its extra loss rate. */
  private readonly flaky = new Map<string, number>();
  /** clogged nodes send and receive nothing until unclogged; their messages wait. */
  private readonly clogged = new Set<NodeId>();
  /** fifoLastStep keeps per-link FIFO order when reordering is off. */
  private readonly fifoLastStep = new Map<string, number>();
  messagesSent = 0;
  messagesDropped = 0;
  messagesDuplicated = 0;

  constructor(private readonly prng: Prng, public faults: NetworkFaults, private readonly inFlightMax: number) {}

  /**
   * send puts a message on the wire at `nowStep`, or drops it (returns the reason). A duplicate is
   * queued with its own delay.
   */
  send(sender: NodeId, message: Message, nowStep: number): DropReason | undefined {
    this.messagesSent++;
    const reason = this.lossAtSend(sender, message);
    if (reason) {
      this.messagesDropped++;
      return reason;
    }
    if (this.queue.length >= this.inFlightMax) {
      this.messagesDropped++;
      return 'loss';
    }
    this.enqueue(sender, message, nowStep);
    if (randomChance(this.prng, this.faults.duplicateRate)) {
      this.messagesDuplicated++;
      this.enqueue(sender, message, nowStep);
    }
    return undefined;
  }

  private lossAtSend(sender: NodeId, message: Message): DropReason | undefined {
    const key = linkKey(sender, message.to);
    if (this.blocked.has(key)) return 'partition';
    if (randomChance(this.prng, this.faults.dropRate)) return 'loss';
    const extra = this.flaky.get(key);
    if (extra !== undefined && randomChance(this.prng, extra)) return 'flaky-link';
    return undefined;
  }

  private enqueue(sender: NodeId, message: Message, nowStep: number): void {
    const f = this.faults;
    const delay = randomChance(this.prng, f.longDelayRate)
      ? f.delayStepsMin + randomInt(this.prng, f.longDelayStepsMax - f.delayStepsMin + 1)
      : f.delayStepsMin + randomInt(this.prng, f.delayStepsMax - f.delayStepsMin + 1);
    let at = nowStep + Math.max(1, delay);
    if (!f.reorder) {
      const key = linkKey(sender, message.to);
      at = Math.max(at, this.fifoLastStep.get(key) ?? 0);
      this.fifoLastStep.set(key, at);
    }
    this.queue.push({ sender, message, deliverAtStep: at, seq: this.seq++ });
  }

  /**
   * takeDue removes and returns the messages due at `nowStep`, in (step, seq) order. Messages to or
   * from a clogged node stay queued; messages whose link was cut while in flight are dropped
   * (reported through `onDrop`).
   */
  takeDue(nowStep: number, onDrop: (sender: NodeId, m: Message, reason: DropReason) => void): { sender: NodeId; message: Message }[] {
    const due: InFlight[] = [];
    const keep: InFlight[] = [];
    for (const f of this.queue) {
      if (f.deliverAtStep > nowStep || this.clogged.has(f.sender) || this.clogged.has(f.message.to)) {
        keep.push(f);
      } else {
        due.push(f);
      }
    }
    if (due.length === 0) return [];
    this.queue = keep;
    due.sort((a, b) => a.deliverAtStep - b.deliverAtStep || a.seq - b.seq);
    const out: { sender: NodeId; message: Message }[] = [];
    for (const f of due) {
      if (this.blocked.has(linkKey(f.sender, f.message.to))) {
        this.messagesDropped++;
        onDrop(f.sender, f.message, 'partition');
      } else {
        out.push({ sender: f.sender, message: f.message });
      }
    }
    return out;
  }

  /** inFlight is the number of queued messages. */
  get inFlight(): number {
    return this.queue.length;
  }

  /** cut blocks the directed link from -> to (one more cut on it). */
  cut(from: NodeId, to: NodeId): void {
    const key = linkKey(from, to);
    this.blocked.set(key, (this.blocked.get(key) ?? 0) + 1);
  }

  /** uncut removes one cut from the directed link from -> to; it opens when no cut is left. */
  uncut(from: NodeId, to: NodeId): void {
    const key = linkKey(from, to);
    const n = this.blocked.get(key) ?? 0;
    if (n <= 1) this.blocked.delete(key);
    else this.blocked.set(key, n - 1);
  }

  /** isCut tells whether the directed link from -> to is blocked. */
  isCut(from: NodeId, to: NodeId): boolean {
    return this.blocked.has(linkKey(from, to));
  }

  /** healLinks unblocks every link and clears every flaky link. */
  healLinks(): void {
    this.blocked.clear();
    this.flaky.clear();
  }

  /** setFlaky gives the directed link from -> to an extra loss rate (0 clears it). */
  setFlaky(from: NodeId, to: NodeId, dropRate: number): void {
    if (dropRate > 0) this.flaky.set(linkKey(from, to), dropRate);
    else this.flaky.delete(linkKey(from, to));
  }

  /** clog holds every message to or from `id` until `unclog(id)`. */
  clog(id: NodeId): void {
    this.clogged.add(id);
  }

  /** unclog releases a clogged node; its held messages are delivered from the next step. */
  unclog(id: NodeId): void {
    this.clogged.delete(id);
  }

  /** cloggedNodes lists the clogged nodes in id order. */
  cloggedNodes(): NodeId[] {
    return [...this.clogged].sort((a, b) => a - b);
  }

  /** describeFaults renders the current link faults for the trace. */
  describeFaults(): string {
    return `cut:[${[...this.blocked.keys()].sort().join(' ')}] flaky:[${[...this.flaky].map(([k, v]) => `${k}=${v.toFixed(2)}`).sort().join(' ')}] clogged:[${this.cloggedNodes().join(' ')}]`;
  }
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}->${to}`;
}
