/** `concord watch KEY [--prefix] [--rev N]`: prints every change until interrupted. */
import { ConcordClientError, ClientErrorCode } from '../../client/index.js';
import { expectPositionals, interruptSignal, parseCommand, parseInteger, withCtl } from './context.js';
import { kvJson } from './kv.js';

/** runWatch is `concord watch KEY [--prefix] [--rev N] [--prev-kv] [--max-events N]`. */
export async function runWatch(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    prefix: { type: 'boolean', default: false },
    rev: { type: 'string' },
    'prev-kv': { type: 'boolean', default: false },
    'max-events': { type: 'string' },
  });
  expectPositionals(positionals, 1, 1, 'concord watch KEY [--prefix] [--rev N] [--prev-kv] [--max-events N]');
  const fromRevision = values.rev === undefined ? undefined : parseInteger(values.rev, '--rev', { min: 1 });
  const maxEvents = values['max-events'] === undefined ? Infinity : parseInteger(values['max-events'], '--max-events', { min: 1 });
  const key = positionals[0]!;
  return withCtl(values, env, async (ctl) => {
    const signal = interruptSignal();
    let seen = 0;
    try {
      const events = ctl.client().watch(values.prefix ? { prefix: key } : { start: key, end: new Uint8Array(0) }, {
        signal, prevKv: values['prev-kv'], ...(fromRevision === undefined ? {} : { fromRevision }),
      });
      for await (const ev of events) {
        const prev = ev.prevKv ? `\n${ev.prevKv.keyText}\n${ev.prevKv.valueText}` : '';
        ctl.out(ev.type === 'put' ? `PUT${prev}\n${ev.key}\n${ev.value}` : `DELETE${prev}\n${ev.key}\n`, {
          type: ev.type, revision: ev.revision, kv: kvJson(ev.kv), ...(ev.prevKv ? { prevKv: kvJson(ev.prevKv) } : {}),
        });
        if (++seen >= maxEvents) break;
      }
    } catch (error) {
      if (signal.aborted && error instanceof ConcordClientError && error.code === ClientErrorCode.Aborted) return 0;
      if (signal.aborted) return 0;
      throw error;
    }
    return 0;
  });
}
