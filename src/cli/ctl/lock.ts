/**
 * `concord lock NAME [-- COMMAND ARGS]` and `concord elect NAME [VALUE] | -l`: hold a lock or a
 * leadership until interrupted (or while a command runs), printing the key and fencing token.
 */
import { spawn } from 'node:child_process';
import { CommandFailure, expectPositionals, interruptSignal, leaseHex, parseCommand, parseInteger, UsageError, withCtl } from './context.js';

/** LOCK_ENV names the environment variables a command run under `concord lock` receives. */
export const LOCK_ENV = { key: 'CONCORD_LOCK_KEY', token: 'CONCORD_LOCK_TOKEN' } as const;

/** waitAbort resolves when `signal` aborts. */
function waitAbort(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** runLock is `concord lock NAME [--ttl S] [-- COMMAND ARGS...]`. */
export async function runLock(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const split = args.indexOf('--');
  const own = split < 0 ? args : args.slice(0, split);
  const command = split < 0 ? [] : args.slice(split + 1);
  const { values, positionals } = parseCommand(own, { ttl: { type: 'string' } });
  expectPositionals(positionals, 1, 1, 'concord lock NAME [--ttl SECONDS] [-- COMMAND ARGS...]');
  if (split >= 0 && command.length === 0) throw new UsageError('lock: nothing to run after "--"');
  const ttl = values.ttl === undefined ? 10 : parseInteger(values.ttl, '--ttl', { min: 1 });
  return withCtl(values, env, async (ctl) => {
    const interrupted = interruptSignal();
    const lock = await ctl.client().lock(positionals[0]!, { ttl, signal: interrupted });
    try {
      ctl.out(`${lock.keyText}\ntoken: ${lock.token}`, { key: lock.keyText, token: lock.token, lease: leaseHex(lock.lease.id) });
      if (command.length === 0) {
        await Promise.race([waitAbort(interrupted), waitAbort(lock.lost)]);
        if (lock.lost.aborted && !interrupted.aborted) throw new CommandFailure(`lock ${lock.keyText} lost`);
        return 0;
      }
      const child = spawn(command[0]!, command.slice(1), {
        stdio: 'inherit',
        env: { ...process.env, [LOCK_ENV.key]: lock.keyText, [LOCK_ENV.token]: String(lock.token) },
      });
      const onLost = (): void => { child.kill('SIGTERM'); };
      lock.lost.addEventListener('abort', onLost, { once: true });
      const code = await new Promise<number>((resolve, reject) => {
        child.once('error', (error) => reject(new CommandFailure(`cannot run "${command[0]}": ${error.message}`)));
        child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
      });
      lock.lost.removeEventListener('abort', onLost);
      if (lock.lost.aborted) throw new CommandFailure(`lock ${lock.keyText} lost while "${command[0]}" ran (it was sent SIGTERM)`);
      return code === 0 ? 0 : 1;
    } finally {
      await lock.release().catch(() => undefined);
    }
  });
}

/** runElect is `concord elect NAME VALUE [--ttl S]` (campaign and hold) or `concord elect NAME -l` (observe). */
export async function runElect(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommand(args, { listen: { type: 'boolean', short: 'l', default: false }, ttl: { type: 'string' } });
  expectPositionals(positionals, values.listen ? 1 : 2, values.listen ? 1 : 2, 'concord elect NAME VALUE [--ttl SECONDS] | concord elect NAME -l');
  const ttl = values.ttl === undefined ? 10 : parseInteger(values.ttl, '--ttl', { min: 1 });
  return withCtl(values, env, async (ctl) => {
    const interrupted = interruptSignal();
    const election = ctl.client().election(positionals[0]!);
    if (values.listen) {
      try {
        for await (const leader of election.observe({ signal: interrupted })) {
          ctl.out(`${leader.key}\n${leader.value}\ntoken: ${leader.token}`, { key: leader.key, value: leader.value, token: leader.token });
        }
      } catch (error) {
        if (!interrupted.aborted) throw error;
      }
      return 0;
    }
    const leadership = await election.campaign(positionals[1]!, { ttl, signal: interrupted });
    const key = Buffer.from(leadership.key).toString('utf8');
    ctl.out(`${key}\n${positionals[1]!}\ntoken: ${leadership.token}`, { key, value: positionals[1]!, token: leadership.token, lease: leaseHex(leadership.lease.id) });
    await Promise.race([waitAbort(interrupted), waitAbort(leadership.lost)]);
    if (!interrupted.aborted) throw new CommandFailure(`leadership of ${positionals[0]!} lost`);
    await leadership.resign().catch(() => undefined);
    return 0;
  });
}
