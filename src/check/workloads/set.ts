/**
 * checkSet judges a set history: every add acknowledged before the final read was called is in
 * it, every element of the final read was attempted (acknowledged or of unknown outcome) and
 * appears once. A failed final read makes the verdict 'unknown'.
 */
import type { SetHistory, WorkloadVerdict } from '../workload-histories.js';
import { Problems, showTime } from './problems.js';

/** checkSet checks `history` (see the file comment). */
export function checkSet(history: SetHistory): WorkloadVerdict {
  const problems = new Problems();
  const unknownAdds = history.adds.filter((op) => op.returnTime === null).length;
  const head = `${history.adds.length} adds (${unknownAdds} unknown)`;
  const read = history.finalRead;
  if (read === null) {
    problems.unknown('the final read failed');
    return problems.verdict('set', head, 'ok');
  }
  const attempted = new Map<string, number>();
  history.adds.forEach((op, i) => attempted.set(op.input.element, i));
  const seen = new Set<string>();
  for (const element of read.elements) {
    if (seen.has(element)) problems.violation(`element ${JSON.stringify(element)} appears twice in the final read`);
    seen.add(element);
    if (!attempted.has(element)) problems.violation(`element ${JSON.stringify(element)} in the final read was never added`);
  }
  let lost = 0;
  history.adds.forEach((op, i) => {
    if (op.returnTime === null || op.returnTime > read.time) return;
    if (!seen.has(op.input.element)) {
      lost++;
      problems.violation(
        `acknowledged add #${i} of ${JSON.stringify(op.input.element)} (client ${op.clientId}, ` +
          `[${op.callTime}, ${showTime(op.returnTime)}]) is missing from the final read at ${read.time}`,
      );
    }
  });
  const unknownPresent = history.adds.filter((op) => op.returnTime === null && seen.has(op.input.element)).length;
  return problems.verdict('set', head, `${read.elements.length} read, ${lost} lost, ${unknownPresent} of the unknown adds present`);
}
