/**
 * The network a verification cluster runs on, and the one fault it can inject: losing the
 * messages one member sends to another. Two implementations share this interface:
 * `NetnsNetwork` (test/verify/netns.ts: one network namespace per member on a bridge, faults are
 * iptables DROP rules inside the namespaces) and `ProxyNetwork` (test/verify/proxy.ts: members on
 * loopback, every member-to-member link through a TCP proxy of the harness that can cut it).
 *
 * Concord's peer transport sends a member's messages to a peer on a connection that member
 * dialled (docs/transport.md), so "messages from A to B are lost" is exactly "A's connection to
 * B's peer port carries nothing"; both implementations cut that connection and leave B's
 * connection to A alone, which is what makes a one-way partition one-way.
 */

/** NetworkMode names the two implementations. */
export type NetworkMode = 'netns' | 'proxy';

/** MemberAddressing is how one member (1-based `index`) is started and reached. */
export interface MemberAddressing {
  readonly index: number;
  readonly name: string;
  /** clientUrl: where clients in the harness's namespace reach the member, e.g. `http://10.77.0.2:2379`. */
  readonly clientUrl: string;
  /** The `concord start` network flags of this member (listen/advertise URLs, --initial-cluster). */
  readonly flags: readonly string[];
}

/** ClusterNetwork is a started network for `size` members; see the file comment. */
export interface ClusterNetwork {
  readonly mode: NetworkMode;
  readonly size: number;
  /** describe is one line for the log, e.g. "netns: bridge cv123br 10.201.0.0/24". */
  describe(): string;
  addressing(index: number): MemberAddressing;
  /** command wraps the member's program and arguments (netns: `ip netns exec <ns> ...`). */
  command(index: number, program: string, args: readonly string[]): { program: string; args: string[] };
  /** block drops every message member `from` sends to member `to` (until heal). Idempotent. */
  block(from: number, to: number): Promise<void>;
  /** blocked lists the blocked (from, to) links. */
  blocked(): ReadonlyArray<readonly [number, number]>;
  /** heal removes every block. */
  heal(): Promise<void>;
  /** close removes everything the network created; safe to call twice. */
  close(): Promise<void>;
  /** closeSync is close for a process 'exit' handler: best effort, synchronous. */
  closeSync(): void;
}
