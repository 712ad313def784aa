// Reading what SIPp leaves behind, for every runner (tests/helpers/sipp.ts, sipp-load.ts,
// bench/sip-register): its statistics CSV (-trace_stat), its error log (-trace_err) and its
// response times (-trace_rtt).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

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

/**
 * register.xml (or a scenario built like it) with SIPp's response time measured from the
 * first REGISTER to the final 200: the 401 challenge round trip and any retransmission
 * (RFC 3261 §17.1.2.1: timer E starts at T1 = 500 ms) are inside it, which is what makes it
 * grow when requests are lost. Needs -trace_rtt (RTT_ARGS).
 */
export function withRegistrationRtd(xml: string): string {
  return xml
    .replace('<send retrans="500">', '<send retrans="500" start_rtd="1">')
    .replace('<recv response="200"/>', '<recv response="200" rtd="1"/>');
}

/** SIPp options that write every call's response time to <scenario>_<pid>_rtt.csv. */
export const RTT_ARGS: readonly string[] = ['-trace_rtt', '-rtt_freq', '1'];

/**
 * -trace_rtt writes <scenario>_<pid>_rtt.csv: "Date_ms;response_time_ms;rtd_no", then one row
 * per measured call, e.g. "60.001;8;1" (SIPp 3.6 measures in whole ms of its clock tick).
 */
export function readRtts(dir: string): number[] {
  let file: string | undefined;
  try {
    file = readdirSync(dir).find((f) => f.endsWith('_rtt.csv'));
  } catch {
    return [];
  }
  if (file === undefined) return [];
  const out: number[] = [];
  for (const line of readFileSync(join(dir, file), 'utf8').split('\n').slice(1)) {
    const fields = line.split(';');
    const ms = Number(fields[1]);
    if (fields.length >= 3 && Number.isFinite(ms)) out.push(ms);
  }
  return out;
}

export interface ResponseTimes {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarize(values: number[]): ResponseTimes {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    mean: sorted.length === 0 ? 0 : sum / sorted.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted.at(-1) ?? 0,
  };
}

/**
 * How a phone's transaction layer treats a stray response: absorbs it. tollgate's 401 is
 * stateless (RFC 3261 §8.2.7), so when the first REGISTER was retransmitted (no answer
 * within T1 = 500 ms on a busy machine) the second 401, with a new nonce and To-tag, arrives
 * after SIPp has already sent the authenticated REGISTER. A phone's client transaction for
 * CSeq 1 is Completed and absorbs it (§17.1.2.2); SIPp by default aborts the call on it and
 * sends a BYE. Without abortunexp and bye, SIPp ignores it and keeps waiting for the 200,
 * bounded by -recv_timeout, so only a registration that really fails counts as failed.
 */
export const PHONE_ARGS: readonly string[] = [
  '-default_behaviors',
  'all,-abortunexp,-bye',
  '-recv_timeout',
  '10000',
];
