/**
 * MemberConfig is the validated configuration of one Concord member, as produced from flags,
 * `CONCORD_*` environment variables and a config file by `parseMemberConfig` (config.ts). Names
 * follow etcd's flags so operators can reuse their scripts. Everything here has been checked once
 * at start; the server trusts it.
 */
export interface MemberConfig {
  /** name is this member's human-readable name (--name); unique in the cluster. */
  readonly name: string;
  /** dataDir holds the member's WAL and snapshots (--data-dir). */
  readonly dataDir: string;
  /** listenClientUrls are where the client API listens (--listen-client-urls). */
  readonly listenClientUrls: readonly URL[];
  /** advertiseClientUrls are what clients are told to use (--advertise-client-urls). */
  readonly advertiseClientUrls: readonly URL[];
  /** listenPeerUrls are where the peer transport listens (--listen-peer-urls). */
  readonly listenPeerUrls: readonly URL[];
  /** initialAdvertisePeerUrls are this member's peer URLs as others reach them (--initial-advertise-peer-urls). */
  readonly initialAdvertisePeerUrls: readonly URL[];
  /** initialCluster maps every founding member's name to its peer URLs (--initial-cluster). */
  readonly initialCluster: ReadonlyMap<string, readonly URL[]>;
  /** initialClusterState is `new` for a founding member, `existing` to join a running cluster. */
  readonly initialClusterState: 'new' | 'existing';
  /** initialClusterToken distinguishes clusters; peers with another token are refused (--initial-cluster-token). */
  readonly initialClusterToken: string;
  /** heartbeatIntervalMs is the Raft tick (--heartbeat-interval, etcd default 100). */
  readonly heartbeatIntervalMs: number;
  /** electionTimeoutMs is the election timeout (--election-timeout, etcd default 1000); a multiple of the tick. */
  readonly electionTimeoutMs: number;
  /** snapshotCount: applied entries between snapshots (--snapshot-count). */
  readonly snapshotCount: number;
  /** logLevel filters log lines (--log-level: debug|info|warn|error). */
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** autoCompactionMode: `periodic` keeps a time window of history, `revision` a number of revisions. */
  readonly autoCompactionMode: 'periodic' | 'revision';
  /** autoCompactionRetention: milliseconds (periodic) or revisions (revision); 0 = off. */
  readonly autoCompactionRetention: number;
  /** quotaBackendBytes: writes are refused with NOSPACE beyond this store size (--quota-backend-bytes). */
  readonly quotaBackendBytes: number;
  /** maxTxnOps bounds the operations of one txn (--max-txn-ops). */
  readonly maxTxnOps: number;
  /** maxRequestBytes bounds one client request (--max-request-bytes). */
  readonly maxRequestBytes: number;
}

/** MEMBER_CONFIG_DEFAULTS are etcd's defaults where etcd has one. */
export const MEMBER_CONFIG_DEFAULTS = {
  name: 'default',
  listenClientUrls: 'http://localhost:2379',
  advertiseClientUrls: 'http://localhost:2379',
  listenPeerUrls: 'http://localhost:2380',
  initialAdvertisePeerUrls: 'http://localhost:2380',
  initialClusterState: 'new',
  initialClusterToken: 'etcd-cluster',
  heartbeatIntervalMs: 100,
  electionTimeoutMs: 1000,
  snapshotCount: 100_000,
  logLevel: 'info',
  autoCompactionMode: 'periodic',
  autoCompactionRetention: '0',
  quotaBackendBytes: 2 * 1024 * 1024 * 1024,
  maxTxnOps: 128,
  maxRequestBytes: 1.5 * 1024 * 1024,
} as const;
