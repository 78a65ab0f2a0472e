import type { Registry } from 'prom-client';

/** BucketSeries is one labelled series of a histogram kept as plain, non-cumulative bucket counts. */
export interface BucketSeries {
  readonly labels: Record<string, string>;
  /** counts[i]: observations above bound i-1 and at most bound i; the last slot, above every bound. */
  readonly counts: readonly number[];
  readonly sumSeconds: number;
}

/**
 * registerBucketHistogram exposes Prometheus histogram `name`, built at scrape time from plain
 * bucket counts (`series()`, one entry per label set; empty series are left out), so the observing
 * path pays one bucket search and no prom-client call.
 */
export function registerBucketHistogram(
  registry: Registry, name: string, help: string, boundsSeconds: readonly number[], series: () => Iterable<BucketSeries>,
): void {
  const bounds = boundsSeconds.map(String);
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const values: Array<{ metricName: string; labels: Record<string, string>; value: number }> = [];
      for (const s of series()) {
        let count = 0;
        for (const n of s.counts) count += n;
        if (count === 0) continue;
        let cumulative = 0;
        for (let i = 0; i < bounds.length; i++) {
          cumulative += s.counts[i]!;
          values.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le: bounds[i]! }, value: cumulative });
        }
        values.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: count });
        values.push({ metricName: `${name}_sum`, labels: s.labels, value: s.sumSeconds });
        values.push({ metricName: `${name}_count`, labels: s.labels, value: count });
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
  };
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
}
