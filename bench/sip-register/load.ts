// One SIPp run of tests/sipp/register.xml (REGISTER, 401 challenge, REGISTER with digest
// credentials, 200) against a UDP target: a fixed number of registrations started as fast as
// `rate` allows with at most `limit` outstanding at once, so the server's speed sets the
// pace. The result comes from SIPp's own statistics file (-trace_stat): the last row holds the
// cumulative counts and the start and current times to the microsecond (the elapsed-time
// columns are rounded to the second, too coarse for runs of a few seconds).
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SCENARIOS } from '../../tests/helpers/sipp.ts';
import { callCounts, errorLog, lastStatRow } from '../../tests/helpers/sipp-stats.ts';

const run = promisify(execFile);

export interface LoadOptions {
  port: number;
  user: string;
  password: string;
  domain: string;
  calls: number;
  rate: number;
  limit: number;
  /** Directory for the injection, statistics and error files (overwritten per run). */
  dir: string;
  /** Kills SIPp (the benchmark is being torn down). */
  signal?: AbortSignal;
  /** Another scenario with the same injection fields (bench/calls: uac.xml). */
  scenario?: string;
}

export interface LoadResult {
  successful: number;
  failed: number;
  /** SIPp's retransmissions (a request or response lost or answered after T1 = 500 ms). */
  retransmissions: number;
  /** Calls aborted by a 503 (tollgate's transaction table full, RFC 3261 §21.5.4). */
  refused503: number;
  /** SIPp's first error line, when a call failed (what went wrong, for the reader). */
  firstError: string | undefined;
  seconds: number;
  /** Successful registrations per second of the run. */
  perSecond: number;
  exitCode: number;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const users = join(o.dir, 'users.csv');
  const stat = join(o.dir, 'stat.csv');
  const errors = join(o.dir, 'errors.log');
  rmSync(stat, { force: true });
  rmSync(errors, { force: true });
  writeFileSync(users, `SEQUENTIAL\n${o.user};${o.domain};3600\n`);
  const args = [
    `127.0.0.1:${o.port}`,
    '-sf',
    o.scenario ?? join(SCENARIOS, 'register.xml'),
    '-inf',
    users,
    '-t',
    'u1',
    '-i',
    '127.0.0.1',
    '-p',
    '0',
    '-au',
    o.user,
    '-ap',
    o.password,
    '-m',
    String(o.calls),
    '-r',
    String(o.rate),
    '-l',
    String(o.limit),
    // SIPp's socket buffers default to 64 KiB: at tens of thousands of responses a second
    // its own socket overflows and it retransmits after 500 ms, which would be charged to
    // the server. 4 MiB, as tollgate's socket (kamailio.cfg sets the same).
    '-buff_size',
    String(4 * 1024 * 1024),
    // A call still unanswered after this long fails, and the whole run is bounded.
    '-recv_timeout',
    '5000',
    '-timeout',
    '90s',
    '-timeout_error',
    '-nostdin',
    // A call that gets an unexpected response (a 503) is aborted, without the BYE SIPp
    // would send by default: requests outside the scenario would load the server.
    '-default_behaviors',
    'all,-bye',
    '-trace_stat',
    '-stf',
    stat,
    '-fd',
    '1',
    '-trace_err',
    '-error_file',
    errors,
  ];
  let exitCode = 0;
  try {
    await run('sipp', args, {
      cwd: o.dir,
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } catch (err) {
    if (o.signal?.aborted) throw err;
    const e = err as { code?: number };
    exitCode = typeof e.code === 'number' ? e.code : -1;
  }
  const row = lastStatRow(stat);
  if (row.size === 0) throw new Error(`SIPp wrote no statistics (${stat}): did it start?`);
  const start = epochOf(row.get('StartTime'));
  const end = epochOf(row.get('CurrentTime'));
  const { successful, failed } = callCounts(row);
  const seconds = end - start;
  const errorText = errorLog(errors);
  return {
    successful,
    failed,
    retransmissions: Number(row.get('Retransmissions(C)') ?? 0),
    // One line per aborted call: "Aborting call on unexpected message … received 'SIP/2.0 503".
    refused503: errorText.match(/Aborting call[^\n]*received 'SIP\/2\.0 503/g)?.length ?? 0,
    firstError: errorText
      .split('\n')
      .find((l) => l.trim() !== '' && !l.startsWith('The following events occurred'))
      ?.slice(0, 300),
    seconds,
    perSecond: seconds > 0 ? successful / seconds : 0,
    exitCode,
  };
}

/** "2026-11-24\t10:46:23.850143\t1795517183.850143" → 1795517183.850143 (seconds). */
function epochOf(cell: string | undefined): number {
  const epoch = Number(cell?.split('\t').at(-1));
  if (!Number.isFinite(epoch)) throw new Error(`SIPp statistics: bad time ${cell}`);
  return epoch;
}
