/**
 * The report as pictures: bar charts drawn server-side as inline SVG (no script, no library). Colours
 * come from classes in console.css, so the Content Security Policy needs no inline styles. Every
 * chart also says its numbers as text (labels on the bars, an accessible title).
 */
import type { TaskView } from '../tasks/rules.ts';
import { html, type Html } from './html.ts';

export interface Row {
  readonly label: string;
  readonly values: readonly number[];
}

export interface Chart {
  readonly title: string;
  /** series names, one class each: series-0, series-1, … */
  readonly series: readonly string[];
  readonly rows: readonly Row[];
}

const WIDTH = 640;
const BAR = 14;
const GAP = 10;
const LABEL_W = 200;

const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function legend(series: readonly string[]): Html {
  return html`<p class="legend">${series.map((s, i) => html`<span class="key series-${i}">${s}</span> `)}</p>`;
}

function describe(c: Chart): string {
  return `${c.title}: ${c.rows.map((r) => `${r.label} ${r.values.map((v, i) => `${c.series[i]} ${v}`).join(', ')}`).join('; ') || 'no data'}`;
}

/** Horizontal bars, one group per row (categories: namespaces, owners). */
export function horizontalBars(c: Chart): Html {
  if (c.rows.length === 0) return html`<figure><figcaption>${c.title}</figcaption><p class="empty">Nothing to show.</p></figure>`;
  const max = Math.max(1, ...c.rows.flatMap((r) => r.values));
  const groupH = c.series.length * BAR + GAP;
  const height = c.rows.length * groupH + GAP;
  const scale = (WIDTH - LABEL_W - 50) / max;
  const groups = c.rows.map((r, i) => {
    const y0 = GAP + i * groupH;
    return html`<g><text class="label" x="${LABEL_W - 8}" y="${y0 + (c.series.length * BAR) / 2 + 4}" text-anchor="end">${clip(r.label, 28)}</text>${r.values.map(
      (v, s) =>
        html`<rect class="series-${s}" x="${LABEL_W}" y="${y0 + s * BAR}" width="${Math.max(v > 0 ? 2 : 0, Math.round(v * scale))}" height="${BAR - 2}"></rect><text class="value" x="${LABEL_W + Math.round(v * scale) + 4}" y="${y0 + s * BAR + BAR - 4}">${v}</text>`,
    )}</g>`;
  });
  return html`<figure><figcaption>${c.title}</figcaption>${legend(c.series)}<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${describe(c)}" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}"><title>${describe(c)}</title>${groups}</svg></figure>`;
}

/** Vertical columns, one per row (time: days, durations), one series. */
export function columns(c: Chart): Html {
  const max = Math.max(1, ...c.rows.flatMap((r) => r.values));
  const plotH = 160;
  const height = plotH + 50;
  const colW = Math.max(8, Math.floor((WIDTH - 40) / Math.max(1, c.rows.length)));
  const bars = c.rows.map((r, i) => {
    const v = r.values[0] ?? 0;
    const h = Math.round((v / max) * plotH);
    const x = 20 + i * colW;
    const labelEvery = Math.ceil(c.rows.length / 10);
    return html`<g><rect class="series-0" x="${x + 2}" y="${20 + plotH - h}" width="${colW - 4}" height="${h}"></rect>${v > 0 ? html`<text class="value" x="${x + colW / 2}" y="${16 + plotH - h}" text-anchor="middle">${v}</text>` : ''}${i % labelEvery === 0 ? html`<text class="label" x="${x + colW / 2}" y="${plotH + 38}" text-anchor="middle">${r.label}</text>` : ''}</g>`;
  });
  return html`<figure><figcaption>${c.title}</figcaption><svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${describe(c)}" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}"><title>${describe(c)}</title><line class="axis" x1="20" y1="${20 + plotH}" x2="${WIDTH - 20}" y2="${20 + plotH}"></line>${bars}</svg></figure>`;
}

// ---- the numbers behind the pictures (pure) ----

const DAY = 86_400_000;

/** Open (pending) and overdue tasks grouped by a key, largest first, at most `limit` rows. */
export function openAndOverdue(tasks: readonly TaskView[], key: (t: TaskView) => string, limit = 12): Row[] {
  const counts = new Map<string, [number, number]>();
  for (const t of tasks) {
    if (t.state !== 'pending') continue;
    const c = counts.get(key(t)) ?? [0, 0];
    c[0] += 1;
    if (t.overdue) c[1] += 1;
    counts.set(key(t), c);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1][0] - a[1][0] || a[0].localeCompare(b[0]))
    .slice(0, limit)
    .map(([label, values]) => ({ label, values }));
}

/** Bypasses recorded per UTC day over the last `days` days (today last). */
export function bypassesPerDay(tasks: readonly TaskView[], now: Date, days: number): Row[] {
  const today = Math.floor(now.getTime() / DAY);
  const counts = new Array<number>(days).fill(0);
  for (const t of tasks) {
    const i = days - 1 - (today - Math.floor(Date.parse(t.recordedAt) / DAY));
    if (i >= 0 && i < days) counts[i]! += 1;
  }
  return counts.map((v, i) => ({ label: new Date((today - (days - 1 - i)) * DAY).toISOString().slice(5, 10), values: [v] }));
}

export const RESOLUTION_BUCKETS: readonly [string, number][] = [
  ['< 1h', 3_600_000],
  ['1–24h', DAY],
  ['1–3d', 3 * DAY],
  ['3–7d', 7 * DAY],
  ['> 7d', Infinity],
];

/** How long resolved tasks took from bypass to resolution, for tasks resolved since `since`. */
export function timeToResolution(tasks: readonly TaskView[], since: Date): Row[] {
  const counts = RESOLUTION_BUCKETS.map(() => 0);
  for (const t of tasks) {
    if (!t.resolution || Date.parse(t.resolution.at) < since.getTime()) continue;
    const took = Date.parse(t.resolution.at) - Date.parse(t.recordedAt);
    counts[RESOLUTION_BUCKETS.findIndex(([, limit]) => took < limit)]! += 1;
  }
  return RESOLUTION_BUCKETS.map(([label], i) => ({ label, values: [counts[i]!] }));
}
