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
