/**
 * `concord start [flags]`: runs one member until SIGINT or SIGTERM (or, when started by
 * `concord dev`, until the parent goes away), then stops it cleanly. A second signal while
 * stopping exits at once.
 */
import { isConfigError, parseMemberConfig, formatInitialCluster, formatUrls } from '../server/config.js';
import { createLineLogger } from '../server/line-logger.js';
import { startMember } from '../server/member.js';
import { tuneV8ForServing } from '../server/v8-tuning.js';
import { startUsage } from './usage.js';

/** SIGNAL_REPEAT_MS_MIN: a stop signal this soon after the first is the same request, not a second one. */
export const SIGNAL_REPEAT_MS_MIN = 1_000;

/** EXIT_CODES are the `concord` command's exit codes. */
export const EXIT_CODES = { ok: 0, failure: 1, usage: 2 } as const;

/** runStart runs `concord start` with the arguments after `start`; resolves to the exit code. */
export async function runStart(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(startUsage());
    return EXIT_CODES.ok;
  }
  let config;
  try {
    config = parseMemberConfig(argv, env);
  } catch (error) {
    if (!isConfigError(error)) throw error;
    process.stderr.write(`concord: ${error.message}\n`);
    return EXIT_CODES.usage;
  }
  const v8Flags = tuneV8ForServing();
  const logger = createLineLogger({ name: config.name, level: config.logLevel, stream: process.stderr });
  logger.info('starting member', {
    v8Flags: v8Flags.join(' '),
    dataDir: config.dataDir,
    clientUrls: formatUrls(config.advertiseClientUrls),
    peerUrls: formatUrls(config.initialAdvertisePeerUrls),
    initialCluster: formatInitialCluster(config.initialCluster),
    state: config.initialClusterState,
    pid: process.pid,
  });

  // Listen before starting, so a signal during start-up stops the member once it is up.
  let stopReason: string | undefined;
  let onStopRequest: (() => void) | undefined;
  const stopRequested = new Promise<void>((resolve) => { onStopRequest = resolve; });
  let stopRequestedAtMs = 0;
  const requestStop = (reason: string): void => {
    if (stopReason !== undefined) {
      // The same signal often arrives twice at once (terminal + a forwarding parent such as npm).
      if (Date.now() - stopRequestedAtMs < SIGNAL_REPEAT_MS_MIN) return;
      logger.warn('second stop request while stopping; exiting now', { reason });
      process.exit(EXIT_CODES.failure);
    }
    stopReason = reason;
    stopRequestedAtMs = Date.now();
    onStopRequest?.();
  };
  process.on('SIGINT', () => requestStop('SIGINT'));
  process.on('SIGTERM', () => requestStop('SIGTERM'));
  // A reader that went away (a dead `concord dev` parent, `| head`) must not crash a stopping member.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
  if (process.channel !== undefined) {
    // Started by `concord dev` with an IPC channel: stop when the parent dies (even by SIGKILL).
    process.on('disconnect', () => requestStop('parent exited'));
    process.channel.unref();
  }

  let member;
  try {
    member = await startMember(config, logger, {
      onFatal: (error) => {
        logger.error('fatal error; exiting', { error: error.message });
        process.stderr.write(`concord: ${error.message}\n`);
        process.exit(EXIT_CODES.failure);
      },
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger.error('member failed to start', { error: message });
    process.stderr.write(`concord: ${message}\n`);
    return isConfigError(error) ? EXIT_CODES.usage : EXIT_CODES.failure;
  }
  await stopRequested;
  logger.info('stopping member', { reason: stopReason });
  await member.stop();
  return EXIT_CODES.ok;
}
