import { Gauge, type Registry } from 'prom-client';
import { registerBucketHistogram } from '../api/http/bucket-histogram.js';
import type { MvccStore } from '../kv/index.js';
import type { DurationHistogram } from '../lib/duration-histogram.js';
import type { TransportStats } from '../transport/stats.js';
import type { GroupHost } from './group-host.js';

/**
 * registerMemberMetrics exports the member's state with etcd's metric names where etcd has one
 * (etcd_server_*, etcd_mvcc_*, etcd_disk_*), read at scrape time from the live objects.
 */
export function registerMemberMetrics(
  registry: Registry, group: GroupHost<unknown>, store: () => MvccStore, peers?: TransportStats, walFsyncs?: DurationHistogram,
): void {
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  };
  gauge('etcd_server_has_leader', 'Whether or not a leader exists. 1 is existence, 0 is not.', () => (group.leaderId() !== 0 ? 1 : 0));
  gauge('etcd_server_is_leader', 'Whether or not this member is a leader. 1 if is, 0 otherwise.', () => (group.isLeader() ? 1 : 0));
  gauge('etcd_server_proposals_committed_total', 'The total number of consensus proposals committed.', () => group.node.status().hardState.commit);
  gauge('etcd_server_proposals_applied_total', 'The total number of consensus proposals applied.', () => group.applied());
  gauge('etcd_server_term', 'The current Raft term of this member.', () => group.node.raft.term);
  gauge('etcd_mvcc_db_total_size_in_bytes', 'Total size of the store in bytes (logical).', () => store().sizeBytes);
  gauge('etcd_debugging_mvcc_current_revision', 'The current revision of the store.', () => store().currentRevision);
  gauge('etcd_debugging_mvcc_compact_revision', 'The revision of the last compaction.', () => store().compactRevision);
  gauge('etcd_debugging_mvcc_keys_total', 'Total number of keys.', () => store().keyCount);
  gauge('concord_raft_readies_total', 'Ready batches handled by the node host.', () => group.stats.readies);
  gauge('concord_raft_syncs_total', 'WAL fsyncs (one per Ready batch that must be durable).', () => group.stats.syncs);
  gauge('concord_raft_persisted_entries_total', 'Log entries written to the WAL.', () => group.stats.persistedEntries);
  gauge('concord_raft_proposal_batches_total', 'Proposal batches handed to Raft.', () => group.stats.proposalBatches);
  gauge('concord_raft_read_rounds_total', 'ReadIndex rounds (each confirms many reads).', () => group.stats.readRounds);
  gauge('concord_disk_wal_fsync_last_seconds', 'Duration of the last WAL fsync.', () => group.stats.lastSyncMs / 1000);
  gauge('concord_disk_wal_fsync_max_seconds', 'Longest WAL fsync seen.', () => group.stats.maxSyncMs / 1000);
  gauge('concord_server_snapshots_total', 'Snapshots taken by this member.', () => group.stats.snapshots);
  gauge('concord_server_stall_transfers_total', 'Leadership transfers started because this leader stalled.', () => group.stats.leaderTransfersForStall);
  gauge('concord_raft_commit_notices_deferred_total', 'Leader appends without entries (commit notices) held back one loop iteration.', () => group.stats.commitNoticesDeferred);
  gauge('concord_server_applied_during_write_total', 'Entries applied while a write of this member was in flight (committed by a quorum meanwhile).', () => group.stats.appliedDuringWrite);
  gauge('concord_raft_commit_notices_superseded_total', 'Held commit notices never sent: a later append to the follower carried the commit.', () => group.stats.commitNoticesSuperseded);
  gauge('concord_server_loop_stalls_tolerated_total', 'Single event-loop stalls of this leader past the bound that did not move leadership.', () => group.stats.loopStallsTolerated);
  if (walFsyncs !== undefined) {
    registerBucketHistogram(registry, 'etcd_disk_wal_fsync_duration_seconds', 'The latency distributions of fsync called by WAL.',
      walFsyncs.boundsSeconds, () => [{ labels: {}, counts: walFsyncs.counts, sumSeconds: walFsyncs.sumSeconds }]);
  }
  if (peers === undefined) return;
  gauge('etcd_network_peer_sent_bytes_total', 'The total number of bytes sent to peers.', () => peers.bytesSent);
  gauge('etcd_network_peer_received_bytes_total', 'The total number of bytes received from peers.', () => peers.bytesReceived);
  gauge('concord_network_peer_messages_sent_total', 'Raft messages written to peer connections.', () => peers.messagesSent);
  gauge('concord_network_peer_messages_received_total', 'Raft messages received from peers.', () => peers.messagesReceived);
  gauge('concord_network_peer_messages_dropped_total', 'Raft messages given to the transport and never written (peer down, queue full).', () => peers.messagesDropped);
  gauge('concord_network_peer_socket_writes_total', 'Writes handing bytes to peer sockets (each batches every message of a turn).', () => peers.socketWrites);
}

