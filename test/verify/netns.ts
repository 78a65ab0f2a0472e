import fs from 'node:fs';
import { hasTool, isRoot, pidAlive, runTool, runToolSync, ToolError } from './cluster-exec.js';
import type { ClusterNetwork, MemberAddressing } from './cluster-network.js';

/**
 * NetnsNetwork: every member in its own network namespace, joined by veth links to a bridge in
 * the harness's (root) namespace. The bridge has an address, so clients in the root namespace
 * reach member n at 10.<x>.0.<n> (a /24 whose second octet is chosen free at start). Members
 * listen on CLIENT_PORT and PEER_PORT of their own address.
 *
 * Faults are iptables DROP rules inside the receiving member's namespace: block(A, B) drops, in
 * B's namespace, packets from A to B's peer port and packets from B's peer port to A. That kills
 * A's connection to B (A's messages to B) and leaves B's connection to A (B's messages to A)
 * working. Client traffic from the bridge address is never touched.
 *
 * Names: everything is named `cv<pid>...` (namespace `cv<pid>n<i>`, veth `cv<pid>h<i>` /
 * `cv<pid>p<i>`, bridge `cv<pid>br`) so a later run can find and remove what a crashed run left
 * behind (`removeStaleNetns`): objects whose pid no longer runs.
 */

/** CLIENT_PORT and PEER_PORT are every member's ports on its own address (etcd's defaults). */
export const CLIENT_PORT = 2379;
export const PEER_PORT = 2380;

/** NETNS_PREFIX starts the name of every object the harness creates. */
export const NETNS_PREFIX = 'cv';

const NAME_PATTERN = /^cv(\d+)(?:n\d+|h\d+|p\d+|br)$/;
const BRIDGE_HOST = 254;

/** probeNetns reports why netns mode cannot run here, or undefined if it can: it really creates (and removes) a namespace. */
export async function probeNetns(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'not Linux';
  if (!isRoot()) return 'not running as root';
  if (!(await hasTool('ip', ['-V']))) return '`ip` (iproute2) not found';
  if (!(await hasTool('iptables', ['-V']))) return '`iptables` not found';
  const probe = `${NETNS_PREFIX}${process.pid}n0`;
  try {
    await runTool('ip', ['netns', 'add', probe]);
    await runTool('ip', ['netns', 'exec', probe, 'iptables', '-w', '-A', 'INPUT', '-p', 'tcp', '--dport', String(PEER_PORT), '-j', 'DROP']);
    return undefined;
  } catch (error) {
    return `cannot create a namespace with iptables rules (${(error as Error).message.split('\n')[0]})`;
  } finally {
    await runTool('ip', ['netns', 'del', probe]).catch(() => undefined);
  }
}

/** removeStaleNetns deletes namespaces and links named like ours whose pid is no longer running; returns their names. */
export async function removeStaleNetns(): Promise<string[]> {
  const removed: string[] = [];
  const stale = (name: string): boolean => {
    const match = NAME_PATTERN.exec(name);
    return match !== null && !pidAlive(Number(match[1]));
  };
  const namespaces = (await runTool('ip', ['netns', 'list'])).split('\n').map((l) => l.split(' ')[0] ?? '').filter(stale);
  for (const ns of namespaces) {
    await killNamespaceProcesses(ns);
    await runTool('ip', ['netns', 'del', ns]).catch(() => undefined);
    removed.push(ns);
  }
  const links = (await runTool('ip', ['-o', 'link', 'show'])).split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '')
    .filter(stale);
  for (const link of links) {
    await runTool('ip', ['link', 'del', link]).catch(() => undefined);
    removed.push(link);
  }
  return removed;
}

async function killNamespaceProcesses(ns: string): Promise<void> {
  const pids = (await runTool('ip', ['netns', 'pids', ns]).catch(() => '')).split(/\s+/).filter(Boolean).map(Number);
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
}

/** harnessObjects lists the namespaces and links of the run with this pid (for teardown checks). */
export async function harnessObjects(pid: number = process.pid): Promise<string[]> {
  const mine = (name: string): boolean => NAME_PATTERN.exec(name)?.[1] === String(pid);
  const namespaces = (await runTool('ip', ['netns', 'list'])).split('\n').map((l) => l.split(' ')[0] ?? '').filter(mine);
  const links = (await runTool('ip', ['-o', 'link', 'show'])).split('\n').map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '').filter(mine);
  return [...namespaces, ...links];
}

