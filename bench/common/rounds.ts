// How a benchmark reports repeated rounds: the median, and how far the rounds spread around
// it, so a figure quoted from one run says how much a rerun may differ.
//
//   summarize([373, 350, 390]) → { median: 373, min: 350, max: 390, n: 3, spreadPct: 5.4 }
//   formatSpread(summarize([373, 350, 390]))   → '373 (350–390, ±5.4%, 3 rounds)'
//
// spreadPct is half the range over the median: ±5% means every round was within about 5%
// of the median. With one round there is no spread to show, and it says so.

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
  /** Half the range, in per cent of the median (0 for one round). */
  spreadPct: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n, spreadPct: 0 };
  const mid = n >> 1;
  const median = n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const min = sorted[0]!;
  const max = sorted[n - 1]!;
  const spreadPct = median === 0 ? 0 : (100 * (max - min)) / 2 / Math.abs(median);
  return { median, min, max, n, spreadPct };
}

/** "373 (350–390, ±5.4%, 3 rounds)"; `digits` for the values, `unit` after each. */
export function formatSpread(s: Summary, digits = 0, unit = ''): string {
  const f = (v: number) => `${v.toFixed(digits)}${unit}`;
  if (s.n <= 1) return `${f(s.median)} (1 round: no spread)`;
  return `${f(s.median)} (${f(s.min)}–${f(s.max)}, ±${s.spreadPct.toFixed(1)}%, ${s.n} rounds)`;
}

/** A ratio per round (a[i] / b[i], rounds paired), summarized. */
export function ratioSummary(a: readonly number[], b: readonly number[]): Summary {
  return summarize(a.map((x, i) => x / b[i]!));
}
