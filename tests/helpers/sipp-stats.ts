// Reading what SIPp leaves behind, for every runner (tests/helpers/sipp.ts, sipp-load.ts,
// bench/sip-register): its statistics CSV (-trace_stat) and its error log (-trace_err).
import { readFileSync } from 'node:fs';

/** The last row of SIPp's statistics CSV by column name; empty when SIPp wrote none. */
export function lastStatRow(file: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return new Map();
  }
  const rows = text.trim().split('\n');
  const header = rows[0]!.split(';');
  const last = rows.at(-1)!.split(';');
  return new Map(header.map((name, i) => [name, last[i] ?? '']));
}

/** Cumulative successful and failed calls. */
export function callCounts(row: Map<string, string>): { successful: number; failed: number } {
  return {
    successful: Number(row.get('SuccessfulCall(C)') ?? 0),
    failed: Number(row.get('FailedCall(C)') ?? 0),
  };
}

/** The error log's text, or '' when SIPp logged nothing. */
export function errorLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
