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
}

const NAMES = {
  walFsyncs: ['concord_raft_syncs_total', 'etcd_disk_wal_fsync_duration_seconds_count'],
  committed: ['etcd_server_proposals_committed_total'],
  proposalBatches: ['concord_raft_proposal_batches_total'],
  readRounds: ['concord_raft_read_rounds_total'],
  backendCommits: ['etcd_disk_backend_commit_duration_seconds_count'],
  peerSocketWrites: ['concord_network_peer_socket_writes_total'],
} as const;

/** readBatchCounters scrapes one member; every counter is NaN when the scrape fails. */
export async function readBatchCounters(clientPort: number): Promise<BatchCounters> {
  let text = '';
  try {
    text = await get(clientPort, '/metrics');
  } catch {
    // NaN below
  }
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const name = line.slice(0, space).replace(/\{.*\}$/, '');
    values.set(name, (values.get(name) ?? 0) + Number(line.slice(space + 1)));
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
  };
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

/** diffCounters is `after - before`, field by field. */
export function diffCounters(before: BatchCounters, after: BatchCounters): BatchCounters {
  return {
    walFsyncs: after.walFsyncs - before.walFsyncs,
    committed: after.committed - before.committed,
    proposalBatches: after.proposalBatches - before.proposalBatches,
    readRounds: after.readRounds - before.readRounds,
    backendCommits: after.backendCommits - before.backendCommits,
    peerSocketWrites: after.peerSocketWrites - before.peerSocketWrites,
  };
}
