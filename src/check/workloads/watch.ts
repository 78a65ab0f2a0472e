/**
 * checkWatch judges a watch history. Per watcher: revisions above `startRevision`, never going
 * back, no (revision, key) event twice. Every watcher that was not cancelled for compaction saw
 * every revision in (startRevision, final.revision] (the workload is the only writer, so each of
 * them changed a key under the prefix), and all watchers saw one event sequence up to
 * final.revision (a compacted watcher a prefix of it). Applying that sequence to `initial` gives
 * `final.kvs`, and every acknowledged write is in it at its revision with its value (an
 * acknowledged delete may have found nothing to delete: then the key is absent at its revision).
 * Events after final.revision are ignored. A compacted watcher or a failed final read leaves the
 * verdict 'unknown' unless a violation is found.
 */
import type { WatchEvent, WatchHistory, WorkloadVerdict } from '../workload-histories.js';
import { parseDecimal, Problems } from './problems.js';

interface Parsed {
  readonly revision: bigint;
  readonly event: WatchEvent;
}

function sameEvent(a: WatchEvent, b: WatchEvent): boolean {
  return a.revision === b.revision && a.key === b.key && a.type === b.type && (a.value ?? null) === (b.value ?? null);
}

function showEvent(e: WatchEvent): string {
  return `${e.type} ${JSON.stringify(e.key)}${e.type === 'put' ? `=${JSON.stringify(e.value ?? '')}` : ''} @${e.revision}`;
}

/** checkWatch checks `history` (see the file comment). */
export function checkWatch(history: WatchHistory): WorkloadVerdict {
  const problems = new Problems();
  const eventCount = history.watchers.reduce((sum, w) => sum + w.events.length, 0);
  const head = `${history.watchers.length} watchers, ${eventCount} events, ${history.acknowledged.length} acknowledged writes`;
  const start = parseDecimal(history.startRevision);
  if (start === null) {
    problems.violation(`startRevision ${JSON.stringify(history.startRevision)} is not a decimal`);
    return problems.verdict('watch', head, 'ok');
  }
  const final = history.final;
  const finalRevision = final === null ? null : parseDecimal(final.revision);
  if (final === null) problems.unknown('the final read failed');
  else if (finalRevision === null) problems.violation(`final revision ${JSON.stringify(final.revision)} is not a decimal`);

  // Per-watcher order and duplicates; each watcher's events up to the final revision.
  const sequences: Array<{ id: number; compacted: boolean; events: Parsed[] }> = [];
  for (const watcher of history.watchers) {
    const events: Parsed[] = [];
    const seen = new Set<string>();
    let last = start;
    for (const event of watcher.events) {
      const revision = parseDecimal(event.revision);
      if (revision === null) {
        problems.violation(`watcher ${watcher.id}: event revision ${JSON.stringify(event.revision)} is not a decimal`);
        continue;
      }
      if (finalRevision !== null && revision > finalRevision) continue;
      if (!event.key.startsWith(history.prefix)) {
        problems.violation(`watcher ${watcher.id}: ${showEvent(event)} is outside the prefix ${JSON.stringify(history.prefix)}`);
      }
      if (revision <= start) {
        problems.violation(`watcher ${watcher.id}: ${showEvent(event)} is at or before the start revision ${start}`);
      } else if (revision < last) {
        problems.violation(`watcher ${watcher.id}: ${showEvent(event)} goes back after revision ${last}`);
      }
      const id = `${revision}\u0000${event.key}`;
      if (seen.has(id)) problems.violation(`watcher ${watcher.id}: duplicate event ${showEvent(event)}`);
      seen.add(id);
      if (revision > last) last = revision;
      events.push({ revision, event });
    }
    sequences.push({ id: watcher.id, compacted: watcher.compacted === true, events });
  }

  // Gaplessness (complete watchers only; compacted ones are reported as unknown).
  for (const seq of sequences) {
    if (seq.compacted) {
      problems.unknown(`watcher ${seq.id} was cancelled for compaction after ${seq.events.length} event(s): its completeness is not known`);
      continue;
    }
    if (finalRevision === null) continue;
    const revisions = new Set(seq.events.map((e) => e.revision));
    let missing = 0;
    let firstMissing: bigint | null = null;
    for (let r = start + 1n; r <= finalRevision; r++) {
      if (!revisions.has(r)) {
        missing++;
        firstMissing ??= r;
      }
    }
    if (firstMissing !== null) {
      problems.violation(`watcher ${seq.id}: ${missing} revision(s) in (${start}, ${finalRevision}] never delivered, first ${firstMissing}`);
    }
  }

  // Agreement: one reference sequence (the longest complete watcher, else the longest).
  const reference = [...sequences].sort((a, b) => Number(a.compacted) - Number(b.compacted) || b.events.length - a.events.length)[0];
  if (reference !== undefined) {
    for (const seq of sequences) {
      if (seq === reference) continue;
      const mustMatchLength = !seq.compacted && !reference.compacted && finalRevision !== null;
      const n = Math.min(seq.events.length, reference.events.length);
      let at = -1;
      for (let i = 0; i < n; i++) {
        if (!sameEvent(seq.events[i]!.event, reference.events[i]!.event)) {
          at = i;
          break;
        }
      }
      if (at < 0 && mustMatchLength && seq.events.length !== reference.events.length) at = n;
      if (at >= 0) {
        const mine = seq.events[at]?.event;
        const theirs = reference.events[at]?.event;
        problems.violation(
          `watchers ${seq.id} and ${reference.id} diverge at event ${at}: ` +
            `${mine === undefined ? 'nothing' : showEvent(mine)} vs ${theirs === undefined ? 'nothing' : showEvent(theirs)}`,
        );
      }
    }
  }

  // The reference's events, applied to `initial`, give the final contents; acknowledged writes are in them.
  if (reference !== undefined && !reference.compacted && final !== null && finalRevision !== null) {
    const state = new Map(Object.entries(history.initial));
    const stateAt = new Map<bigint, Map<string, string>>();
    const byRevision = new Map<bigint, WatchEvent[]>();
    for (const { revision, event } of reference.events) {
      if (event.type === 'put') state.set(event.key, event.value ?? '');
      else state.delete(event.key);
      const list = byRevision.get(revision) ?? [];
      list.push(event);
      byRevision.set(revision, list);
      stateAt.set(revision, new Map(state));
    }
    const expected = new Map(Object.entries(final.kvs));
    const keys = new Set([...state.keys(), ...expected.keys()]);
    for (const key of [...keys].sort()) {
      const got = state.get(key);
      const want = expected.get(key);
      if (got !== want) {
        problems.violation(
          `key ${JSON.stringify(key)}: the events give ${got === undefined ? 'absent' : JSON.stringify(got)} but the final read at ` +
            `${finalRevision} found ${want === undefined ? 'absent' : JSON.stringify(want)}`,
        );
      }
    }
    checkAcknowledged(history, start, finalRevision, byRevision, stateAt, reference.events, problems);
  }
  return problems.verdict('watch', head, `${reference?.events.length ?? 0} events agreed by every watcher, gapless`);
}

