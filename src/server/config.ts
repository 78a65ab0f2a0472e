/**
 * parseMemberConfig turns `concord start`'s command line, environment and config file into one
 * validated MemberConfig, using etcd's flag names so operators can reuse their scripts.
 *
 * Precedence, highest first (each setting independently):
 *   1. command-line flags (`--name m1` or `--name=m1`; a repeated flag: the last one wins)
 *   2. environment variables `CONCORD_<FLAG>` (`CONCORD_INITIAL_CLUSTER`; empty means unset)
 *   3. the YAML config file named by `--config-file` or `CONCORD_CONFIG_FILE` (etcd's keys)
 *   4. etcd's defaults (MEMBER_CONFIG_DEFAULTS); --data-dir defaults to `<name>.concord` and
 *      --initial-cluster to `<name>=<initial-advertise-peer-urls>`, as etcd does.
 * (etcd itself ignores flags and environment when a config file is given; Concord lets them
 * override single keys of the file instead, which is what scripts that template a file expect.)
 *
 * Everything is validated here, once; the first problem throws a ConfigError whose message is one
 * line naming the flag (or variable, or file key), the value and what was expected.
 */
import { parseArgs as nodeParseArgs } from 'node:util';
import { ConfigError } from './config-error.js';
import { readConfigFile, type ConfigFileValues } from './config-file.js';
import { MEMBER_CONFIG_DEFAULTS, type MemberConfig } from './member-config.js';

export { ConfigError, CONFIG_ERROR_CODE, isConfigError } from './config-error.js';

/**
 * MEMBER_FLAGS are the etcd flags `concord start` accepts. Each is also a config-file key (the
 * same name) and an environment variable (`envVarName`).
 */
export const MEMBER_FLAGS = [
  'name',
  'data-dir',
  'listen-client-urls',
  'advertise-client-urls',
  'listen-peer-urls',
  'initial-advertise-peer-urls',
  'initial-cluster',
  'initial-cluster-state',
  'initial-cluster-token',
  'heartbeat-interval',
  'election-timeout',
  'snapshot-count',
  'log-level',
  'auto-compaction-mode',
  'auto-compaction-retention',
  'quota-backend-bytes',
  'max-txn-ops',
  'max-request-bytes',
] as const;
/** MemberFlag is one of MEMBER_FLAGS. */
export type MemberFlag = (typeof MEMBER_FLAGS)[number];

/** CONFIG_FILE_FLAG names the config file; a flag and an environment variable, not a file key. */
export const CONFIG_FILE_FLAG = 'config-file';

/** ELECTION_TIMEOUT_MS_MAX is etcd's upper bound on --election-timeout. */
export const ELECTION_TIMEOUT_MS_MAX = 50_000;
/** ELECTION_TO_HEARTBEAT_RATIO_MIN is etcd's rule: election timeout >= 5 x heartbeat interval. */
export const ELECTION_TO_HEARTBEAT_RATIO_MIN = 5;
/** MEMBER_NAME_CHARS_MAX bounds --name (it becomes a directory name and a log prefix). */
export const MEMBER_NAME_CHARS_MAX = 255;

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** envVarName is the environment variable of a flag: `initial-cluster` -> `CONCORD_INITIAL_CLUSTER`. */
export function envVarName(flag: MemberFlag | typeof CONFIG_FILE_FLAG): string {
  return `CONCORD_${flag.toUpperCase().replaceAll('-', '_')}`;
}

/** formatUrl prints a URL as the operator wrote it: `http://host:port`, always with the port. */
export function formatUrl(url: URL): string {
  return `${url.protocol}//${url.hostname}:${urlPort(url)}`;
}

/** urlPort is a URL's port as a number; WHATWG URLs drop a default port (80, 443), this does not. */
export function urlPort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** formatUrls prints a URL list as on the command line (comma-separated). */
export function formatUrls(urls: readonly URL[]): string {
  return urls.map(formatUrl).join(',');
}

