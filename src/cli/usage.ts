/**
 * The `concord` command's help texts and version. Flag help is generated from MEMBER_FLAGS so it
 * cannot drift from what `parseMemberConfig` accepts.
 */
import { readFileSync } from 'node:fs';
import { CONFIG_FILE_FLAG, MEMBER_FLAGS, envVarName, type MemberFlag } from '../server/config.js';
import { MEMBER_CONFIG_DEFAULTS } from '../server/member-config.js';
import { DEV_BASE_PORT_DEFAULT, DEV_DATA_DIR_DEFAULT } from './dev-plan.js';

/** concordVersion is the package version (read from package.json next to dist/). */
export function concordVersion(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof packageJson.version === 'string' ? packageJson.version : 'unknown';
}

/** MAIN_USAGE is `concord help`. */
export const MAIN_USAGE = `usage: concord <command> [flags]

commands:
  start     run one member of a cluster (etcd's flags; see "concord help start")
  dev       run a local 3-member cluster on 127.0.0.1 (what "npm start" runs; see "concord help dev")
  snapshot  "snapshot save FILE": save a member's snapshot; "snapshot status FILE": describe one;
            "snapshot restore FILE [start flags]": a data dir for a new cluster from a saved snapshot
  version   print the version
  help      print this help, or "concord help <command>"

client commands (see "concord help put"):
  put get del txn watch lease lock elect seq claim members status

exit codes: 0 ok or stopped by SIGINT/SIGTERM, 1 failure, 2 bad command line or configuration
`;

const FLAG_HELP: Readonly<Record<MemberFlag, [value: string, text: string]>> = {
  'name': ['NAME', `human-readable member name, unique in the cluster (default "${MEMBER_CONFIG_DEFAULTS.name}")`],
  'data-dir': ['DIR', 'WAL and snapshots (default "<name>.concord")'],
  'listen-client-urls': ['URLS', `client API listeners (default ${MEMBER_CONFIG_DEFAULTS.listenClientUrls})`],
  'advertise-client-urls': ['URLS', 'client URLs as clients reach them (required with --listen-client-urls)'],
  'listen-peer-urls': ['URLS', `peer listeners (default ${MEMBER_CONFIG_DEFAULTS.listenPeerUrls})`],
  'initial-advertise-peer-urls': ['URLS', `this member's peer URLs as peers reach them (default ${MEMBER_CONFIG_DEFAULTS.initialAdvertisePeerUrls})`],
  'initial-cluster': ['NAME=URL,...', 'founding members and their peer URLs (default "<name>=<initial-advertise-peer-urls>")'],
  'initial-cluster-state': ['new|existing', `new to found a cluster, existing to join one (default ${MEMBER_CONFIG_DEFAULTS.initialClusterState})`],
  'initial-cluster-token': ['TOKEN', `distinguishes clusters (default "${MEMBER_CONFIG_DEFAULTS.initialClusterToken}")`],
  'heartbeat-interval': ['MS', `Raft tick in milliseconds (default ${MEMBER_CONFIG_DEFAULTS.heartbeatIntervalMs})`],
  'election-timeout': ['MS', `election timeout in milliseconds, >= 5 x heartbeat (default ${MEMBER_CONFIG_DEFAULTS.electionTimeoutMs})`],
  'snapshot-count': ['N', `applied entries between snapshots (default ${MEMBER_CONFIG_DEFAULTS.snapshotCount})`],
  'log-level': ['LEVEL', `debug, info, warn or error (default ${MEMBER_CONFIG_DEFAULTS.logLevel})`],
  'auto-compaction-mode': ['periodic|revision', 'what --auto-compaction-retention counts (default periodic)'],
  'auto-compaction-retention': ['RETENTION', 'history kept by auto compaction: a duration (30m, 1h, or hours) or revisions; 0 = off (default 0)'],
  'quota-backend-bytes': ['BYTES', `store size beyond which writes are refused with NOSPACE (default ${MEMBER_CONFIG_DEFAULTS.quotaBackendBytes})`],
  'max-txn-ops': ['N', `operations allowed in one txn (default ${MEMBER_CONFIG_DEFAULTS.maxTxnOps})`],
  'max-request-bytes': ['BYTES', `largest client request (default ${MEMBER_CONFIG_DEFAULTS.maxRequestBytes})`],
};

