/**
 * SimLessors runs the server's own lessor (`src/server/lessor.ts`) on every simulated node, on
 * simulated time, wired as `src/server/member.ts` wires it: it hears every applied KV command
 * and every restore of the node's store, is told on every tick whether its node leads, and ticks
 * once a tick (the server ticks it every heartbeat interval, 100 ms, which is one simulated
 * tick). Its proposals (revokes of expired leases, periodic checkpoints of remaining TTLs) enter
 * the node's log like a client's. The lessor imports nothing non-deterministic (its clock and its
 * proposer are injected); its proposal promises never need to settle during a run, because it
 * only logs their failure.
 *
 * A restarted node gets a new lessor with its new state machine (a restarted server starts its
 * lessor from the restored store). Every member reads the same simulated clock; with the
 * `fast-lease-clock` fault (a negative control) every lessor's clock runs ten times too fast, so
 * leases expire at a tenth of their TTL while their keep-alives are still being acknowledged.
 */
import { nullLogger } from '../../src/lib/logger.js';
import { Lessor, leaseTail, type LeaseTail } from '../../src/server/lessor.js';
import { decodeKvCommand, type KvApplyResult, type KvCommand, type LeaseId } from '../../src/kv/index.js';
import { EntryType, RaftError, Role } from '../../src/raft/index.js';
import { SIM_MS_PER_STEP } from './kv-clients.js';
import { decodeStackValue, encodeStackBytes, KvSimStateMachine, type StackFault } from './kv-state-machine.js';
import { decodeValue, encodeValue } from './state-machine.js';
import type { World } from './world.js';

/** FAST_LEASE_CLOCK_FACTOR: how much faster the lessors' clock runs under the `fast-lease-clock` fault. */
export const FAST_LEASE_CLOCK_FACTOR = 10;

/** LESSOR_REVOKE_RETRY_MS: the lessor's revokeRetryMs in the simulator (the server's default). */
export const LESSOR_REVOKE_RETRY_MS = 1_000;

/** SimLessors owns one lessor per node state machine (see the file comment). */
export class SimLessors {
  private readonly lessors = new Map<KvSimStateMachine, Lessor>();
  private seq = 0;
  /** counts for the run's summary. */
  readonly stats = { revokesProposed: 0, checkpointsProposed: 0 };
  /** renewalsAppliedAtMs: the latest simulated time a renewal (full-TTL checkpoint) of each lease was applied on any node. */
  readonly renewalsAppliedAtMs = new Map<LeaseId, number>();

  /** promoteGraceMs is the election timeout, as the server configures it. */
  readonly promoteGraceMs: number;

  constructor(private readonly world: World, electionTicks: number, private readonly fault: StackFault) {
    this.promoteGraceMs = electionTicks * 10 * SIM_MS_PER_STEP;
  }

  /** attach gives a new state machine its lessor. */
  attach(sm: KvSimStateMachine): void {
    const clockFactor = this.fault === 'fast-lease-clock' ? FAST_LEASE_CLOCK_FACTOR : 1;
    const lessor = new Lessor(
      () => sm.store,
      () => this.world.step * SIM_MS_PER_STEP * clockFactor,
      (command) => this.propose(sm, command),
      nullLogger,
      { promoteGraceMs: this.promoteGraceMs, revokeRetryMs: LESSOR_REVOKE_RETRY_MS },
      undefined,
      () => this.logTail(sm),
    );
    sm.onCommandApplied = (command, result) => {
      if (command.type === 'leaseCheckpoint' && result.ok) {
        const at = this.world.step * SIM_MS_PER_STEP;
        for (const c of command.request.checkpoints) {
          const granted = sm.store.leaseInfo(c.id)?.grantedTtl;
          if (granted !== undefined && c.remainingTtl >= granted) this.renewalsAppliedAtMs.set(c.id, Math.max(this.renewalsAppliedAtMs.get(c.id) ?? 0, at));
        }
      }
      lessor.onApplied(command, result);
    };
    sm.onRestored = lessor.onRestore;
    this.lessors.set(sm, lessor);
  }

  /** onTick tells every running node's lessor whether its node leads, then ticks it. */
  onTick(): void {
    for (const n of this.world.nodes) {
      if (!n.raw || !(n.sm instanceof KvSimStateMachine)) continue;
      const lessor = this.lessors.get(n.sm);
      if (lessor === undefined) continue;
      lessor.setPrimary(n.role === Role.Leader);
      lessor.tick();
    }
    // Forget the lessors of state machines no node holds any more (restarts).
    if (this.lessors.size > 2 * this.world.nodes.length) {
      const held = new Set(this.world.nodes.map((n) => n.sm));
      for (const sm of [...this.lessors.keys()]) if (!held.has(sm)) this.lessors.delete(sm);
    }
  }

  /** logTail: the lease renewals and revokes in the node's log after its applied index (as the server's group host reports them). */
  private logTail(sm: KvSimStateMachine): LeaseTail {
    const node = this.world.nodes.find((n) => n.sm === sm);
    const log = node?.raw?.raft.raftLog;
    if (!node || !log || log.lastIndex() <= sm.appliedIndex) return { renewed: new Set(), revoked: new Set() };
    const commands: KvCommand[] = [];
    for (const e of log.entries(sm.appliedIndex + 1, Number.MAX_SAFE_INTEGER)) {
      if (e.type !== EntryType.Normal || e.data.byteLength === 0) continue;
      const decoded = decodeStackValue(decodeValue(e.data));
      if (decoded) commands.push(decoded.command);
    }
    return leaseTail(commands, sm.store);
  }

  /** propose enters a lessor's command into its node's log. */
  private propose(sm: KvSimStateMachine, command: Uint8Array): Promise<KvApplyResult> {
    const w = this.world;
    const node = w.nodes.find((n) => n.sm === sm);
    const raw = node?.raw;
    if (!node || !raw) return Promise.reject(new Error('the lessor\'s node is down'));
    const value = encodeStackBytes(`ls${++this.seq}`, command);
    const kind = decodeKvCommand(command).type;
    try {
      raw.propose(encodeValue(value));
    } catch (error) {
      if (!(error instanceof RaftError)) throw error;
      w.trace.add(`lessor n${node.id} ${kind} ls${this.seq} refused ${error.code}`);
      return Promise.reject(error);
    }
    w.proposals.set(value, { node: node.id, incarnation: node.incarnation, tick: w.tick });
    w.stats.proposals++;
    if (kind === 'leaseRevoke') this.stats.revokesProposed++;
    else this.stats.checkpointsProposed++;
    w.trace.add(`lessor n${node.id} ${kind} ls${this.seq}`);
    // The lessor only logs a failure; it never needs the answer during the run.
    return new Promise<KvApplyResult>(() => {});
  }
}
