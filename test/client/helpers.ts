import { TestCluster } from '../integration/cluster.js';

/** startCluster starts a 3-member cluster with fast elections and waits for a leader. */
export async function startCluster(extraFlags: string[] = []): Promise<TestCluster> {
  const cluster = await TestCluster.create(3, { extraFlags: ['--heartbeat-interval=50', '--election-timeout=500', ...extraFlags] });
  cluster.startAll();
  await cluster.waitForLeader(20_000);
  return cluster;
}

/** endpointsOf lists the members' client URLs. */
export function endpointsOf(cluster: TestCluster): string[] {
  return cluster.members.map((m) => `http://127.0.0.1:${m.clientPort}`);
}

/** percentile returns the p-th percentile (0..100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}
