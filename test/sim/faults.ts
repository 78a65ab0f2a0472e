import { randomChance, randomInt, type Prng } from '../../src/lib/prng.js';
import { nodeId, type Message, type NodeId } from '../../src/raft/index.js';
import { LinkMode, type LinkMode as LinkModeT } from './params.js';
import { isMember } from './sim-node.js';
import { reach, schedule, type World } from './world.js';

/** shuffle returns a copy of `xs` in a random order drawn from `prng`. */
export function shuffle<T>(prng: Prng, xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(prng, i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** randomSubset draws a subset of `xs` with between `min` and `max` elements. */
export function randomSubset<T>(prng: Prng, xs: readonly T[], min: number, max: number): T[] {
  const size = min + randomInt(prng, Math.max(1, max - min + 1));
  return shuffle(prng, xs).slice(0, Math.min(size, xs.length));
}

function liveIds(world: World): NodeId[] {
  return world.nodes.filter((n) => !n.removed).map((n) => n.id);
}

/** setUpFlakyLinks gives a few random directed links extra loss for the whole fault phase. */
export function setUpFlakyLinks(world: World): void {
  const f = world.params.faults;
  const ids = liveIds(world);
  for (let i = 0; i < f.flakyLinks; i++) {
    const from = ids[randomInt(world.faultPrng, ids.length)]!;
    const to = ids[randomInt(world.faultPrng, ids.length)]!;
    if (from === to) continue;
    world.network.setFlaky(from, to, f.flakyDropRate);
    world.trace.add(`fault flaky link ${from}->${to} drop=${f.flakyDropRate.toFixed(2)}`);
  }
}

/** FLAKY_LINK_DROP_RATE is the loss (0..1) on each direction of the flaky-link scenario's node. */
export const FLAKY_LINK_DROP_RATE = 0.75;

/** setUpLinkMode puts the flaky-link scenario's fault on node `id`'s links. */
export function setUpLinkMode(world: World, id: NodeId, mode: LinkModeT): void {
  for (const other of liveIds(world)) {
    if (other === id) continue;
    switch (mode) {
      case LinkMode.CannotReceive: world.network.cut(other, id); break;
      case LinkMode.CannotSend: world.network.cut(id, other); break;
      case LinkMode.Flaky:
        world.network.setFlaky(id, other, FLAKY_LINK_DROP_RATE);
        world.network.setFlaky(other, id, FLAKY_LINK_DROP_RATE);
        break;
    }
  }
  world.trace.add(`fault link mode ${mode} on node ${id}: ${world.network.describeFaults()}`);
}

/**
 * injectFaults draws this tick's fault events (safety phase only): crashes (restarted after a
 * random down time), symmetric and one-way partitions (healed after a random time), and
 * FoundationDB-style clogging of a random subset of nodes, unclogged one by one in random order.
 */
export function injectFaults(world: World): void {
  const f = world.params.faults;
  const prng = world.faultPrng;
  const ids = liveIds(world);
  if (ids.length < 2) return;

  if (randomChance(prng, f.crashPerTick)) {
    const up = world.nodes.filter((n) => n.up);
    const victim = up[randomInt(prng, Math.max(1, up.length))];
    if (victim) {
      victim.crash('fault');
      world.stats.crashes++;
      victim.restartAtTick = world.tick + 1 + randomInt(prng, f.downTicksMax);
    }
  }

  if (randomChance(prng, f.partitionPerTick)) {
    const side = randomSubset(prng, ids, 1, Math.max(1, ids.length - 1));
    const rest = ids.filter((id) => !side.includes(id));
    const oneWay = randomChance(prng, 0.4);
    const links: [NodeId, NodeId][] = [];
    for (const a of side) {
      for (const b of rest) {
        links.push([a, b]);
        if (!oneWay) links.push([b, a]);
      }
    }
    for (const [a, b] of links) world.network.cut(a, b);
    world.stats.partitions++;
    if (oneWay) reach(world.stats, 'one-way-partition');
    const heal = world.tick + 1 + randomInt(prng, f.partitionTicksMax);
    const what = `${oneWay ? 'one-way partition' : 'partition'} [${side.join(' ')}]${oneWay ? '->' : '|'}[${rest.join(' ')}]`;
    world.trace.add(`fault ${what} until tick ${heal}`);
    schedule(world, heal, `heal ${what}`, () => {
      for (const [a, b] of links) world.network.uncut(a, b);
    });
  }

  if (randomChance(prng, f.clogPerTick)) {
    const victims = randomSubset(prng, ids, 1, Math.max(1, ids.length - 1));
    world.stats.clogs++;
    reach(world.stats, 'clog');
    world.trace.add(`fault clog [${victims.join(' ')}]`);
    for (const id of victims) {
      world.network.clog(id);
      schedule(world, world.tick + 1 + randomInt(prng, f.clogTicksMax), `unclog ${id}`, () => world.network.unclog(id));
    }
  }
}

/** STRANGER_ID_MIN: node ids from here up never belong to the group (sources of stray messages). */
const STRANGER_ID_MIN = 1000;

/**
 * strayMessage makes a response-type message from a node outside the group, at a term no higher
 * than the recipient's (so it cannot depose anyone), with random indexes and contexts. The core
 * must drop or ignore it: it never throws on peer input, and a stranger's acknowledgement must
 * not count toward any quorum (vote, commit or ReadIndex), which the checkers would catch.
 */
export function strayMessage(world: World, to: NodeId, term: number): Message {
  const prng = world.faultPrng;
  const from = nodeId(STRANGER_ID_MIN + randomInt(prng, 5));
  const t = randomInt(prng, term + 1);
  const index = randomInt(prng, 1000);
  switch (randomInt(prng, 5)) {
    case 0: return { type: 'MsgAppResp', from, to, term: t, index, reject: randomChance(prng, 0.5), rejectHint: randomInt(prng, index + 1), logTerm: randomInt(prng, t + 1) };
    case 1: return { type: 'MsgHeartbeatResp', from, to, term: t, context: `r${randomInt(prng, 1000)}`, sentTick: randomInt(prng, 100_000) };
    case 2: return { type: 'MsgVoteResp', from, to, term: t, reject: false };
    case 3: return { type: 'MsgPreVoteResp', from, to, term: t + 1, reject: false };
    default: return { type: 'MsgAppResp', from, to, term: t, index, reject: false, rejectHint: 0, logTerm: 0 };
  }
}

/**
 * healForLiveness ends the fault phase: the network becomes reliable (no loss, duplication, long
 * delays, cuts, flaky links or clogs); nodes no member counts any more are decommissioned; when
 * no membership change is in flight (no conf change in any log beyond the most advanced node's
 * applied index) and nobody was decommissioned, a random minority of voters stays down; every
 * other crashed or removed node restarts. So the healed nodes are a majority of every
 * configuration the group may be in.
 */
export function healForLiveness(world: World): void {
  const net = world.network;
  net.healLinks();
  for (const id of net.cloggedNodes()) net.unclog(id);
  net.faults = { ...net.faults, dropRate: 0, duplicateRate: 0, longDelayRate: 0 };
  // Fault undo events and pending self-shutdowns are moot now: from here on the operator stops
  // removed nodes (decommissionRemoved) once no member counts them.
  world.scheduled.length = 0;

  const mostApplied = world.nodes.filter((n) => !n.removed && n.everMember)
    .reduce<typeof world.nodes[number] | undefined>((best, n) => (best === undefined || n.knownConfIndex > best.knownConfIndex ? n : best), undefined);
  const cs = mostApplied?.knownConf;
  const settled = mostApplied !== undefined && cs !== undefined && cs.votersOutgoing.length === 0 &&
    !membershipChangeInFlight(world, mostApplied.knownConfIndex);
  const decommissioned = decommissionRemoved(world);
  const keepDown: NodeId[] = [];
  // Keep voters down only when every member applied the same configuration: while members
  // disagree (a lagging one may still count old voters, and a removed one may hold the longest
  // log and refuse votes), any voter may be the one the group needs.
  const members = world.nodes.filter((n) => !n.removed && n.everMember);
  const agreed = settled && members.every((n) => sameVoters(n.knownConf.voters, cs.voters) && n.knownConf.votersOutgoing.length === 0);
  // All of the down voters stay down, or none: one that restarts comes back with the
  // configuration it had made durable, which may be older than the one it knew (a joint one whose
  // old voters include those kept down), and then no quorum may be left for it or for the others
  // (seed 1288155049: n3 restarted in the joint configuration [2 3 4] + [1 2 3] with n1 removed
  // and n2 kept down, and held the longest log).
  if (agreed && decommissioned.length === 0) {
    const down = world.nodes.filter((n) => !n.up && cs.voters.includes(n.id)).map((n) => n.id);
    const tolerable = Math.floor((cs.voters.length - 1) / 2);
    if (down.length > 0 && down.length <= tolerable && randomChance(world.faultPrng, 0.5)) keepDown.push(...down);
  }
  for (const n of world.nodes) {
    if (n.up || decommissioned.includes(n.id)) continue;
    // A removed node the others may still count (they have not applied its removal) comes back
    // too; the operator stops it once no member counts it.
    n.removed = false;
    n.restartAtTick = keepDown.includes(n.id) ? undefined : world.tick;
  }
  world.trace.add(`heal: network reliable, decommissioned [${decommissioned.join(' ')}], restarting all but [${keepDown.join(' ')}]`);
}

/**
 * decommissionRemoved is the operator stopping, for good, every node that all the other members
 * have removed from their applied configurations: nobody counts it any more, and a removed node
 * that never learned of its removal would otherwise campaign forever (PreVote and CheckQuorum
 * off). Runs from the liveness phase on; returns the nodes it stopped.
 */
export function decommissionRemoved(world: World): NodeId[] {
  const stopped: NodeId[] = [];
  const members = world.nodes.filter((n) => !n.removed && n.everMember);
  for (const n of members) {
    if (members.some((other) => other !== n && isMember(other.knownConf, n.id))) continue;
    if (n.up) n.shutdown();
    n.removed = true;
    n.restartAtTick = undefined;
    stopped.push(n.id);
  }
  if (stopped.length > 0) world.trace.add(`operator decommissions [${stopped.join(' ')}] (no member counts them)`);
  return stopped;
}

function sameVoters(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id));
}

/** membershipChangeInFlight: some node's log holds a conf-change entry beyond `appliedIndex`. */
function membershipChangeInFlight(world: World, appliedIndex: number): boolean {
  for (const n of world.nodes) {
    if (n.removed) continue;
    const storage = n.disk.live;
    const from = Math.max(appliedIndex + 1, storage.firstIndex());
    const last = storage.lastIndex();
    if (from > last) continue;
    for (const e of storage.entries(from, last + 1, Number.POSITIVE_INFINITY)) {
      if (e.type === 'conf-change') return true;
    }
  }
  return false;
}
