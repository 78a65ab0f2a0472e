import net from 'node:net';
import { freePorts } from '../integration/cluster.js';
import type { ClusterNetwork, MemberAddressing } from './cluster-network.js';

/**
 * ProxyNetwork: members on 127.0.0.1, every member-to-member link through a TCP proxy in the
 * harness process, for machines where network namespaces are not available (not root, no
 * iptables). Link (A → B) is a proxy port that forwards to B's peer port; only A dials it.
 *
 * How A comes to dial its own proxy: a member's id is derived from the set of its peer URLs
 * (src/server/member-id.ts), and a member dials the first URL --initial-cluster lists for a
 * peer. So B's peer URLs are all the proxy ports leading to B (one per other member), every
 * member lists the same set for B, and A's --initial-cluster puts the A → B proxy first.
 *
 * block(A, B) closes the live connections of link A → B and closes every new one at once (A's
 * transport sees a reset and retries with backoff) until heal. B → A is a different link and
 * keeps working, so a one-way partition is one-way. (netns mode drops packets instead, which
 * leaves connections hanging rather than reset: a harsher fault.)
 */

/** LinkProxy forwards one link (from → to) and can cut it. */
class LinkProxy {
  readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  blocked = false;
  /** accepted counts connections forwarded (not cut) since start, for tests. */
  accepted = 0;

  constructor(private readonly targetPort: number) {
    this.server = net.createServer((socket) => this.onConnection(socket));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    return (this.server.address() as net.AddressInfo).port;
  }

  private onConnection(client: net.Socket): void {
    if (this.blocked) {
      client.destroy();
      return;
    }
    this.accepted++;
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  cut(): void {
    this.blocked = true;
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** ProxyNetwork implements ClusterNetwork with per-link TCP proxies; see the file comment. */
export class ProxyNetwork implements ClusterNetwork {
  readonly mode = 'proxy' as const;
  private closed = false;

  private constructor(
    readonly size: number,
    private readonly clientPorts: readonly number[],
    private readonly peerPorts: readonly number[],
    /** links.get(`${from}>${to}`) with its listening port. */
    private readonly links: ReadonlyMap<string, { proxy: LinkProxy; port: number }>,
  ) {}

  /** create starts the link proxies for `size` members (2..9) and reserves their ports. */
  static async create(size: number): Promise<ProxyNetwork> {
    if (!Number.isInteger(size) || size < 2 || size > 9) throw new Error(`proxy: cluster size must be 2..9, got ${size}`);
    const ports = await freePorts(2 * size);
    const clientPorts = ports.slice(0, size);
    const peerPorts = ports.slice(size);
    const links = new Map<string, { proxy: LinkProxy; port: number }>();
    try {
      for (let from = 1; from <= size; from++) {
        for (let to = 1; to <= size; to++) {
          if (from === to) continue;
          const proxy = new LinkProxy(peerPorts[to - 1]!);
          links.set(`${from}>${to}`, { proxy, port: await proxy.listen() });
        }
      }
    } catch (error) {
      await Promise.all([...links.values()].map((l) => l.proxy.close()));
      throw error;
    }
    return new ProxyNetwork(size, clientPorts, peerPorts, links);
  }

  describe(): string {
    return `proxy: ${this.size} members on 127.0.0.1, ${this.links.size} link proxies`;
  }

  private link(from: number, to: number): { proxy: LinkProxy; port: number } {
    const link = this.links.get(`${from}>${to}`);
    if (!link) throw new Error(`proxy: no link ${from} -> ${to} (members 1..${this.size})`);
    return link;
  }

  /** peerUrls lists member `to`'s peer URLs with the one `viewer` dials first. */
  private peerUrls(to: number, viewer: number): string[] {
    const urls: string[] = [];
    for (let from = 1; from <= this.size; from++) {
      if (from !== to) urls.push(`http://127.0.0.1:${this.link(from, to).port}`);
    }
    if (viewer !== to) {
      const first = `http://127.0.0.1:${this.link(viewer, to).port}`;
      return [first, ...urls.filter((u) => u !== first)];
    }
    return urls;
  }

  addressing(index: number): MemberAddressing {
    if (!Number.isInteger(index) || index < 1 || index > this.size) throw new Error(`proxy: no member ${index} (1..${this.size})`);
    const entries: string[] = [];
    for (let k = 1; k <= this.size; k++) for (const url of this.peerUrls(k, index)) entries.push(`m${k}=${url}`);
    const clientUrl = `http://127.0.0.1:${this.clientPorts[index - 1]!}`;
    return {
      index,
      name: `m${index}`,
      clientUrl,
      flags: [
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${this.peerPorts[index - 1]!}`,
        `--initial-advertise-peer-urls=${this.peerUrls(index, index).join(',')}`,
        `--initial-cluster=${entries.join(',')}`,
      ],
    };
  }

  command(_index: number, program: string, args: readonly string[]): { program: string; args: string[] } {
    return { program, args: [...args] };
  }

  async block(from: number, to: number): Promise<void> {
    if (from === to) throw new Error(`proxy: cannot block member ${from} from itself`);
    this.link(from, to).proxy.cut();
  }

  blocked(): ReadonlyArray<readonly [number, number]> {
    const out: Array<readonly [number, number]> = [];
    for (const [key, link] of this.links) {
      if (!link.proxy.blocked) continue;
      const [from, to] = key.split('>').map(Number) as [number, number];
      out.push([from, to]);
    }
    return out;
  }

  async heal(): Promise<void> {
    for (const link of this.links.values()) link.proxy.blocked = false;
  }

  /** forwarded counts the connections link from → to has forwarded (for tests). */
  forwarded(from: number, to: number): number {
    return this.link(from, to).proxy.accepted;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.links.values()].map((l) => l.proxy.close()));
  }

  closeSync(): void {
    // The proxies live in this process: they end with it.
    this.closed = true;
  }
}
