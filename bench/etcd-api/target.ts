import { METHODS } from '../../src/api/codec/index.js';
import { GrpcEndpointClient } from './grpc-h2-client.js';

/**
 * A benchmark target: one 3-member cluster (Concord or etcd) seen through the etcd v3 gRPC API,
 * with the load generator's connections to each member and the member processes' ids (for CPU
 * accounting). Writes go to the leader, found with Maintenance/Status on every member.
 */

/** TargetMember is one member: its client port, its process id and the load generator's connections to it. */
export interface TargetMember {
  readonly name: string;
  readonly clientPort: number;
  readonly pid: number | undefined;
  readonly client: GrpcEndpointClient;
}

/** BenchTarget is a connected cluster under test. */
export interface BenchTarget {
  /** system is what the table calls it: `Concord` or `etcd`. */
  readonly system: string;
  readonly members: readonly TargetMember[];
}

/** MemberEndpoint is what connectTarget needs of a member. */
export interface MemberEndpoint {
  readonly name: string;
  readonly clientPort: number;
  readonly pid: number | undefined;
}

/** connectTarget opens `connectionsPerMember` HTTP/2 connections to every member. */
export async function connectTarget(system: string, endpoints: readonly MemberEndpoint[], connectionsPerMember: number): Promise<BenchTarget> {
  const members = await Promise.all(endpoints.map(async (e) => ({
    name: e.name,
    clientPort: e.clientPort,
    pid: e.pid,
    client: await GrpcEndpointClient.connect('127.0.0.1', e.clientPort, connectionsPerMember),
  })));
  return { system, members };
}

/** closeTarget closes the load generator's connections (the members keep running). */
export function closeTarget(target: BenchTarget): void {
  for (const m of target.members) m.client.close();
}

const STATUS = METHODS['/etcdserverpb.Maintenance/Status'];
const STATUS_FRAME = STATUS.request.encodeFrame(STATUS.request.create());

/**
 * findLeader asks every member for its Status until all of them name the same leader and one of
 * them is it; returns that member's index in `target.members`.
 */
export async function findLeader(target: BenchTarget, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    try {
      const statuses = await Promise.all(target.members.map(async (m) =>
        STATUS.response.decode(await m.client.unary(STATUS.path, STATUS_FRAME))));
      const leaders = new Set(statuses.map((s) => s.leader));
      const leader = statuses[0]!.leader;
      const index = statuses.findIndex((s) => s.header?.memberId === leader);
      if (leaders.size === 1 && leader !== 0n && index >= 0) return index;
      last = `leaders named: ${[...leaders].map(String).join(', ')}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${target.system}: no agreed leader within ${timeoutMs} ms (${last})`);
}
