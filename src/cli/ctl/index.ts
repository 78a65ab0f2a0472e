/**
 * CTL_COMMANDS: the `concord` ctl commands (built on src/client), dispatched by src/cli/main.ts.
 * runCtl turns any thrown error into one stderr line and the exit code (1 failure, 2 usage).
 */
import { runMembers, runStatus } from './cluster.js';
import { reportError, type CtlCommand } from './context.js';
import { runDel, runGet, runPut } from './kv.js';
import { runLease } from './lease.js';
import { runElect, runLock } from './lock.js';
import { runClaim, runSeq } from './seq.js';
import { runTxn } from './txn.js';
import { runWatch } from './watch.js';

/** CTL_COMMANDS maps each ctl command name to its runner. */
export const CTL_COMMANDS: Readonly<Record<string, CtlCommand>> = {
  put: runPut,
  get: runGet,
  del: runDel,
  txn: runTxn,
  watch: runWatch,
  lease: runLease,
  lock: runLock,
  elect: runElect,
  seq: runSeq,
  claim: runClaim,
  members: runMembers,
  status: runStatus,
};

/** isCtlCommand tells whether `name` is a ctl command. */
export function isCtlCommand(name: string): boolean {
  return Object.hasOwn(CTL_COMMANDS, name);
}

/** runCtl runs the ctl command `name`; errors become one line on stderr and an exit code. */
export async function runCtl(name: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const command = CTL_COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`concord: unknown command "${name}"\n`);
    return 2;
  }
  try {
    return await command(args, env);
  } catch (error) {
    return reportError(name, error);
  }
}
