/**
 * renderTimelineHtml draws the counterexample of an 'illegal' CheckResult as one self-contained
 * HTML page (inline CSS and SVG, no scripts or outside resources): the offending key's
 * operations as bars on a time axis, one lane per client, with the longest linearizable prefix
 * numbered in order and the operations that could not be linearized after it marked.
 */
import type { CheckResult, Counterexample, TimelineOperation } from './check.js';

/** TimelineHtmlOptions tune what is drawn. */
export interface TimelineHtmlOptions {
  /** title heads the page; default names the model and key. */
  readonly title?: string;
  /** prefixContext is how many of the last linearized operations to draw besides the pending ones; default 12. */
  readonly prefixContext?: number;
  /** widthPx is the width of the drawing area; default 1100. */
  readonly widthPx?: number;
}

const LANE_HEIGHT_PX = 30;
const BAR_HEIGHT_PX = 22;
const LABEL_WIDTH_PX = 80;
const AXIS_HEIGHT_PX = 24;

/** renderTimelineHtml returns the page for `result`; without a counterexample it states the verdict only. */
export function renderTimelineHtml(result: CheckResult, options: TimelineHtmlOptions = {}): string {
  const cx = result.counterexample;
  const title = options.title ?? (cx === undefined ? `${result.model}: ${result.verdict}` : `${cx.model}: not linearizable on key ${JSON.stringify(cx.key)}`);
  const summary = `<p>Verdict <b>${escapeHtml(result.verdict)}</b>${result.unknownReason === undefined ? '' : ` (${escapeHtml(result.unknownReason)})`}, ` +
    `${result.partitions.length} partition(s) checked, ${result.steps} search steps` +
    `${result.elapsedMs === undefined ? '' : `, ${result.elapsedMs.toFixed(1)} ms`}.</p>`;
  const body = cx === undefined ? '' : renderCounterexample(cx, options);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body { font: 13px/1.4 system-ui, sans-serif; margin: 20px; color: #222; }
h1 { font-size: 18px; }
table { border-collapse: collapse; margin: 8px 0 16px; }
td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: left; font-family: ui-monospace, monospace; font-size: 12px; }
.legend span { display: inline-block; padding: 1px 8px; margin-right: 8px; border: 1px solid #888; }
.linearized { background: #cfe8cf; } .pending { background: #ffe3a6; } .blocking { background: #f4a3a3; } .other { background: #e4e4e4; }
svg text { font-family: ui-monospace, monospace; font-size: 11px; }
</style></head><body>
<h1>${escapeHtml(title)}</h1>
${summary}
${body}
</body></html>
`;
}

function renderCounterexample(cx: Counterexample, options: TimelineHtmlOptions): string {
  const shown = selectOperations(cx, options.prefixContext ?? 12);
  const widthPx = options.widthPx ?? 1100;
  const byIndex = new Map(cx.operations.map((op) => [op.historyIndex, op]));
  const describe = (i: number): string => {
    const op = byIndex.get(i)!;
    return `#${i} client ${op.clientId} [${op.callTime}, ${op.returnTime ?? '∞'}] ${op.description}`;
  };
  const prefixTail = cx.linearizedPrefix.slice(-(options.prefixContext ?? 12));
  const omitted = cx.linearizedPrefix.length - prefixTail.length;
  const prefixRows = prefixTail
    .map((i) => `<tr><td>${byIndex.get(i)!.linearizationIndex! + 1}</td><td>${escapeHtml(describe(i))}</td><td>${escapeHtml(byIndex.get(i)!.stateAfter ?? '')}</td></tr>`)
    .join('\n');
  const pendingRows = cx.pending
    .map((i) => `<tr class="${i === cx.blocking ? 'blocking' : 'pending'}"><td>${escapeHtml(describe(i))}</td><td>${i === cx.blocking ? 'returned: must be linearized by now' : 'pending'}</td></tr>`)
    .join('\n');
  return `<p>Partition <b>${escapeHtml(JSON.stringify(cx.key))}</b> of model <b>${escapeHtml(cx.model)}</b>: ` +
    `the longest linearizable prefix has ${cx.linearizedPrefix.length} operation(s); after it, none of the ${cx.pending.length} pending operation(s) can be linearized next. ` +
    `Drawn: ${shown.length} of the key's ${cx.operations.length} operations.</p>
<p class="legend"><span class="linearized">linearized (order)</span><span class="pending">pending, cannot go next</span><span class="blocking">returned, cannot be linearized</span><span class="other">other</span> dashed: unknown outcome (may take effect any time after its call, or never)</p>
${renderSvg(shown, widthPx)}
<h2>Linearizable prefix${omitted > 0 ? ` (last ${prefixTail.length}; ${omitted} earlier omitted)` : ''}</h2>
<table><tr><th>#</th><th>operation</th><th>state after</th></tr>
<tr><td>0</td><td>(initial)</td><td>${escapeHtml(cx.initialState)}</td></tr>
${prefixRows}
</table>
<h2>Could not be linearized next</h2>
<table><tr><th>operation</th><th></th></tr>
${pendingRows}
</table>`;
}

/** selectOperations keeps the pending ones, the last `context` of the prefix, and whatever overlaps them in time. */
function selectOperations(cx: Counterexample, context: number): TimelineOperation[] {
  const keep = new Set<number>([...cx.pending, ...cx.linearizedPrefix.slice(-context)]);
  const kept = cx.operations.filter((op) => keep.has(op.historyIndex));
  if (kept.length === 0) return [];
  const from = Math.min(...kept.map((op) => op.callTime));
  const to = Math.max(...kept.map((op) => op.returnTime ?? op.callTime));
  return cx.operations.filter((op) => keep.has(op.historyIndex) || (op.callTime <= to && (op.returnTime ?? Infinity) >= from));
}

function renderSvg(ops: readonly TimelineOperation[], widthPx: number): string {
  if (ops.length === 0) return '';
  const finiteTimes = ops.flatMap((op) => (op.returnTime === null ? [op.callTime] : [op.callTime, op.returnTime]));
  const t0 = Math.min(...finiteTimes);
  const t1 = Math.max(...finiteTimes);
  const plotPx = widthPx - LABEL_WIDTH_PX - 40; // room on the right for unknown-outcome arrows
  const x = (t: number): number => LABEL_WIDTH_PX + (t1 === t0 ? plotPx / 2 : ((t - t0) / (t1 - t0)) * plotPx);
  const rightEdge = LABEL_WIDTH_PX + plotPx + 30;

  // Lanes: per client, greedy rows so overlapping operations of one client (an abandoned
  // unknown-outcome call and the calls after it) do not hide each other.
  const clients = [...new Set(ops.map((op) => op.clientId))].sort((a, b) => a - b);
  const rows: Array<{ clientId: number }> = [];
  const placed: Array<{ op: TimelineOperation; row: number }> = [];
  for (const clientId of clients) {
    const mine = ops.filter((op) => op.clientId === clientId).sort((a, b) => a.callTime - b.callTime);
    const firstRow = rows.length;
    const ends: number[] = [];
    for (const op of mine) {
      let lane = ends.findIndex((end) => end < op.callTime);
      if (lane < 0) {
        lane = ends.length;
        ends.push(0);
      }
      ends[lane] = op.returnTime ?? Infinity;
      placed.push({ op, row: firstRow + lane });
    }
    for (let i = 0; i < ends.length; i++) rows.push({ clientId });
  }
  const heightPx = AXIS_HEIGHT_PX + rows.length * LANE_HEIGHT_PX + 10;
  const parts: string[] = [];
  rows.forEach((row, i) => {
    const y = AXIS_HEIGHT_PX + i * LANE_HEIGHT_PX;
    if (i % 2 === 0) parts.push(`<rect x="0" y="${y}" width="${widthPx}" height="${LANE_HEIGHT_PX}" fill="#f7f7f7"/>`);
    if (i === 0 || rows[i - 1]!.clientId !== row.clientId) {
      parts.push(`<text x="4" y="${y + 19}">client ${row.clientId}</text>`);
    }
  });
  parts.push(`<line x1="${LABEL_WIDTH_PX}" y1="${AXIS_HEIGHT_PX - 4}" x2="${LABEL_WIDTH_PX + plotPx}" y2="${AXIS_HEIGHT_PX - 4}" stroke="#888"/>`);
  for (let k = 0; k <= 4; k++) {
    const t = t0 + ((t1 - t0) * k) / 4;
    parts.push(`<text x="${x(t).toFixed(1)}" y="12" text-anchor="middle">${escapeHtml(formatTime(t))}</text>`);
  }
  const fill = { linearized: '#cfe8cf', pending: '#ffe3a6', blocking: '#f4a3a3', other: '#e4e4e4' } as const;
  for (const { op, row } of placed) {
    const y = AXIS_HEIGHT_PX + row * LANE_HEIGHT_PX + (LANE_HEIGHT_PX - BAR_HEIGHT_PX) / 2;
    const left = x(op.callTime);
    const right = op.returnTime === null ? rightEdge : Math.max(x(op.returnTime), left + 3);
    const label = (op.linearizationIndex === null ? '' : `${op.linearizationIndex + 1}. `) + op.description;
    const tip = `#${op.historyIndex} client ${op.clientId} [${op.callTime}, ${op.returnTime ?? '∞ (unknown outcome)'}] ${op.description}` +
      (op.stateAfter === null ? '' : ` ⇒ ${op.stateAfter}`) + ` (${op.role})`;
    const stroke = op.role === 'blocking' ? ' stroke="#c00" stroke-width="2"' : ' stroke="#777"';
    const dash = op.returnTime === null ? ' stroke-dasharray="4 3"' : '';
    parts.push(
      `<g><title>${escapeHtml(tip)}</title>` +
        `<rect x="${left.toFixed(1)}" y="${y.toFixed(1)}" width="${(right - left).toFixed(1)}" height="${BAR_HEIGHT_PX}" rx="3" fill="${fill[op.role]}"${stroke}${dash}/>` +
        `<text x="${(left + 3).toFixed(1)}" y="${(y + 15).toFixed(1)}">${escapeHtml(label)}</text></g>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${widthPx}" height="${heightPx}" viewBox="0 0 ${widthPx} ${heightPx}">\n${parts.join('\n')}\n</svg>`;
}

function formatTime(t: number): string {
  return Number.isInteger(t) ? String(t) : t.toFixed(2);
}

/** escapeHtml escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