/** chooseSubnetOctet picks x so that 10.x.0.0/24 appears in no address or route of this host. */
async function chooseSubnetOctet(): Promise<number> {
  const used = new Set<number>();
  const text = (await runTool('ip', ['-4', '-o', 'addr', 'show'])) + (await runTool('ip', ['-4', 'route', 'show', 'table', 'all']));
  for (const match of text.matchAll(/\b10\.(\d+)\.\d+\.\d+/g)) used.add(Number(match[1]));
  const start = 100 + (process.pid % 150);
  for (let k = 0; k < 150; k++) {
    const x = 100 + ((start - 100 + k) % 150);
    if (!used.has(x)) return x;
  }
  throw new Error('netns: no free 10.x.0.0/24 subnet for the bridge (x in 100..249)');
}

/** NetnsNetwork implements ClusterNetwork with namespaces; see the file comment. */
export class NetnsNetwork implements ClusterNetwork {
  readonly mode = 'netns' as const;
  private readonly links = new Set<string>();
  private closed = false;
  /** forwardRule: an ACCEPT rule added to the root FORWARD chain when bridged traffic is filtered there with a DROP policy. */
  private forwardRule: string[] | undefined;

  private constructor(readonly size: number, private readonly octet: number) {}

  /** create builds the bridge, the namespaces and their veth links for `size` members (one network per process at a time). */
  static async create(size: number): Promise<NetnsNetwork> {
    if (!Number.isInteger(size) || size < 1 || size > 9) throw new Error(`netns: cluster size must be 1..9, got ${size}`);
    const octet = await chooseSubnetOctet();
    const network = new NetnsNetwork(size, octet);
    try {
      await network.build();
    } catch (error) {
      await network.close();
      throw error;
    }
    return network;
  }

  /** The names keep the pid right after the prefix, so removeStaleNetns recognises them (at most 15 characters: pid ≤ 7 digits). */
  private get bridge(): string { return `${NETNS_PREFIX}${process.pid}br`; }
  /** namespace is member `index`'s network namespace. */
  namespace(index: number): string { return `${NETNS_PREFIX}${process.pid}n${index}`; }
  private hostVeth(index: number): string { return `${NETNS_PREFIX}${process.pid}h${index}`; }
  private memberVeth(index: number): string { return `${NETNS_PREFIX}${process.pid}p${index}`; }

  /** address is member `index`'s IPv4 address. */
  address(index: number): string {
    return `10.${this.octet}.0.${index}`;
  }

