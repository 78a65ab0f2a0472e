#!/usr/bin/env node
/**
 * The `concord` command: `start` runs one member (etcd's flags), `dev` a local 3-member cluster
 * (what `npm start` runs), the ctl commands on the client (`put`, `get`, ..., see src/cli/ctl), `version`, `help`. Exit codes: 0 ok, 1 failure, 2 bad command line.
 */
import { isCtlCommand, runCtl } from './ctl/index.js';
import { runDev } from './dev.js';
import { relaunchWithMallocTunables } from './member-process-env.js';
import { runSnapshot } from './snapshot.js';
import { EXIT_CODES, runStart } from './start.js';
import { CTL_USAGE, DEV_USAGE, MAIN_USAGE, concordVersion, startUsage } from './usage.js';

async function main(args: readonly string[]): Promise<number> {
  const [command = 'help', ...rest] = args;
  switch (command) {
    case 'start':
      if (rest.includes('--help') || rest.includes('-h')) return runStart(rest, process.env);
      return relaunchWithMallocTunables() ?? runStart(rest, process.env);
    case 'dev':
      return runDev(rest, process.env);
    case 'snapshot':
      return runSnapshot(rest, process.env);
    case 'version':
    case '--version':
      process.stdout.write(`concord ${concordVersion()}\n`);
      return EXIT_CODES.ok;
    case 'help':
    case '--help':
    case '-h': {
      const topic = rest[0];
      if (topic === 'start') process.stdout.write(startUsage());
      else if (topic === 'dev') process.stdout.write(DEV_USAGE);
      else if (topic !== undefined && isCtlCommand(topic)) process.stdout.write(CTL_USAGE);
      else if (topic === undefined) process.stdout.write(MAIN_USAGE);
      else {
        process.stderr.write(`concord: no help for "${topic}" (commands: start, dev, version, help)\n`);
        return EXIT_CODES.usage;
      }
      return EXIT_CODES.ok;
    }
    default:
      if (isCtlCommand(command)) return runCtl(command, rest, process.env);
      process.stderr.write(`concord: unknown command "${command}" (see "concord help")\n`);
      return EXIT_CODES.usage;
  }
}

// Exit explicitly: a stopped member may leave timers or sockets that would keep the process up.
process.exit(await main(process.argv.slice(2)));
