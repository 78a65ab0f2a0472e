/**
 * checkLease judges a lease history against the final read of the prefix (called at
 * `finalRead.time`): keys of a lease whose revoke was acknowledged before the read are gone;
 * keys of an abandoned lease are gone when the read was called more than its TTL plus
 * `expiryGrace` after its last acknowledged grant or keep-alive; keys of a lease kept alive to
 * the end are present. TTLs are seconds and times milliseconds (real or simulated), so a TTL
 * counts ttl × 1000 in the history's unit. A failed final read makes the verdict 'unknown'.
 */
import type { LeaseHistory, WorkloadVerdict } from '../workload-histories.js';
import { Problems } from './problems.js';

/** LEASE_TTL_UNIT_MS is the length of one TTL unit (a second) in the history's time unit (milliseconds). */
export const LEASE_TTL_UNIT_MS = 1000;

/** checkLease checks `history` (see the file comment). */
export function checkLease(history: LeaseHistory): WorkloadVerdict {
  const problems = new Problems();
  const count = (fate: string): number => history.leases.filter((l) => l.fate === fate).length;
  const head = `${history.leases.length} leases (${count('revoked')} revoked, ${count('abandoned')} abandoned, ${count('kept')} kept)`;
  const read = history.finalRead;
  if (read === null) {
    problems.unknown('the final read failed');
    return problems.verdict('lease', head, 'ok');
  }
  const present = new Set(read.keys);
  let judged = 0;
  for (const lease of history.leases) {
    const shown = `lease ${lease.id} (ttl ${lease.ttl} s, ${lease.fate}${lease.endedAt === null ? '' : ` at ${lease.endedAt}`})`;
    switch (lease.fate) {
      case 'revoked':
        if (lease.endedAt === null || lease.endedAt > read.time) continue;
        judged++;
        for (const key of lease.keys) {
          if (present.has(key)) problems.violation(`${shown}: key ${JSON.stringify(key)} still present at ${read.time}`);
        }
        break;
      case 'abandoned': {
        if (lease.endedAt === null) continue;
        const deadline = lease.endedAt + lease.ttl * LEASE_TTL_UNIT_MS + history.expiryGrace;
        if (!(read.time > deadline)) continue;
        judged++;
        for (const key of lease.keys) {
          if (present.has(key)) problems.violation(`${shown}: key ${JSON.stringify(key)} still present at ${read.time}, after its expiry deadline ${deadline}`);
        }
        break;
      }
      case 'kept':
        judged++;
        for (const key of lease.keys) {
          if (!present.has(key)) problems.violation(`${shown}: key ${JSON.stringify(key)} missing from the final read at ${read.time}`);
        }
        break;
    }
  }
  return problems.verdict('lease', head, `${judged} judged, keys as expected`);
}