  private async build(): Promise<void> {
    const bridge = this.bridge;
    this.links.add(bridge);
    await runTool('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
    await runTool('ip', ['addr', 'add', `10.${this.octet}.0.${BRIDGE_HOST}/24`, 'dev', bridge]);
    await runTool('ip', ['link', 'set', bridge, 'up']);
    await this.allowBridgedForwarding(bridge);
    for (let i = 1; i <= this.size; i++) {
      const ns = this.namespace(i);
      const host = this.hostVeth(i);
      const member = this.memberVeth(i);
      await runTool('ip', ['netns', 'add', ns]);
      this.links.add(host);
      await runTool('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', member]);
      await runTool('ip', ['link', 'set', member, 'netns', ns]);
      await runTool('ip', ['link', 'set', host, 'master', bridge]);
      await runTool('ip', ['link', 'set', host, 'up']);
      await runTool('ip', ['-n', ns, 'addr', 'add', `${this.address(i)}/24`, 'dev', member]);
      await runTool('ip', ['-n', ns, 'link', 'set', member, 'up']);
      await runTool('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
  }

  /** With br_netfilter, bridged frames cross the root FORWARD chain; under a DROP policy our bridge needs an ACCEPT rule. */
  private async allowBridgedForwarding(bridge: string): Promise<void> {
    let filtered = false;
    try { filtered = fs.readFileSync('/proc/sys/net/bridge/bridge-nf-call-iptables', 'utf8').trim() === '1'; } catch { /* no br_netfilter */ }
    if (!filtered) return;
    const policy = await runTool('iptables', ['-w', '-S', 'FORWARD']).catch(() => '');
    if (!/^-P FORWARD (DROP|REJECT)/m.test(policy)) return;
    this.forwardRule = ['FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT'];
    await runTool('iptables', ['-w', '-I', ...this.forwardRule]);
  }

  describe(): string {
    return `netns: ${this.size} namespaces ${this.namespace(1)}..${this.namespace(this.size)} on bridge ${this.bridge} 10.${this.octet}.0.0/24`;
  }

  addressing(index: number): MemberAddressing {
    this.checkIndex(index);
    const ip = this.address(index);
    const initialCluster = Array.from({ length: this.size }, (_, k) => `m${k + 1}=http://${this.address(k + 1)}:${PEER_PORT}`).join(',');
    return {
      index,
      name: `m${index}`,
      clientUrl: `http://${ip}:${CLIENT_PORT}`,
      flags: [
        `--listen-client-urls=http://${ip}:${CLIENT_PORT}`,
        `--advertise-client-urls=http://${ip}:${CLIENT_PORT}`,
        `--listen-peer-urls=http://${ip}:${PEER_PORT}`,
        `--initial-advertise-peer-urls=http://${ip}:${PEER_PORT}`,
        `--initial-cluster=${initialCluster}`,
      ],
    };
  }

  command(index: number, program: string, args: readonly string[]): { program: string; args: string[] } {
    this.checkIndex(index);
    return { program: 'ip', args: ['netns', 'exec', this.namespace(index), program, ...args] };
  }

  private readonly blockedLinks = new Map<string, readonly [number, number]>();

  private rules(from: number): string[][] {
    const peer = this.address(from);
    return [
      ['INPUT', '-s', peer, '-p', 'tcp', '--dport', String(PEER_PORT), '-j', 'DROP'],
      ['OUTPUT', '-d', peer, '-p', 'tcp', '--sport', String(PEER_PORT), '-j', 'DROP'],
    ];
  }

  async block(from: number, to: number): Promise<void> {
    this.checkIndex(from);
    this.checkIndex(to);
    if (from === to) throw new Error(`netns: cannot block member ${from} from itself`);
    const key = `${from}>${to}`;
    if (this.blockedLinks.has(key)) return;
    this.blockedLinks.set(key, [from, to]);
    for (const rule of this.rules(from)) {
      await runTool('ip', ['netns', 'exec', this.namespace(to), 'iptables', '-w', '-A', ...rule]);
    }
  }

  blocked(): ReadonlyArray<readonly [number, number]> {
    return [...this.blockedLinks.values()];
  }

  async heal(): Promise<void> {
    const targets = new Set([...this.blockedLinks.values()].map(([, to]) => to));
    this.blockedLinks.clear();
    for (const to of targets) {
      for (const chain of ['INPUT', 'OUTPUT']) await runTool('ip', ['netns', 'exec', this.namespace(to), 'iptables', '-w', '-F', chain]);
    }
  }

  /** rulesOf lists the iptables rules in member `index`'s namespace (for tests). */
  async rulesOf(index: number): Promise<string[]> {
    const text = await runTool('ip', ['netns', 'exec', this.namespace(index), 'iptables', '-w', '-S']);
    return text.split('\n').filter((l) => l.startsWith('-A '));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const errors: string[] = [];
    for (let i = 1; i <= this.size; i++) {
      const ns = this.namespace(i);
      await killNamespaceProcesses(ns);
      await runTool('ip', ['netns', 'del', ns]).catch((e: unknown) => { if (!isMissing(e)) errors.push((e as Error).message); });
    }
    for (const link of this.links) {
      await runTool('ip', ['link', 'del', link]).catch((e: unknown) => { if (!isMissing(e)) errors.push((e as Error).message); });
    }
    if (this.forwardRule) await runTool('iptables', ['-w', '-D', ...this.forwardRule]).catch((e: unknown) => errors.push((e as Error).message));
    if (errors.length > 0) throw new Error(`netns teardown: ${errors.join('; ')}`);
  }

  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    for (let i = 1; i <= this.size; i++) {
      const ns = this.namespace(i);
      for (const pid of runToolSync('ip', ['netns', 'pids', ns]).stdout.split(/\s+/).filter(Boolean)) {
        try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
      }
      runToolSync('ip', ['netns', 'del', ns]);
    }
    for (const link of this.links) runToolSync('ip', ['link', 'del', link]);
    if (this.forwardRule) runToolSync('iptables', ['-w', '-D', ...this.forwardRule]);
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 1 || index > this.size) throw new Error(`netns: no member ${index} (1..${this.size})`);
  }
}

function isMissing(error: unknown): boolean {
  return error instanceof ToolError && /Cannot find device|No such file|does not exist|Invalid argument/i.test(error.stderr);
}