function checkAcknowledged(
  history: WatchHistory,
  start: bigint,
  finalRevision: bigint,
  byRevision: ReadonlyMap<bigint, readonly WatchEvent[]>,
  stateAt: ReadonlyMap<bigint, ReadonlyMap<string, string>>,
  events: readonly Parsed[],
  problems: Problems,
): void {
  for (const write of history.acknowledged) {
    const shown = `acknowledged ${write.type} ${JSON.stringify(write.key)}${write.type === 'put' ? `=${JSON.stringify(write.value ?? '')}` : ''} @${write.revision}`;
    const revision = parseDecimal(write.revision);
    if (revision === null) {
      problems.violation(`${shown}: revision is not a decimal`);
      continue;
    }
    // A delete that found nothing answers with the revision current then, possibly startRevision itself.
    const lowest = write.type === 'delete' ? start : start + 1n;
    if (revision < lowest || revision > finalRevision) {
      problems.violation(`${shown}: revision outside ${write.type === 'delete' ? '[' : '('}${start}, ${finalRevision}]`);
      continue;
    }
    const atRevision = byRevision.get(revision) ?? [];
    const found = atRevision.some((e) => e.key === write.key && e.type === write.type && (write.type === 'delete' || (e.value ?? '') === (write.value ?? '')));
    if (found) continue;
    if (write.type === 'delete') {
      // A delete that found nothing creates no event; its answer carries the revision current then.
      let state: ReadonlyMap<string, string> | undefined;
      for (const e of events) {
        if (e.revision > revision) break;
        state = stateAt.get(e.revision);
      }
      const present = state === undefined ? history.initial[write.key] !== undefined : state.has(write.key);
      if (!present) continue;
    }
    problems.violation(`${shown} is not among the events at revision ${revision}`);
  }
}