/** startUsage is `concord help start`. */
export function startUsage(): string {
  const rows: Array<[string, string]> = MEMBER_FLAGS.map((flag) => {
    const [value, text] = FLAG_HELP[flag];
    return [`--${flag} ${value}`, text];
  });
  rows.push([`--${CONFIG_FILE_FLAG} FILE`, 'YAML file with etcd\'s keys (name: m1, data-dir: ...)']);
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return `usage: concord start [flags]

Runs one member of a Concord cluster. Flags are etcd's; each may also be given as an environment
variable (--initial-cluster: ${envVarName('initial-cluster')}) or a key of the config file
(initial-cluster: ...). Precedence: flags > environment > config file > defaults.

${rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`).join('\n')}

URLS is a comma-separated list of http(s)://host:port. SIGINT or SIGTERM stops the member cleanly.
exit codes: 0 stopped cleanly, 1 failure, 2 bad flag or configuration (one line on stderr)
`;
}

/** DEV_USAGE is `concord help dev`. */
export const DEV_USAGE = `usage: concord dev [--base-port N] [--data-dir DIR] [--log-level LEVEL]

Runs a local 3-member cluster on 127.0.0.1, each member a "concord start" child process whose
output lines are prefixed with its name. Ports (client/peer): N/N+1, N+20000/N+20001,
N+30000/N+30001 (default N = ${DEV_BASE_PORT_DEFAULT}). Data lives in DIR/<name> (default DIR = ${DEV_DATA_DIR_DEFAULT}) and is
reused by the next run. Ctrl-C (SIGINT) or SIGTERM stops every member cleanly (members that do
not stop within the timeout are killed).
exit codes: 0 all members stopped cleanly, 1 a member failed or had to be killed, 2 bad flag
`;

/** CTL_USAGE is `concord help <ctl command>`: every client command with its flags. */
export const CTL_USAGE = `usage: concord <command> [--endpoints HOST:PORT,...] [--json] [args]

  put KEY VALUE [--lease ID]                 write a key
  get KEY [--prefix] [--rev N] [--limit N]   read keys (key line, then value line)
      [--consistency l|s|log|lease]          read consistency (default l: linearizable)
  del KEY [--prefix]                         delete; prints the number deleted
  txn                                        etcdctl's txn syntax on stdin: compares, blank line,
                                             success ops, blank line, failure ops
                                             (value("k") = "v", mod("k") > "3"; put K V, get K, del K)
  watch KEY [--prefix] [--rev N] [--prev-kv] [--max-events N]   print changes until Ctrl-C
  lease grant TTL | revoke ID | keep-alive ID [--once] | ttl ID [--keys]   (IDs in hex)
  lock NAME [--ttl S] [-- COMMAND ARGS...]   take the lock, print its key and fencing token; hold
                                             it until Ctrl-C, or run COMMAND while holding it
                                             (env CONCORD_LOCK_KEY, CONCORD_LOCK_TOKEN)
  elect NAME VALUE [--ttl S]                 campaign, print the leader key and token, hold until Ctrl-C
  elect NAME -l                              observe the election's leaders
  seq NAME [--count K]                       take the next K numbers of the counter NAME
  claim NAMESPACE VALUE OWNER                claim a unique value (exit 1 when taken by another owner)
  members                                    the cluster's members
  status                                     every endpoint's status as a table

global flags:
  --endpoints LIST       client URLs (default: env CONCORD_ENDPOINTS, else 127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379)
  --json                 one JSON object per result on stdout (ids and 64-bit numbers as strings)
  --dial-timeout D       connecting to one endpoint (default 2s)
  --command-timeout D    one request including retries (default 10s)

exit codes: 0 ok, 1 failure (one line on stderr), 2 bad command line
`;
