/** `concord members` (Cluster/MemberList) and `concord status` (every endpoint's Maintenance/Status as a table). */
import { METHODS } from '../../api/codec/index.js';
import { normalizeEndpoint } from '../../client/endpoint-pool.js';
import { expectPositionals, parseCommand, withCtl } from './context.js';

const MEMBER_LIST = METHODS['/etcdserverpb.Cluster/MemberList'];

/** table formats rows under a header with columns padded to their widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** runMembers is `concord members`: id, name, peer and client URLs of every member. */
export async function runMembers(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommand(args, {});
  expectPositionals(positionals, 0, 0, 'concord members');
  return withCtl(values, env, async (ctl) => {
    const r = await ctl.pool().unary(MEMBER_LIST, {}, 'read');
    const members = r.members.map((m) => ({
      id: m.ID.toString(16), name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: m.isLearner,
    }));
    ctl.out(table(['ID', 'NAME', 'PEER URLS', 'CLIENT URLS', 'LEARNER'],
      members.map((m) => [m.id, m.name, m.peerURLs.join(','), m.clientURLs.join(','), m.isLearner ? 'yes' : 'no'])), { members });
    return 0;
  });
}

/** runStatus is `concord status`: one row per endpoint; exit 1 if any endpoint did not answer. */
export async function runStatus(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommand(args, {});
  expectPositionals(positionals, 0, 0, 'concord status');
  return withCtl(values, env, async (ctl) => {
    const answers = await ctl.client().status();
    const rows = ctl.endpoints.map((endpoint) => {
      const s = answers.find((a) => a.endpoint === normalizeEndpoint(endpoint));
      return s === undefined
        ? { endpoint, reachable: false as const }
        : {
          endpoint, reachable: true as const, id: s.memberId.toString(16), leader: s.leaderId.toString(16),
          isLeader: s.memberId === s.leaderId, raftTerm: s.raftTerm, revision: s.revision, version: s.version,
        };
    });
    ctl.out(table(['ENDPOINT', 'ID', 'VERSION', 'RAFT TERM', 'REVISION', 'IS LEADER'], rows.map((r) => r.reachable
      ? [r.endpoint, r.id, r.version, String(r.raftTerm), String(r.revision), r.isLeader ? 'true' : 'false']
      : [r.endpoint, '-', '-', '-', '-', 'unreachable'])), { endpoints: rows });
    const unreachable = rows.filter((r) => !r.reachable).map((r) => r.endpoint);
    if (unreachable.length > 0) {
      process.stderr.write(`concord status: no answer from ${unreachable.join(', ')}\n`);
      return 1;
    }
    return 0;
  });
}
