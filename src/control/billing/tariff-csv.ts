// Tariff files: CSV with a header line, one rate per line (RFC 4180 quoting, comma separated).
//
//   tariff,prefix,price,connect_fee,increments,parent,description
//   retail,49,0.020,0,60/60,,Germany
//   retail,4915,0.090,0.01,30/6,,Germany mobile
//   gold,49,0.015,0,1/1,retail,Germany (gold)
//
// Required columns: tariff, prefix, price (per minute). Optional: connect_fee (default 0),
// increments (default 60/60), parent (the tariff looked in when this one has no rate for a
// number; the same on every line of a tariff), description. Amounts are decimal text with at
// most 6 decimals, read exactly (money.ts). Every line is checked before anything is
// stored; a bad file is refused whole with one message per bad line ("line 7: price ...").
import { BillingErrors } from './errors.ts';
import { formatMoney, type Micros, parseMoney } from './money.ts';
import { parseIncrements, type Rate } from './rating.ts';

export const MAX_TARIFF_FILE_BYTES = 32 * 1024 * 1024;
export const MAX_TARIFF_ROWS = 1_000_000;
const MAX_LINE = 2048;
/** Errors listed in one refusal; the rest are counted. */
const MAX_LISTED_ERRORS = 20;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Dialled-number prefixes: digits, or a local name's characters; '' = every number. */
const PREFIX = /^[A-Za-z0-9*#+._-]{0,32}$/;
const COLUMNS = ['tariff', 'prefix', 'price', 'connect_fee', 'increments', 'parent', 'description'];

export interface TariffData {
  name: string;
  parent: string | undefined;
  rates: Rate[];
}

/** Splits one CSV line (RFC 4180 quotes, "" inside quotes); undefined on an unclosed quote. */
export function splitCsvLine(line: string): string[] | undefined {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  if (quoted) return undefined;
  out.push(field);
  return out.map((f) => f.trim());
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Parses a whole tariff file; throws TG_BILLING_TARIFF_CSV naming every bad line. */
export function parseTariffCsv(text: string): TariffData[] {
  if (Buffer.byteLength(text) > MAX_TARIFF_FILE_BYTES)
    throw new BillingErrors.TG_BILLING_TARIFF_TOO_BIG(
      Buffer.byteLength(text),
      MAX_TARIFF_FILE_BYTES,
    );
  const lines = text.split(/\r?\n/);
  const errors: string[] = [];
  const fail = (line: number, message: string) => {
    errors.push(`line ${line}: ${message}`);
  };
  const headerAt = lines.findIndex((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  if (headerAt < 0) throw new BillingErrors.TG_BILLING_TARIFF_CSV('the file has no header line');
  const header = splitCsvLine(lines[headerAt]!.toLowerCase()) ?? [];
  const column = new Map<string, number>();
  header.forEach((h, i) => {
    column.set(h.replace(/[\s-]+/g, '_'), i);
  });
  const unknown = header.filter((h) => !COLUMNS.includes(h.replace(/[\s-]+/g, '_')));
  const missing = ['tariff', 'prefix', 'price'].filter((c) => !column.has(c));
  if (missing.length > 0 || unknown.length > 0)
    throw new BillingErrors.TG_BILLING_TARIFF_CSV(
      `line ${headerAt + 1}: header ${missing.length ? `lacks ${missing.join(', ')}` : ''}${missing.length && unknown.length ? '; ' : ''}${unknown.length ? `has unknown column(s) ${unknown.map((u) => `"${u.slice(0, 20)}"`).join(', ')}` : ''} (columns: ${COLUMNS.join(',')})`,
    );
  const tariffs = new Map<string, TariffData & { parentLine: number; prefixes: Set<string> }>();
  let rows = 0;
  for (let i = headerAt + 1; i < lines.length; i++) {
    const raw = lines[i]!;
    const n = i + 1;
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
    if (errors.length > MAX_LISTED_ERRORS * 50) break;
    if (++rows > MAX_TARIFF_ROWS) {
      fail(n, `more than ${MAX_TARIFF_ROWS} rates`);
      break;
    }
    if (raw.length > MAX_LINE) {
      fail(n, `longer than ${MAX_LINE} characters`);
      continue;
    }
    const cells = splitCsvLine(raw);
    if (!cells) {
      fail(n, 'unclosed quote');
      continue;
    }
    if (cells.length > header.length) {
      fail(n, `${cells.length} fields, the header has ${header.length}`);
      continue;
    }
    const get = (name: string) => {
      const at = column.get(name);
      return at === undefined ? '' : (cells[at] ?? '');
    };
    const name = get('tariff');
    const prefix = get('prefix');
    const parent = get('parent') || undefined;
    const before = errors.length;
    if (!NAME.test(name))
      fail(n, `tariff "${name.slice(0, 40)}": letters, digits, . _ - (up to 64)`);
    if (!PREFIX.test(prefix))
      fail(n, `prefix "${prefix.slice(0, 40)}": digits (or a local name), up to 32`);
    if (parent !== undefined && !NAME.test(parent))
      fail(n, `parent "${parent.slice(0, 40)}": not a tariff name`);
    if (parent !== undefined && parent === name) fail(n, `tariff ${name} cannot be its own parent`);
    let price: Micros | undefined;
    let fee: Micros | undefined;
    try {
      price = parseMoney(get('price'), 'price');
    } catch (err) {
      fail(n, (err as Error).message);
    }
    try {
      fee =
        get('connect_fee') === '' ? (0 as Micros) : parseMoney(get('connect_fee'), 'connect_fee');
    } catch (err) {
      fail(n, (err as Error).message);
    }
    const incText = get('increments') || '60/60';
    const increments = parseIncrements(incText);
    if (!increments)
      fail(n, `increments "${incText.slice(0, 20)}": first/next seconds, e.g. 60/60, 30/6, 1/1`);
    const description = get('description').slice(0, 200);
    if (errors.length > before) continue;
    let tariff = tariffs.get(name);
    if (!tariff) {
      tariff = { name, parent, rates: [], parentLine: n, prefixes: new Set() };
      tariffs.set(name, tariff);
    } else if (tariff.parent !== parent) {
      fail(
        n,
        `tariff ${name} has parent ${tariff.parent ?? '(none)'} on line ${tariff.parentLine}, ${parent ?? '(none)'} here`,
      );
      continue;
    }
    if (tariff.prefixes.has(prefix)) {
      fail(n, `tariff ${name} already has prefix "${prefix}"`);
      continue;
    }
    tariff.prefixes.add(prefix);
    tariff.rates.push({
      prefix,
      pricePerMinute: price!,
      connectFee: fee!,
      first: increments![0],
      next: increments![1],
      ...(description ? { description } : {}),
    });
  }
  if (errors.length > 0) {
    const listed = errors.slice(0, MAX_LISTED_ERRORS);
    if (errors.length > listed.length)
      listed.push(`… and ${errors.length - listed.length} more bad line(s)`);
    throw new BillingErrors.TG_BILLING_TARIFF_CSV(listed.join('\n'));
  }
  if (tariffs.size === 0) throw new BillingErrors.TG_BILLING_TARIFF_CSV('the file has no rates');
  return [...tariffs.values()].map(({ name, parent, rates }) => ({ name, parent, rates }));
}

/** Tariffs as a file parseTariffCsv reads back to the same rates. */
export function tariffCsv(tariffs: readonly TariffData[]): string {
  const out = [COLUMNS.join(',')];
  for (const t of tariffs)
    for (const r of t.rates)
      out.push(
        [
          t.name,
          r.prefix,
          formatMoney(r.pricePerMinute),
          formatMoney(r.connectFee),
          `${r.first}/${r.next}`,
          t.parent ?? '',
          r.description ?? '',
        ]
          .map(csvField)
          .join(','),
      );
  return `${out.join('\n')}\n`;
}
