/**
 * checkLock judges a lock history by what the fence must guarantee, with rules that hold even
 * when a client goes on believing it holds the lock after its lease expired:
 *
 * - acquisitions' fencing tokens are unique (one grant per token);
 * - the resource accepted tokens in non-decreasing order (it keeps the highest token seen);
 * - each accepted write carries a token its client acquired, was accepted no earlier than that
 *   acquisition returned, and was accepted once (a write is never both accepted and rejected);
 * - every write a client saw acknowledged is in the resource's log.
 *
 * Not a violation, only counted: an acquisition whose token is lower than that of one acquired
 * and released entirely before it returned. Lock grants follow token order, so such a client was
 * granted the lock before the other one and its answer arrived after it had lost the lock (its
 * lease expired meanwhile); the fence then rejects its writes once a higher token wrote.
 */
import type { LockHistory, WorkloadVerdict } from '../workload-histories.js';
import { parseDecimal, Problems } from './problems.js';

/** checkLock checks `history` (see the file comment). */
export function checkLock(history: LockHistory): WorkloadVerdict {
  const problems = new Problems();
  const head = `${history.acquisitions.length} acquisitions, ${history.resourceLog.length} accepted and ${history.rejected.length} rejected writes`;

  // Tokens of acquisitions: unique, each owned by one client.
  const byToken = new Map<string, { clientId: number; acquiredAt: number; token: bigint }>();
  const parsed: Array<{ clientId: number; token: bigint; acquiredAt: number; releasedAt: number | null }> = [];
  for (const a of history.acquisitions) {
    const token = parseDecimal(a.token);
    if (token === null) {
      problems.violation(`client ${a.clientId}: acquisition at ${a.acquiredAt} has token ${JSON.stringify(a.token)}, not a decimal`);
      continue;
    }
    const key = token.toString();
    const other = byToken.get(key);
    if (other !== undefined) {
      problems.violation(
        `token ${key} granted twice: client ${other.clientId} at ${other.acquiredAt} and client ${a.clientId} at ${a.acquiredAt}`,
      );
      continue;
    }
    byToken.set(key, { clientId: a.clientId, acquiredAt: a.acquiredAt, token });
    parsed.push({ clientId: a.clientId, token, acquiredAt: a.acquiredAt, releasedAt: a.releasedAt });
  }

  // The resource's log: tokens non-decreasing, each write from its token's holder after it acquired, once.
  let highest: bigint | null = null;
  const accepted = new Set<string>();
  const writeId = (w: { clientId: number; seq: number }): string => `${w.clientId}/${w.seq}`;
  history.resourceLog.forEach((w, i) => {
    const shown = `accepted write #${i} (client ${w.clientId}, seq ${w.seq}, token ${w.token}, at ${w.time})`;
    const token = parseDecimal(w.token);
    if (token === null) {
      problems.violation(`${shown}: token is not a decimal`);
      return;
    }
    if (highest !== null && token < highest) problems.violation(`${shown}: token goes back below ${highest}, already accepted`);
    if (highest === null || token > highest) highest = token;
    const holder = byToken.get(token.toString());
    if (holder === undefined) problems.violation(`${shown}: no acquisition returned token ${token}`);
    else if (holder.clientId !== w.clientId) problems.violation(`${shown}: token ${token} was granted to client ${holder.clientId}`);
    else if (w.time < holder.acquiredAt) problems.violation(`${shown}: accepted before the acquisition returned at ${holder.acquiredAt}`);
    if (accepted.has(writeId(w))) problems.violation(`${shown}: accepted twice`);
    accepted.add(writeId(w));
  });
  for (const w of history.rejected) {
    if (accepted.has(writeId(w))) problems.violation(`write (client ${w.clientId}, seq ${w.seq}) was both accepted and rejected`);
  }
  const logged = new Map(history.resourceLog.map((w) => [writeId(w), w.token]));
  for (const w of history.acknowledged) {
    const token = logged.get(writeId(w));
    if (token === undefined) problems.violation(`acknowledged write (client ${w.clientId}, seq ${w.seq}, token ${w.token}) is not in the resource's log`);
    else if (token !== w.token) problems.violation(`acknowledged write (client ${w.clientId}, seq ${w.seq}) was sent with token ${w.token} but logged with ${token}`);
  }

  const late = countLateGrants(parsed);
  return problems.verdict('lock', head, `fenced; ${late} acquisition(s) answered after the lock had passed on`);
}

/** countLateGrants counts acquisitions whose token is below that of one acquired and released before they returned. */
function countLateGrants(acquisitions: ReadonlyArray<{ token: bigint; acquiredAt: number; releasedAt: number | null }>): number {
  const released = acquisitions.filter((a) => a.releasedAt !== null).sort((a, b) => a.releasedAt! - b.releasedAt!);
  const byAcquired = [...acquisitions].sort((a, b) => a.acquiredAt - b.acquiredAt);
  let late = 0;
  let r = 0;
  let maxToken: bigint | null = null;
  for (const b of byAcquired) {
    while (r < released.length && released[r]!.releasedAt! < b.acquiredAt) {
      const t = released[r++]!.token;
      if (maxToken === null || t > maxToken) maxToken = t;
    }
    if (maxToken !== null && b.token < maxToken) late++;
  }
  return late;
}
