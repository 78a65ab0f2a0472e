#!/usr/bin/env node
/**
 * The `concord` command. Today it knows only that the server is not built yet; `concord dev`
 * (what `npm start` runs) will start a local 3-member cluster once the node host lands.
 */
const command = process.argv[2] ?? 'help';

switch (command) {
  case 'dev':
  case 'start':
    console.log(`concord ${command}: not yet — the Raft core and its simulator exist (npm run sim); ` +
      'the node host, WAL and etcd API are the next issues.');
    break;
  case 'version':
  case '--version':
    console.log('concord 0.1.0');
    break;
  default:
    console.log('usage: concord dev | start | version');
    process.exitCode = command === 'help' || command === '--help' ? 0 : 2;
}
