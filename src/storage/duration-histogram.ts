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

/**
 * DurationHistogram counts durations into fixed buckets (not cumulative: `counts[i]` holds the
 * observations above bound i-1 and at most bound i; the last slot, those above every bound). An
 * observation costs one short bucket search; metrics turn it into a Prometheus histogram when
 * scraped.
 */
export class DurationHistogram {
  readonly counts: number[];
  sumSeconds = 0;
  total = 0;

  constructor(readonly boundsSeconds: readonly number[]) {
    this.counts = new Array<number>(boundsSeconds.length + 1).fill(0);
  }

  observe(seconds: number): void {
    let i = 0;
    while (i < this.boundsSeconds.length && seconds > this.boundsSeconds[i]!) i++;
    this.counts[i]!++;
    this.sumSeconds += seconds;
    this.total++;
  }
}
