// Call records as CSV, for the console (`cdrs --csv`) and the web API (`/api/v1/cdrs.csv`):
// one set of columns, times in ISO 8601 UTC, amounts as exact decimal text.
import type { CdrRecord } from '../../store/records.ts';
import { formatMoney } from './money.ts';

export const CDR_CSV_COLUMNS = [
  'callId',
  'account',
  'callerId',
  'dialled',
  'destination',
  'route',
  'trunk',
  'sourceIp',
  'startedAt',
  'answeredAt',
  'endedAt',
  'durationSeconds',
  'billedSeconds',
  'status',
  'disconnectSide',
  'reason',
  'refused',
  'cost',
  'carrierCost',
  'tariff',
  'prefix',
] as const;

/**
 * One CSV cell (RFC 4180 quoting). A text that a spreadsheet would read as a formula (=, +,
 * -, @, tab, CR) gets a leading apostrophe: a caller ID is attacker-chosen (OWASP "CSV
 * injection"). Times are ISO 8601 UTC.
 */
export function csvCell(column: string, value: unknown): string {
  if (value === undefined || value === null) return '';
  let text =
    typeof value === 'number' && /At$/.test(column) ? new Date(value).toISOString() : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The header and one line per record; the caller joins them (CRLF for files, LF on a terminal). */
export function cdrCsvLines(cdrs: readonly CdrRecord[]): string[] {
  const lines = [CDR_CSV_COLUMNS.join(',')];
  for (const c of cdrs) {
    const cells = CDR_CSV_COLUMNS.map((column) => {
      // Amounts are decimal text made here, never attacker-written: no formula guard needed.
      if (column === 'cost') return formatMoney(c.costMicros);
      if (column === 'carrierCost')
        return c.carrierCostMicros === undefined ? '' : formatMoney(c.carrierCostMicros);
      return csvCell(column, c[column]);
    });
    lines.push(cells.join(','));
  }
  return lines;
}