/** formatInitialCluster prints an initial cluster as on the command line (`name=url,...`). */
export function formatInitialCluster(cluster: ReadonlyMap<string, readonly URL[]>): string {
  return [...cluster].flatMap(([name, urls]) => urls.map((url) => `${name}=${formatUrl(url)}`)).join(',');
}

/** Setting is one raw value and where it came from (for error messages). */
interface Setting {
  readonly flag: MemberFlag;
  readonly value: string;
  readonly origin: 'flag' | 'env' | 'file' | 'default';
}

/** parseMemberConfig validates argv (the arguments after `start`), env and the config file. */
export function parseMemberConfig(argv: readonly string[], env: NodeJS.ProcessEnv): MemberConfig {
  const flags = parseFlagArgs(argv, [...MEMBER_FLAGS, CONFIG_FILE_FLAG], 'concord help start');
  const configFilePath = flags.get(CONFIG_FILE_FLAG) ?? nonEmpty(env[envVarName(CONFIG_FILE_FLAG)]);
  if (configFilePath === '') throw new ConfigError(`invalid --${CONFIG_FILE_FLAG} "": expected a file path`);
  const file = configFilePath === undefined ? undefined : readConfigFile(configFilePath, MEMBER_FLAGS);
  const sources: Sources = new Sources(flags, env, file);

  const nameSetting = sources.get('name') ?? sources.fallback('name', MEMBER_CONFIG_DEFAULTS.name);
  const nameProblem = memberNameProblem(nameSetting.value);
  if (nameProblem !== undefined) sources.fail(nameSetting, nameProblem);
  const name = nameSetting.value;

  const dataDirSetting = sources.get('data-dir') ?? sources.fallback('data-dir', `${name}.concord`);
  if (dataDirSetting.value.trim() === '') sources.fail(dataDirSetting, 'expected a directory path');

  const listenClientSetting = sources.get('listen-client-urls');
  const listenClientUrls = parseUrlList(sources,
    listenClientSetting ?? sources.fallback('listen-client-urls', MEMBER_CONFIG_DEFAULTS.listenClientUrls), 'listen');
  const advertiseClientSetting = sources.get('advertise-client-urls');
  if (listenClientSetting !== undefined && advertiseClientSetting === undefined) {
    throw new ConfigError(`${sources.label('advertise-client-urls', 'flag')} is required when ` +
      `${sources.label('listen-client-urls', listenClientSetting.origin)} is set (etcd's rule): ` +
      'give the client URLs as clients reach them');
  }
  const advertiseClientUrls = parseUrlList(sources,
    advertiseClientSetting ?? sources.fallback('advertise-client-urls', MEMBER_CONFIG_DEFAULTS.advertiseClientUrls), 'advertise');

  const listenPeerUrls = parseUrlList(sources,
    sources.get('listen-peer-urls') ?? sources.fallback('listen-peer-urls', MEMBER_CONFIG_DEFAULTS.listenPeerUrls), 'listen');
  const advertisePeerSetting = sources.get('initial-advertise-peer-urls') ??
    sources.fallback('initial-advertise-peer-urls', MEMBER_CONFIG_DEFAULTS.initialAdvertisePeerUrls);
  const initialAdvertisePeerUrls = parseUrlList(sources, advertisePeerSetting, 'advertise');
  checkNoSharedListenAddress(listenClientUrls, listenPeerUrls);

  const clusterSetting = sources.get('initial-cluster') ??
    sources.fallback('initial-cluster', initialAdvertisePeerUrls.map((url) => `${name}=${formatUrl(url)}`).join(','));
  const initialCluster = parseInitialCluster(sources, clusterSetting);
  checkOwnEntry(sources, clusterSetting, initialCluster, nameSetting, name, advertisePeerSetting, initialAdvertisePeerUrls);

  const stateSetting = sources.get('initial-cluster-state') ??
    sources.fallback('initial-cluster-state', MEMBER_CONFIG_DEFAULTS.initialClusterState);
  if (stateSetting.value !== 'new' && stateSetting.value !== 'existing') {
    sources.fail(stateSetting, 'expected "new" or "existing"');
  }
  const initialClusterState = stateSetting.value;

  const tokenSetting = sources.get('initial-cluster-token') ??
    sources.fallback('initial-cluster-token', MEMBER_CONFIG_DEFAULTS.initialClusterToken);
  if (tokenSetting.value.trim() === '') sources.fail(tokenSetting, 'expected a non-empty token');

  const heartbeatSetting = sources.get('heartbeat-interval') ??
    sources.fallback('heartbeat-interval', String(MEMBER_CONFIG_DEFAULTS.heartbeatIntervalMs));
  const heartbeatIntervalMs = parsePositiveInteger(sources, heartbeatSetting, 'milliseconds');
  const electionSetting = sources.get('election-timeout') ??
    sources.fallback('election-timeout', String(MEMBER_CONFIG_DEFAULTS.electionTimeoutMs));
  const electionTimeoutMs = parsePositiveInteger(sources, electionSetting, 'milliseconds');
  if (electionTimeoutMs > ELECTION_TIMEOUT_MS_MAX) {
    sources.fail(electionSetting, `must be at most ${ELECTION_TIMEOUT_MS_MAX} milliseconds`);
  }
  if (electionTimeoutMs < ELECTION_TO_HEARTBEAT_RATIO_MIN * heartbeatIntervalMs) {
    sources.fail(electionSetting, `must be at least ${ELECTION_TO_HEARTBEAT_RATIO_MIN} x the heartbeat interval ` +
      `(${heartbeatIntervalMs} ms), i.e. >= ${ELECTION_TO_HEARTBEAT_RATIO_MIN * heartbeatIntervalMs}`);
  }

  const snapshotSetting = sources.get('snapshot-count') ??
    sources.fallback('snapshot-count', String(MEMBER_CONFIG_DEFAULTS.snapshotCount));
  const snapshotCount = parsePositiveInteger(sources, snapshotSetting, 'entries');

  const logLevelSetting = sources.get('log-level') ?? sources.fallback('log-level', MEMBER_CONFIG_DEFAULTS.logLevel);
  const logLevel = LOG_LEVELS.find((level) => level === logLevelSetting.value);
  if (logLevel === undefined) sources.fail(logLevelSetting, `expected one of ${LOG_LEVELS.join(', ')}`);

  const compactionModeSetting = sources.get('auto-compaction-mode') ??
    sources.fallback('auto-compaction-mode', MEMBER_CONFIG_DEFAULTS.autoCompactionMode);
  if (compactionModeSetting.value !== 'periodic' && compactionModeSetting.value !== 'revision') {
    sources.fail(compactionModeSetting, 'expected "periodic" or "revision"');
  }
  const autoCompactionMode = compactionModeSetting.value;
  const retentionSetting = sources.get('auto-compaction-retention') ??
    sources.fallback('auto-compaction-retention', MEMBER_CONFIG_DEFAULTS.autoCompactionRetention);
  const autoCompactionRetention = parseRetention(sources, retentionSetting, autoCompactionMode);
  const quotaSetting = sources.get('quota-backend-bytes') ??
    sources.fallback('quota-backend-bytes', String(MEMBER_CONFIG_DEFAULTS.quotaBackendBytes));
  // etcd: 0 means the default quota.
  const quotaBackendBytes = quotaSetting.value.trim() === '0'
    ? MEMBER_CONFIG_DEFAULTS.quotaBackendBytes : parsePositiveInteger(sources, quotaSetting, 'bytes');
  const txnOpsSetting = sources.get('max-txn-ops') ?? sources.fallback('max-txn-ops', String(MEMBER_CONFIG_DEFAULTS.maxTxnOps));
  const maxTxnOps = parsePositiveInteger(sources, txnOpsSetting, 'operations');
  const requestBytesSetting = sources.get('max-request-bytes') ??
    sources.fallback('max-request-bytes', String(MEMBER_CONFIG_DEFAULTS.maxRequestBytes));
  const maxRequestBytes = parsePositiveInteger(sources, requestBytesSetting, 'bytes');

  return {
    autoCompactionMode,
    autoCompactionRetention,
    quotaBackendBytes,
    maxTxnOps,
    maxRequestBytes,
    name,
    dataDir: dataDirSetting.value,
    listenClientUrls,
    advertiseClientUrls,
    listenPeerUrls,
    initialAdvertisePeerUrls,
    initialCluster,
    initialClusterState,
    initialClusterToken: tokenSetting.value,
    heartbeatIntervalMs,
    electionTimeoutMs,
    snapshotCount,
    logLevel,
  };
}

