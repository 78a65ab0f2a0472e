import http from 'node:http';

/**
 * Batching counters read from a member's Prometheus `/metrics` on its client port (HTTP/1.1; both
 * Concord and etcd serve it there), so the benchmark can show how many operations share one fsync,
 * one Raft entry batch or one ReadIndex round. Counters that a system does not have are NaN.
 */

/** BatchCounters are cumulative counters of one member. */
export interface BatchCounters {
  /** fsyncs of the Raft log (Concord: concord_raft_syncs_total; etcd: etcd_disk_wal_fsync_duration_seconds_count). */
  readonly walFsyncs: number;
  /** entries committed (Concord: etcd_server_proposals_committed_total is the commit index; etcd: the same name). */
  readonly committed: number;
  /** proposalBatches: Concord's proposal batches handed to Raft (NaN for etcd). */
  readonly proposalBatches: number;
  /** readRounds: Concord's ReadIndex rounds (NaN for etcd). */
  readonly readRounds: number;
  /** backendCommits: etcd's bbolt commits (NaN for Concord). */
  readonly backendCommits: number;
  /** peerSocketWrites: Concord's writes to peer sockets (NaN for etcd). */
  readonly peerSocketWrites: number;
  /** snapshots: snapshots this member saved (Concord: concord_server_snapshots_total; etcd: etcd_debugging_snap_save_total_duration_seconds_count). */
  readonly snapshots: number;
  /**
   * unaryHandling: cumulative counts of `grpc_server_handling_seconds_bucket` of unary methods,
   * summed over methods, by bucket bound (seconds; Infinity for +Inf); empty where the member
   * does not serve the histogram (etcd without --metrics=extensive).
   */
  readonly unaryHandling: ReadonlyMap<number, number>;
  /**
   * walFsync: cumulative counts of `etcd_disk_wal_fsync_duration_seconds_bucket` by bucket bound
   * (seconds; Infinity for +Inf). Both systems serve it; Concord's bounds are etcd's plus three
   * below 1 ms.
   */
  readonly walFsync: ReadonlyMap<number, number>;
}

const NAMES = {
  walFsyncs: ['concord_raft_syncs_total', 'etcd_disk_wal_fsync_duration_seconds_count'],
  committed: ['etcd_server_proposals_committed_total'],
  proposalBatches: ['concord_raft_proposal_batches_total'],
  readRounds: ['concord_raft_read_rounds_total'],
  backendCommits: ['etcd_disk_backend_commit_duration_seconds_count'],
  peerSocketWrites: ['concord_network_peer_socket_writes_total'],
  snapshots: ['concord_server_snapshots_total', 'etcd_debugging_snap_save_total_duration_seconds_count'],
} as const;

/** scrapeMetrics returns a member's Prometheus text ('' when the scrape fails). */
export async function scrapeMetrics(clientPort: number): Promise<string> {
  try {
    return await get(clientPort, '/metrics');
  } catch {
    return '';
  }
}

/** metricValues sums the samples of each metric name in Prometheus `text` over their labels. */
export function metricValues(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const name = line.slice(0, space).replace(/\{.*\}$/, '');
    values.set(name, (values.get(name) ?? 0) + Number(line.slice(space + 1)));
  }
  return values;
}

/** readBatchCounters scrapes one member; every counter is NaN when the scrape fails. */
export async function readBatchCounters(clientPort: number): Promise<BatchCounters> {
  const text = await scrapeMetrics(clientPort);
  const values = metricValues(text);
  const unaryHandling = new Map<number, number>();
  const walFsync = new Map<number, number>();
  const addBucket = (into: Map<number, number>, line: string): void => {
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (le === undefined) return;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    into.set(bound, (into.get(bound) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  };
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('grpc_server_handling_seconds_bucket{') && line.includes('grpc_type="unary"')) addBucket(unaryHandling, line);
    if (line.startsWith('etcd_disk_wal_fsync_duration_seconds_bucket{')) addBucket(walFsync, line);
  }
  const pick = (names: readonly string[]): number => {
    for (const n of names) if (values.has(n)) return values.get(n)!;
    return Number.NaN;
  };
  return {
    walFsyncs: pick(NAMES.walFsyncs),
    committed: pick(NAMES.committed),
    proposalBatches: pick(NAMES.proposalBatches),
    readRounds: pick(NAMES.readRounds),
    backendCommits: pick(NAMES.backendCommits),
    peerSocketWrites: pick(NAMES.peerSocketWrites),
    snapshots: pick(NAMES.snapshots),
    unaryHandling,
    walFsync,
  };
}

/**
 * handlingQuantileMs estimates quantile `q` (0..1) in ms from cumulative bucket counts (summed
 * over members by the caller), interpolating linearly inside the bucket it falls in: the
 * server's own view of a call (stream open to status), without the client and the network.
 * NaN when there are no counts.
 */
export function handlingQuantileMs(cumulative: ReadonlyMap<number, number>, q: number): number {
  const bounds = [...cumulative.keys()].sort((a, b) => a - b);
  const total = cumulative.get(Number.POSITIVE_INFINITY) ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const bound of bounds) {
    const count = cumulative.get(bound)!;
    if (count >= rank) {
      if (!Number.isFinite(bound)) return lower * 1000;
      const inBucket = count - below;
      const fraction = inBucket > 0 ? (rank - below) / inBucket : 1;
      return (lower + (bound - lower) * fraction) * 1000;
    }
    lower = bound;
    below = count;
  }
  return Number.NaN;
}

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/**
 * shareAboveMs is the fraction (0..1) of the observations above `boundMs`, from cumulative bucket
 * counts that have that bound exactly; NaN without counts or without the bound.
 */
export function shareAboveMs(cumulative: ReadonlyMap<number, number>, boundMs: number): number {
  const total = cumulative.get(Number.POSITIVE_INFINITY) ?? 0;
  const atMost = cumulative.get(boundMs / 1000);
  if (total <= 0 || atMost === undefined) return Number.NaN;
  return (total - atMost) / total;
}

/** diffCounters is `after - before`, field by field. */
export function diffCounters(before: BatchCounters, after: BatchCounters): BatchCounters {
  return {
    walFsyncs: after.walFsyncs - before.walFsyncs,
    committed: after.committed - before.committed,
    proposalBatches: after.proposalBatches - before.proposalBatches,
    readRounds: after.readRounds - before.readRounds,
    backendCommits: after.backendCommits - before.backendCommits,
    peerSocketWrites: after.peerSocketWrites - before.peerSocketWrites,
    snapshots: after.snapshots - before.snapshots,
    unaryHandling: diffBuckets(before.unaryHandling, after.unaryHandling),
    walFsync: diffBuckets(before.walFsync, after.walFsync),
  };
}

function diffBuckets(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): Map<number, number> {
  return new Map([...after].map(([bound, n]) => [bound, n - (before.get(bound) ?? 0)]));
}
