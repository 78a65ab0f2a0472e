import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';

/**
 * How long the load generator itself held calls up during a window: its event loop's delay (a
 * 1 ms timer's lateness, perf_hooks.monitorEventLoopDelay) and its garbage-collection pauses. A
 * call whose answer arrives while the load generator is stalled is timed late by the stall, so
 * these bound how much of a row's client-side tail is the load generator's own.
 */

/** RESOLUTION_MS is the sampling timer's period. */
const RESOLUTION_MS = 1;

/** LoadGeneratorStalls is what one window saw. */
export interface LoadGeneratorStalls {
  /** loopDelayP99Ms / loopDelayMaxMs: the event loop's lateness, 99th percentile and largest. */
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  /** gcMs: total GC pause time in the window; gcMaxMs the longest pause; gcCount how many. */
  readonly gcMs: number;
  readonly gcMaxMs: number;
  readonly gcCount: number;
}

/** StallWindow measures from its creation until stop(). */
export class StallWindow {
  private readonly histogram: IntervalHistogram;
  private readonly observer: PerformanceObserver;
  private gcMs = 0;
  private gcMaxMs = 0;
  private gcCount = 0;
  private result: LoadGeneratorStalls | undefined;

  constructor() {
    this.histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.histogram.enable();
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        this.gcMs += entry.duration;
        this.gcCount++;
        if (entry.duration > this.gcMaxMs) this.gcMaxMs = entry.duration;
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** stop ends the window (idempotent) and returns what it saw. */
  stop(): LoadGeneratorStalls {
    if (this.result !== undefined) return this.result;
    this.histogram.disable();
    // Entries not yet delivered to the callback are taken here.
    for (const entry of this.observer.takeRecords()) {
      this.gcMs += entry.duration;
      this.gcCount++;
      if (entry.duration > this.gcMaxMs) this.gcMaxMs = entry.duration;
    }
    this.observer.disconnect();
    // The histogram holds the timer's intervals in nanoseconds; lateness is what exceeds the resolution.
    const count = this.histogram.count;
    const lateMs = (ns: number): number => (count === 0 ? Number.NaN : Math.max(0, ns / 1e6 - RESOLUTION_MS));
    this.result = {
      loopDelayP99Ms: lateMs(this.histogram.percentile(99)),
      loopDelayMaxMs: lateMs(this.histogram.max),
      gcMs: this.gcMs,
      gcMaxMs: this.gcMaxMs,
      gcCount: this.gcCount,
    };
    return this.result;
  }
}
