/** `concord put | get | del`: single-key and prefix KV commands on the client. */
import type { KeyValue, ReadConsistency } from '../../client/index.js';
import { expectPositionals, parseCommand, parseInteger, UsageError, withCtl } from './context.js';

const CONSISTENCY_BY_FLAG: Readonly<Record<string, ReadConsistency>> = {
  l: 'linearizable', linearizable: 'linearizable',
  s: 'serializable', serializable: 'serializable',
  log: 'log',
  lease: 'lease',
};

/** kvJson is a KeyValue as the --json output shows it (text key and value, lease in hex). */
export function kvJson(kv: KeyValue): Record<string, unknown> {
  return {
    key: kv.keyText, value: kv.valueText, createRevision: kv.createRevision, modRevision: kv.modRevision,
    version: kv.version, lease: kv.lease.toString(16),
  };
}

/** kvText is a KeyValue as etcdctl prints it: the key line, then the value line. */
export function kvText(kv: KeyValue): string {
  return `${kv.keyText}\n${kv.valueText}`;
}

/** runPut is `concord put KEY VALUE [--lease ID]`. */
export async function runPut(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommand(args, { lease: { type: 'string' } });
  expectPositionals(positionals, 2, 2, 'concord put KEY VALUE [--lease ID]');
  return withCtl(values, env, async (ctl) => {
    const lease = values.lease === undefined ? undefined : BigInt(`0x${values.lease.replace(/^0x/i, '')}`);
    const r = await ctl.client().put(positionals[0]!, positionals[1]!, lease === undefined ? {} : { lease });
    ctl.out('OK', { ok: true, revision: r.revision });
    return 0;
  });
}

/** runGet is `concord get KEY [--prefix] [--rev N] [--consistency l|s|log|lease]`. */
export async function runGet(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    prefix: { type: 'boolean', default: false },
    rev: { type: 'string' },
    consistency: { type: 'string', default: 'l' },
    limit: { type: 'string' },
  });
  expectPositionals(positionals, 1, 1, 'concord get KEY [--prefix] [--rev N] [--consistency l|s|log|lease] [--limit N]');
  const consistency = CONSISTENCY_BY_FLAG[values.consistency];
  if (consistency === undefined) throw new UsageError(`--consistency: expected l, s, log or lease, got "${values.consistency}"`);
  const revision = values.rev === undefined ? 0 : parseInteger(values.rev, '--rev');
  const limit = values.limit === undefined ? 0 : parseInteger(values.limit, '--limit');
  return withCtl(values, env, async (ctl) => {
    const key = positionals[0]!;
    const r = await ctl.client().getRange(values.prefix ? { prefix: key } : { start: key, end: new Uint8Array(0) }, { consistency, revision, limit });
    ctl.out(r.kvs.map(kvText).join('\n'), { revision: r.header.revision, count: r.count, more: r.more, kvs: r.kvs.map(kvJson) });
    return 0;
  });
}

/** runDel is `concord del KEY [--prefix]`: prints the number of deleted keys. */
export async function runDel(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommand(args, { prefix: { type: 'boolean', default: false } });
  expectPositionals(positionals, 1, 1, 'concord del KEY [--prefix]');
  return withCtl(values, env, async (ctl) => {
    const key = positionals[0]!;
    const r = await ctl.client().delete(values.prefix ? { prefix: key } : key);
    ctl.out(String(r.deleted), { deleted: r.deleted, revision: r.revision });
    return 0;
  });
}