/**
 * parseRetention reads --auto-compaction-retention as etcd does: in `revision` mode a number of
 * revisions to keep; in `periodic` mode a duration (`30m`, `1h`, `90s`) or a bare number of
 * hours. 0 (the default) turns auto compaction off. Returns revisions or milliseconds.
 */
function parseRetention(sources: Sources, setting: Setting, mode: 'periodic' | 'revision'): number {
  const text = setting.value.trim();
  if (mode === 'revision') {
    if (!/^\d+$/.test(text)) sources.fail(setting, 'expected a number of revisions in revision mode');
    return Number(text);
  }
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (!match) sources.fail(setting, 'expected a duration such as 30m, 1h or a number of hours');
  const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match![2] ?? 'h') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(match![1]) * unitMs);
}

/**
 * parseFlagArgs reads `--flag value` and `--flag=value` (string flags named in `known`) with
 * node:util's parseArgs; the last of a repeated flag wins. It runs parseArgs non-strict and
 * enforces strictness itself (unknown flags, missing values, stray arguments) so each problem is
 * a one-line ConfigError naming the flag (and pointing at `helpCommand`) instead of parseArgs' prose.
 */
export function parseFlagArgs(argv: readonly string[], known: readonly string[], helpCommand: string): Map<string, string> {
  const options = Object.fromEntries(known.map((flag) => [flag, { type: 'string' as const }]));
  const { tokens } = parseArgsNonStrict([...argv], options);
  const flags = new Map<string, string>();
  for (const token of tokens) {
    if (token.kind === 'positional') {
      throw new ConfigError(`unexpected argument "${token.value}" (flags look like --name=value)`);
    }
    if (token.kind === 'option-terminator') continue;
    if (!known.includes(token.name) || token.rawName.startsWith('-') && !token.rawName.startsWith('--')) {
      throw new ConfigError(`unknown flag ${token.rawName} (see "${helpCommand}")`);
    }
    if (token.value === undefined || !token.inlineValue && token.value.startsWith('-')) {
      throw new ConfigError(`missing value for ${token.rawName} (write ${token.rawName}=VALUE; a value may start with "-" only in that form)`);
    }
    flags.set(token.name, token.value);
  }
  return flags;
}

