/** Go-style durations as used in Kubernetes and in the policy file: "90s", "30m", "1h30m", "72h". */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

export function parseDuration(text: string): number {
  const src = text.trim();
  if (src === '') throw new Error('empty duration');
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let m = PART.exec(src); m; m = PART.exec(src)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    consumed = PART.lastIndex;
  }
  if (consumed !== src.length) {
    throw new Error(`"${text}" is not a duration (use e.g. 30m, 1h, 1h30m, 72h)`);
  }
  return Math.round(total);
}

export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  return [h ? `${h}h` : '', m ? `${m}m` : '', !h && s ? `${s}s` : ''].join('') || '0s';
}
