/**
 * auditOwnership is the check each process of the allocation test runs against its own
 * allocators, over and over: take what they claim (owned(): partition -> token), read every
 * partition's lock queue at one revision, take the claims again. A claim present with the same
 * token before and after the read was held across the read's linearization point, so at that
 * revision its token must be the partition's valid one: the lowest create revision queued under
 * `alloc/<service>/<partition>/`. Two owners holding valid tokens for one partition at once would
 * break this for one of them. Returns one line per violation.
 */
import type { Allocator, Concord } from '../../src/client/index.js';

export async function auditOwnership(client: Concord, allocators: readonly Allocator[], prefix: string): Promise<string[]> {
  const claims = (): Map<string, number>[] => allocators.map((a) => new Map(a.owned()));
  const before = claims();
  const queue = await client.getRange(prefix);
  const after = claims();
  const head = new Map<string, number>();
  for (const kv of queue.kvs) {
    const partition = kv.keyText.slice(prefix.length).split('/')[0]!;
    if (!head.has(partition) || kv.createRevision < head.get(partition)!) head.set(partition, kv.createRevision);
  }
  const violations: string[] = [];
  for (const [i, owned] of before.entries()) {
    for (const [partition, token] of owned) {
      if (after[i]!.get(partition) !== token) continue; // acquired or released meanwhile
      if (head.get(partition) !== token) {
        violations.push(`${allocators[i]!.instance} claims ${partition} with token ${token} but the valid token at revision ${queue.header.revision} is ${head.get(partition)}`);
      }
    }
  }
  return violations;
}