type ArgsToken =
  | { kind: 'option'; name: string; rawName: string; value: string | undefined; inlineValue: boolean | undefined }
  | { kind: 'positional'; value: string }
  | { kind: 'option-terminator' };

function parseArgsNonStrict(args: string[], options: Record<string, { type: 'string' }>): { tokens: ArgsToken[] } {
  const result = nodeParseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  return { tokens: result.tokens as ArgsToken[] };
}

/** Sources looks a flag up in flags, then environment, then the config file. */
class Sources {
  constructor(
    private readonly flags: ReadonlyMap<string, string>,
    private readonly env: NodeJS.ProcessEnv,
    private readonly file: ConfigFileValues | undefined,
  ) {}

  get(flag: MemberFlag): Setting | undefined {
    const fromFlag = this.flags.get(flag);
    if (fromFlag !== undefined) return { flag, value: fromFlag, origin: 'flag' };
    const fromEnv = nonEmpty(this.env[envVarName(flag)]);
    if (fromEnv !== undefined) return { flag, value: fromEnv, origin: 'env' };
    const fromFile = this.file?.values.get(flag);
    if (fromFile !== undefined) return { flag, value: fromFile, origin: 'file' };
    return undefined;
  }

  fallback(flag: MemberFlag, value: string): Setting {
    return { flag, value, origin: 'default' };
  }

