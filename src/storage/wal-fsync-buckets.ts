/**
 * walFsyncBucketBounds are the upper bounds (seconds) of the WAL fsync histogram: etcd's bounds for
 * `etcd_disk_wal_fsync_duration_seconds` (1 ms doubling to 8.192 s), so a dashboard or alert
 * written for etcd reads the same series, with three finer bounds below 1 ms, where a healthy
 * disk's fdatasync falls.
 */
export const walFsyncBucketBounds: readonly number[] = [
  0.0001, 0.00025, 0.0005,
  ...Array.from({ length: 14 }, (_, i) => 0.001 * 2 ** i),
];
