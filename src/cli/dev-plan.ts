/**
 * The layout of `concord dev`'s local cluster: three members on 127.0.0.1, their ports, data
 * directories and the `concord start` flags each one runs with. Pure, so it is tested directly.
 */
import { join } from 'node:path';
import { ConfigError } from '../server/config.js';

/** DEV_BASE_PORT_DEFAULT is etcd's client port; member 1 uses it, its peer port is +1. */
export const DEV_BASE_PORT_DEFAULT = 2379;
/** DEV_DATA_DIR_DEFAULT holds one directory per dev member (relative to the working directory). */
export const DEV_DATA_DIR_DEFAULT = join('.concord', 'dev');
/** DEV_PORT_OFFSETS are the members' client-port offsets from the base port; peer = client + 1. */
export const DEV_PORT_OFFSETS = [0, 20_000, 30_000] as const;
/** DEV_CLUSTER_TOKEN is the dev cluster's --initial-cluster-token. */
export const DEV_CLUSTER_TOKEN = 'concord-dev';
/** DEV_BASE_PORT_MAX keeps the highest port (base + 30001) within 65535. */
export const DEV_BASE_PORT_MAX = 65_535 - DEV_PORT_OFFSETS[2] - 1;

/** DevMember is one planned dev member. */
export interface DevMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  /** startArgs are the arguments after `concord start`. */
  readonly startArgs: readonly string[];
}

/** parseBasePort checks --base-port: an integer with every dev port in 1..65535. */
export function parseBasePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > DEV_BASE_PORT_MAX) {
    throw new ConfigError(`invalid --base-port ${JSON.stringify(text)}: expected an integer from 1 to ${DEV_BASE_PORT_MAX} ` +
      '(the members use it, +1, +20000, +20001, +30000 and +30001)');
  }
  return port;
}

/**
 * planDevCluster lays out members m1..m3 with the same --initial-cluster and token on every run,
 * so a second run finds and reuses their data directories.
 */
export function planDevCluster(basePort: number, dataDir: string, logLevel?: string): DevMember[] {
  const layout = DEV_PORT_OFFSETS.map((offset, index) => ({
    name: `m${index + 1}`,
    clientUrl: `http://127.0.0.1:${basePort + offset}`,
    peerUrl: `http://127.0.0.1:${basePort + offset + 1}`,
  }));
  const initialCluster = layout.map((member) => `${member.name}=${member.peerUrl}`).join(',');
  return layout.map((member) => {
    const memberDir = join(dataDir, member.name);
    return {
      ...member,
      dataDir: memberDir,
      startArgs: [
        `--name=${member.name}`,
        `--data-dir=${memberDir}`,
        `--listen-client-urls=${member.clientUrl}`,
        `--advertise-client-urls=${member.clientUrl}`,
        `--listen-peer-urls=${member.peerUrl}`,
        `--initial-advertise-peer-urls=${member.peerUrl}`,
        `--initial-cluster=${initialCluster}`,
        '--initial-cluster-state=new',
        `--initial-cluster-token=${DEV_CLUSTER_TOKEN}`,
        ...(logLevel === undefined ? [] : [`--log-level=${logLevel}`]),
      ],
    };
  });
}
