/**
 * `concord seq NAME [--count K]` (the concord.v1.Sequencer extension, called directly with the
 * codecs: the client has no sequencer method) and `concord claim NAMESPACE VALUE OWNER`.
 */
import { METHODS } from '../../api/codec/index.js';
import { expectPositionals, parseCommand, parseInteger, UsageError, withCtl } from './context.js';

const NEXT = METHODS['/concord.v1.Sequencer/Next'];

/** SEQ_COUNT_MAX is the server's limit on numbers taken in one call (docs/sequencer.md). */
const SEQ_COUNT_MAX = 10_000;

/** runSeq is `concord seq NAME [--count K]`: prints the numbers taken (`first..last` for a batch). */
export async function runSeq(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommand(args, { count: { type: 'string' } });
  expectPositionals(positionals, 1, 1, `concord seq NAME [--count K (1..${SEQ_COUNT_MAX})]`);
  const count = values.count === undefined ? 1 : parseInteger(values.count, '--count', { min: 1 });
  if (count > SEQ_COUNT_MAX) throw new UsageError(`--count: at most ${SEQ_COUNT_MAX}, got ${count}`);
  return withCtl(values, env, async (ctl) => {
    // A write: an unknown outcome is reported (CONCORD_CLIENT_OUTCOME_UNKNOWN), never retried blindly.
    const r = await ctl.pool().unary(NEXT, { name: positionals[0]!, count }, 'write');
    const first = r.first;
    const last = first + BigInt(r.count) - 1n;
    ctl.out(r.count === 1 ? `${first}` : `${first}..${last}`, { name: positionals[0]!, first: first.toString(), last: last.toString(), count: r.count });
    return 0;
  });
}

/** runClaim is `concord claim NAMESPACE VALUE OWNER`: exit 0 when OWNER holds the value, 1 when another owner does. */
export async function runClaim(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommand(args, {});
  expectPositionals(positionals, 3, 3, 'concord claim NAMESPACE VALUE OWNER');
  const [namespace, value, owner] = positionals as [string, string, string];
  return withCtl(values, env, async (ctl) => {
    const r = await ctl.client().claimUnique(namespace, value, owner);
    if (r.claimed) {
      ctl.out(`claimed ${namespace}/${value} for ${owner}`, { claimed: true, namespace, value, owner, revision: r.revision });
      return 0;
    }
    ctl.out(`${namespace}/${value} is taken by ${r.takenBy}`, { claimed: false, namespace, value, owner, takenBy: r.takenBy, revision: r.revision });
    return 1;
  });
}
