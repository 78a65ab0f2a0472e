import { randomInt, Xoshiro128, type Prng } from '../../src/lib/prng.js';
import type { VerifyCluster } from './cluster.js';

/**
 * Nemeses: the faults the verification harness injects into a real cluster, on a schedule drawn
 * from a seed. A run alternates healthy gaps (1.5–3.5 s) and faults (2–6 s each); every fault is
 * healed before the next gap. `all` draws each fault's kind from every kind available and, one
 * time in four, combines a network fault with a process or disk fault. Targets that depend on
 * the cluster (the current leader) are looked up when the fault starts, so a seed fixes the
 * schedule and the choices, not which member happened to lead.
 *
 * The kinds (docs/verification.md):
 * - kill: SIGKILL a minority (sometimes including the leader); restart on heal, same flags and data.
 * - pause: SIGSTOP a minority; SIGCONT on heal.
 * - partition-leader: cut the leader off from every other member, both ways.
 * - partition-random: a random minority against the majority, both ways.
 * - partition-bridge: two halves that cannot talk, and one member that talks to both.
 * - partition-oneway: one member stops receiving from (or sending to) some others; the other direction still works.
 * - disk-full: fill one member's data dir (tmpfs) until ENOSPC; delete the ballast on heal.
 */

/** FAULT_KINDS lists every fault the harness can inject. */
export const FAULT_KINDS = ['kill', 'pause', 'partition-leader', 'partition-random', 'partition-bridge', 'partition-oneway', 'disk-full'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** NEMESIS_NAMES are the values of --nemesis: one kind, every kind, or none (a baseline run). */
export const NEMESIS_NAMES = [...FAULT_KINDS, 'all', 'none'] as const;
export type NemesisName = (typeof NEMESIS_NAMES)[number];

const NETWORK_KINDS: ReadonlySet<FaultKind> = new Set(['partition-leader', 'partition-random', 'partition-bridge', 'partition-oneway']);

/** NemesisEvent is one line of the nemesis log: a fault starting or healing, at `time` ms of the run. */
export interface NemesisEvent {
  readonly time: number;
  readonly action: 'start' | 'heal' | 'note';
  readonly kind: FaultKind | 'heal-all' | 'exit';
  readonly detail: string;
}

/** NemesisSchedule bounds the gaps and faults, in ms. */
export interface NemesisSchedule {
  readonly gapMsMin: number;
  readonly gapMsMax: number;
  readonly faultMsMin: number;
  readonly faultMsMax: number;
  /** comboChance: for `all`, the chance that a fault combines a network fault with a process or disk fault. */
  readonly comboChance: number;
}

/** DEFAULT_SCHEDULE is the schedule of `npm run verify`. */
export const DEFAULT_SCHEDULE: NemesisSchedule = { gapMsMin: 1_500, gapMsMax: 3_500, faultMsMin: 2_000, faultMsMax: 6_000, comboChance: 0.25 };

/** isNemesisName narrows a --nemesis value. */
export function isNemesisName(name: string): name is NemesisName {
  return (NEMESIS_NAMES as readonly string[]).includes(name);
}

/**
 * nemesisKinds resolves a nemesis name to the kinds it draws from, given whether the disk fault
 * is available; `skipped` says what was left out and why.
 */
export function nemesisKinds(name: NemesisName, diskFullUnavailable: string | undefined): { kinds: FaultKind[]; skipped?: string } {
  const wanted: FaultKind[] = name === 'all' ? [...FAULT_KINDS] : name === 'none' ? [] : [name];
  if (diskFullUnavailable === undefined || !wanted.includes('disk-full')) return { kinds: wanted };
  return { kinds: wanted.filter((k) => k !== 'disk-full'), skipped: `disk-full not feasible here (${diskFullUnavailable})` };
}

/** ActiveFault is a started fault and how to undo it. */
interface ActiveFault {
  readonly kind: FaultKind;
  readonly detail: string;
  heal(): Promise<void>;
}

/** NemesisOptions configures `runNemesis`. */
export interface NemesisOptions {
  readonly kinds: readonly FaultKind[];
  readonly seed: number;
  readonly durationMs: number;
  readonly signal: AbortSignal;
  /** now: ms since the run started (the time base of the workload history). */
  readonly now: () => number;
  readonly log: (line: string) => void;
  readonly schedule?: NemesisSchedule;
}

/**
 * runNemesis injects faults into `cluster` until `durationMs` (by `now`) or abort, healing each
 * one before the next; resolves with the log. It does not heal the cluster as a whole: the
 * caller runs `cluster.healAll()` afterwards (a fault whose heal failed leaves work for it).
 */
export async function runNemesis(cluster: VerifyCluster, options: NemesisOptions): Promise<NemesisEvent[]> {
  const events: NemesisEvent[] = [];
  const schedule = options.schedule ?? DEFAULT_SCHEDULE;
  const prng = new Xoshiro128(options.seed);
  const record = (action: NemesisEvent['action'], kind: NemesisEvent['kind'], detail: string): void => {
    const event = { time: Math.round(options.now()), action, kind, detail };
    events.push(event);
    options.log(`nemesis ${(event.time / 1000).toFixed(1)} s ${action} ${kind}${detail ? `: ${detail}` : ''}`);
  };
  const end = options.durationMs;
  const wait = async (ms: number): Promise<void> => {
    const until = Math.min(options.now() + ms, end);
    while (options.now() < until && !options.signal.aborted) await sleep(Math.min(100, until - options.now()));
  };
  if (options.kinds.length === 0) {
    await wait(end);
    return events;
  }
  while (options.now() < end && !options.signal.aborted) {
    await wait(between(prng, schedule.gapMsMin, schedule.gapMsMax));
    if (options.now() >= end || options.signal.aborted) break;
    const kinds = chooseKinds(prng, options.kinds, schedule.comboChance);
    const active: ActiveFault[] = [];
    for (const kind of kinds) {
      try {
        const fault = await startFault(cluster, kind, prng);
        active.push(fault);
        record('start', kind, fault.detail);
      } catch (error) {
        record('note', kind, `could not start: ${(error as Error).message}`);
      }
    }
    await wait(between(prng, schedule.faultMsMin, schedule.faultMsMax));
    for (const fault of active.reverse()) {
      try {
        await fault.heal();
        record('heal', fault.kind, fault.detail);
      } catch (error) {
        record('note', fault.kind, `heal failed (left to the final heal): ${(error as Error).message}`);
      }
    }
    // A member that died by itself during the fault comes back now (its exit is on record).
    for (let i = 1; i <= cluster.size; i++) {
      if (cluster.state(i) === 'exited') {
        cluster.start(i);
        record('note', 'exit', `restarted m${i}, which had exited by itself`);
      }
    }
  }
  return events;
}

function between(prng: Prng, low: number, high: number): number {
  return low + randomInt(prng, Math.max(1, high - low + 1));
}

function chooseKinds(prng: Prng, kinds: readonly FaultKind[], comboChance: number): FaultKind[] {
  const first = kinds[randomInt(prng, kinds.length)]!;
  if (kinds.length < 2 || prng.nextUint32() / 0x1_0000_0000 >= comboChance) return [first];
  // Combine one network fault with one process or disk fault (two partitions would share one heal).
  const otherSide = kinds.filter((k) => NETWORK_KINDS.has(k) !== NETWORK_KINDS.has(first));
  if (otherSide.length === 0) return [first];
  return [first, otherSide[randomInt(prng, otherSide.length)]!];
}

/** shuffled returns 1..n in an order drawn from prng. */
function shuffled(prng: Prng, n: number): number[] {
  const out = Array.from({ length: n }, (_, k) => k + 1);
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(prng, i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** minorityTargets picks 1..⌊(n-1)/2⌋ members, including the leader half of the time (when there is one). */
async function minorityTargets(cluster: VerifyCluster, prng: Prng): Promise<number[]> {
  const count = 1 + randomInt(prng, Math.max(1, Math.floor((cluster.size - 1) / 2)));
  const withLeader = randomInt(prng, 2) === 0;
  const order = shuffled(prng, cluster.size);
  const leader = withLeader ? await cluster.leader() : undefined;
  const targets = leader === undefined ? [] : [leader];
  for (const i of order) if (targets.length < count && !targets.includes(i)) targets.push(i);
  return targets.sort((a, b) => a - b);
}

async function leaderOrAny(cluster: VerifyCluster, prng: Prng): Promise<{ index: number; isLeader: boolean }> {
  const fallback = 1 + randomInt(prng, cluster.size);
  const leader = await cluster.leader();
  return leader === undefined ? { index: fallback, isLeader: false } : { index: leader, isLeader: true };
}

const names = (members: readonly number[]): string => members.map((i) => `m${i}`).join(',');

/** startFault starts one fault of `kind` and returns how to heal it. */
async function startFault(cluster: VerifyCluster, kind: FaultKind, prng: Prng): Promise<ActiveFault> {
  switch (kind) {
    case 'kill': {
      const targets = await minorityTargets(cluster, prng);
      for (const i of targets) await cluster.kill(i);
      return {
        kind, detail: `SIGKILL ${names(targets)}`,
        heal: async () => { for (const i of targets) if (cluster.state(i) === 'killed' || cluster.state(i) === 'exited') cluster.start(i); },
      };
    }
    case 'pause': {
      const targets = (await minorityTargets(cluster, prng)).filter((i) => cluster.state(i) === 'running');
      for (const i of targets) cluster.pause(i);
      return { kind, detail: `SIGSTOP ${names(targets)}`, heal: async () => { for (const i of targets) cluster.resume(i); } };
    }
    case 'partition-leader': {
      const { index, isLeader } = await leaderOrAny(cluster, prng);
      const rest = cluster.names.map((_, k) => k + 1).filter((i) => i !== index);
      await cluster.partition([index], rest);
      return { kind, detail: `${isLeader ? 'leader' : 'no leader found; member'} m${index} | ${names(rest)}`, heal: () => cluster.network.heal() };
    }
    case 'partition-random': {
      const order = shuffled(prng, cluster.size);
      const minority = order.slice(0, 1 + randomInt(prng, Math.max(1, Math.floor((cluster.size - 1) / 2)))).sort((a, b) => a - b);
      const majority = order.filter((i) => !minority.includes(i)).sort((a, b) => a - b);
      await cluster.partition(minority, majority);
      return { kind, detail: `${names(minority)} | ${names(majority)}`, heal: () => cluster.network.heal() };
    }
    case 'partition-bridge': {
      const order = shuffled(prng, cluster.size);
      const bridge = order[0]!;
      const half = Math.floor((cluster.size - 1) / 2);
      const left = order.slice(1, 1 + half).sort((a, b) => a - b);
      const right = order.slice(1 + half).sort((a, b) => a - b);
      await cluster.partition(left, right);
      return { kind, detail: `${names(left)} | ${names(right)}, bridged by m${bridge}`, heal: () => cluster.network.heal() };
    }
    case 'partition-oneway': {
      const { index, isLeader } = await leaderOrAny(cluster, prng);
      const others = shuffled(prng, cluster.size).filter((i) => i !== index);
      const peers = others.slice(0, 1 + randomInt(prng, others.length)).sort((a, b) => a - b);
      const inbound = randomInt(prng, 2) === 0;
      for (const p of peers) await (inbound ? cluster.block(p, index) : cluster.block(index, p));
      const who = `${isLeader ? 'leader ' : ''}m${index}`;
      const detail = inbound ? `${who} sends to ${names(peers)} but receives nothing from them` : `${who} receives from ${names(peers)} but its messages to them are lost`;
      return { kind, detail, heal: () => cluster.network.heal() };
    }
    case 'disk-full': {
      const { index, isLeader } = await leaderOrAny(cluster, prng);
      const bytes = await cluster.fillDisk(index);
      return {
        kind, detail: `filled ${isLeader ? 'leader ' : ''}m${index}'s data dir (${Math.round(bytes / 1024 / 1024)} MiB of ballast)`,
        heal: async () => {
          await cluster.freeDisk(index);
          if (cluster.state(index) === 'exited') cluster.start(index);
        },
      };
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