  /** label names a setting as the operator gave it: `--x`, `CONCORD_X` or `x in config file "p"`. */
  label(flag: MemberFlag, origin: Setting['origin']): string {
    switch (origin) {
      case 'flag': return `--${flag}`;
      case 'env': return envVarName(flag);
      case 'file': return `${flag} in config file "${this.file?.path ?? ''}"`;
      case 'default': return `--${flag}`;
    }
  }

  /** fail throws the one-line ConfigError `invalid <label> "<value>": <reason>`. */
  fail(setting: Setting, reason: string): never {
    const label = this.label(setting.flag, setting.origin);
    if (setting.origin === 'file') {
      throw new ConfigError(`invalid ${setting.flag} ${JSON.stringify(setting.value)} in config file "${this.file?.path ?? ''}": ${reason}`);
    }
    const note = setting.origin === 'default' ? ' (the default)' : '';
    throw new ConfigError(`invalid ${label} ${JSON.stringify(setting.value)}${note}: ${reason}`);
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** memberNameProblem says what is wrong with a member name (it appears in --initial-cluster, paths, log prefixes). */
function memberNameProblem(name: string): string | undefined {
  if (name === '') return 'expected a non-empty name';
  if (name.length > MEMBER_NAME_CHARS_MAX) return `a name has at most ${MEMBER_NAME_CHARS_MAX} characters`;
  if (/[\s=,\u0000-\u001f\u007f]/.test(name)) return 'a name cannot contain spaces, "=", "," or control characters';
  return undefined;
}

function parsePositiveInteger(sources: Sources, setting: Setting, unit: string): number {
  const value = Number(setting.value);
  if (!/^\d+$/.test(setting.value) || !Number.isSafeInteger(value) || value <= 0) {
    sources.fail(setting, `expected a positive integer (${unit})`);
  }
  return value;
}

/** parseUrlList parses a comma-separated URL list; advertised URLs must be reachable addresses. */
function parseUrlList(sources: Sources, setting: Setting, role: 'listen' | 'advertise'): URL[] {
  const texts = setting.value.split(',').map((text) => text.trim());
  const urls: URL[] = [];
  const seen = new Set<string>();
  for (const text of texts) {
    const which = texts.length > 1 && text !== '' ? `${JSON.stringify(text)}: ` : '';
    const url = parseUrl(text, (reason) => sources.fail(setting, `${which}${reason}`));
    if (role === 'advertise' && isUnspecifiedHost(url)) {
      sources.fail(setting, `${which}${url.hostname} is not an address others can reach (advertise a host name or IP; only listen URLs may use ${url.hostname})`);
    }
    const key = formatUrl(url);
    if (seen.has(key)) sources.fail(setting, `${key} is listed twice`);
    seen.add(key);
    urls.push(url);
  }
  return urls;
}

/**
 * parseUrl accepts exactly `http(s)://host:port` (an optional trailing `/`), as etcd does: an
 * explicit port, no path, query or credentials. `fail` gets the reason and must throw.
 */
function parseUrl(text: string, fail: (reason: string) => never): URL {
  if (text === '') fail('empty URL (expected e.g. http://10.0.0.1:2380)');
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) fail('expected a URL like http://10.0.0.1:2380');
  if (scheme !== 'http' && scheme !== 'https') fail(`URL scheme must be http or https, not "${scheme}"`);
  const rest = text.slice(scheme.length + 3);
  const authority = /^[^/?#]*/.exec(rest)?.[0] ?? '';
  const tail = rest.slice(authority.length);
  if ((tail !== '' && tail !== '/') || authority.includes('@')) {
    fail('URL must be scheme://host:port with no path, query or credentials');
  }
  const port = authority.endsWith(']') ? undefined : /:(\d+)$/.exec(authority)?.[1];
  if (port === undefined) fail('URL must have a port, e.g. http://10.0.0.1:2380');
  const portNumber = Number(port);
  if (portNumber < 1 || portNumber > 65535) fail(`port ${port} is out of range 1-65535`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    fail('expected a URL like http://10.0.0.1:2380');
  }
  if (url.hostname === '') fail('URL must have a host');
  return url;
}

function isUnspecifiedHost(url: URL): boolean {
  return url.hostname === '0.0.0.0' || url.hostname === '[::]';
}

/** checkNoSharedListenAddress refuses a client and a peer listener on the same host:port. */
function checkNoSharedListenAddress(clientUrls: readonly URL[], peerUrls: readonly URL[]): void {
  for (const client of clientUrls) {
    for (const peer of peerUrls) {
      if (client.hostname === peer.hostname && urlPort(client) === urlPort(peer)) {
        throw new ConfigError(`--listen-client-urls and --listen-peer-urls both use ${client.hostname}:${urlPort(client)}; ` +
          'give them different ports');
      }
    }
  }
}

/**
 * parseInitialCluster reads `name=url,name=url,...`; a name may repeat to give a member several
 * peer URLs (as in etcd). Names keep their first-seen order; a peer URL may belong to one name.
 */
function parseInitialCluster(sources: Sources, setting: Setting): Map<string, URL[]> {
  const cluster = new Map<string, URL[]>();
  const owners = new Map<string, string>();
  for (const part of setting.value.split(',').map((text) => text.trim())) {
    const equals = part.indexOf('=');
    if (equals <= 0) {
      sources.fail(setting, `${JSON.stringify(part)} is not name=url (expected e.g. m1=http://10.0.0.1:2380,m2=http://10.0.0.2:2380)`);
    }
    const name = part.slice(0, equals);
    const nameProblem = memberNameProblem(name);
    if (nameProblem !== undefined) sources.fail(setting, `member name ${JSON.stringify(name)}: ${nameProblem}`);
    const url = parseUrl(part.slice(equals + 1), (reason) => sources.fail(setting, `member ${name}: ${reason}`));
    if (isUnspecifiedHost(url)) {
      sources.fail(setting, `member ${name}: ${url.hostname} is not an address peers can reach`);
    }
    const key = formatUrl(url);
    const owner = owners.get(key);
    if (owner === name) sources.fail(setting, `member ${name} lists ${key} twice`);
    if (owner !== undefined) sources.fail(setting, `peer URL ${key} is given for both ${owner} and ${name}`);
    owners.set(key, name);
    const urls = cluster.get(name);
    if (urls === undefined) cluster.set(name, [url]);
    else urls.push(url);
  }
  return cluster;
}

/** checkOwnEntry: --initial-cluster names this member, with exactly its advertised peer URLs. */
function checkOwnEntry(
  sources: Sources,
  clusterSetting: Setting,
  cluster: ReadonlyMap<string, readonly URL[]>,
  nameSetting: Setting,
  name: string,
  advertisePeerSetting: Setting,
  advertisePeerUrls: readonly URL[],
): void {
  const own = cluster.get(name);
  if (own === undefined) {
    sources.fail(clusterSetting, `no entry for this member's ${sources.label('name', nameSetting.origin)} ` +
      `${JSON.stringify(name)} (members: ${[...cluster.keys()].join(', ')})`);
  }
  const listed = own.map(formatUrl).sort().join(',');
  const advertised = advertisePeerUrls.map(formatUrl).sort().join(',');
  if (listed !== advertised) {
    const hint = advertisePeerSetting.origin === 'default' ? ' (it was not set; etcd\'s default is used)' : '';
    throw new ConfigError(`${sources.label('initial-advertise-peer-urls', advertisePeerSetting.origin)} ` +
      `"${formatUrls(advertisePeerUrls)}"${hint} does not match ${name}'s entry "${own.map(formatUrl).join(',')}" in ` +
      `${sources.label('initial-cluster', clusterSetting.origin)}`);
  }
}
