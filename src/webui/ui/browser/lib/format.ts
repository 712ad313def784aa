// Figures as an operator reads them. Money arrives as integer micro-units (the store's unit:
// 1 currency unit = 1,000,000) and is shown with 2 to 6 decimals, never through a float sum.

export function money(micros: number | undefined | null): string {
  if (micros === undefined || micros === null || !Number.isFinite(micros)) return '—';
  const negative = micros < 0;
  const abs = Math.abs(Math.trunc(micros));
  const units = Math.trunc(abs / 1_000_000);
  let frac = String(abs % 1_000_000).padStart(6, '0');
  while (frac.length > 2 && frac.endsWith('0')) frac = frac.slice(0, -1);
  return `${negative ? '-' : ''}${units.toLocaleString('en')}.${frac}`;
}

/** "12.5" or "12" (currency units typed by the operator) → micro-units, or null if invalid. */
export function parseMoney(text: string): number | null {
  const m = /^\s*(\d{1,9})(?:\.(\d{1,6}))?\s*$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * 1_000_000 + Number((m[2] ?? '').padEnd(6, '0'));
}

export function count(n: number | undefined | null): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return '—';
  return Math.round(n).toLocaleString('en');
}

export function rate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '—';
  if (perSecond >= 100) return Math.round(perSecond).toLocaleString('en');
  return perSecond.toFixed(perSecond >= 10 ? 1 : 2).replace(/\.?0+$/, '') || '0';
}

/** ISO-like local time without the T: "2026-12-06 07:58:03". */
export function time(ms: number | undefined | null): string {
  if (!ms) return '—';
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function duration(seconds: number | undefined | null): string {
  if (seconds === undefined || seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${r} s`;
  return `${r} s`;
}

/** When a ban ends: "never" (0), or the time with what is left. */
export function expiry(expiresAt: number, now = Date.now()): string {
  if (expiresAt === 0) return 'never (until lifted)';
  return `${time(expiresAt)} (in ${duration((expiresAt - now) / 1000)})`;
}

/** A config value as one line of text. */
export function value(v: unknown): string {
  if (Array.isArray(v)) return v.length === 0 ? '(none)' : v.map(String).join(', ');
  if (v === '' || v === null || v === undefined) return '(empty)';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
