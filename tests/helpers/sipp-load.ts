// SIPp as a steady load of legitimate registrations from inside a network namespace, with
// each call's response time: what a customer's phone sees while something else is going on
// (a flood, a scan). tests/helpers/sipp.ts runs single scenarios on loopback inside an ava
// test; this one runs many calls from a namespace address and needs no ava context, so the
// benchmarks in bench/ use it too.
//
//   const r = await runSippLoad({ ns: link.a.ns, localIp: link.a.v4,
//     target: { ip: link.b.v4, port: 5060 }, account, calls: 600, rate: 50, dir });
//   r.successful / (r.successful + r.failed)     r.rttMs.p50, r.rttMs.p99
//
// The response time of a call (SIPp's response time duration, -trace_rtt) runs from the
// first REGISTER to the 200 OK: the 401 challenge round trip and any retransmission
// (RFC 3261 §17.1.2.1: timer E starts at T1 = 500 ms) are inside it, which is what makes it
// grow when requests are lost.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SCENARIOS, type SippUser } from './sipp.ts';
import {
  callCounts,
  errorLog,
  lastStatRow,
  PHONE_ARGS,
  type ResponseTimes,
  RTT_ARGS,
  readRtts,
  summarize,
  withRegistrationRtd,
} from './sipp-stats.ts';

const run = promisify(execFile);

export interface SippLoadOptions {
  /** Namespace to run SIPp in (undefined: this one). */
  ns?: string;
  /** Local address SIPp binds (the client's fixed source address). */
  localIp: string;
  target: { ip: string; port: number };
  account: SippUser;
  domain?: string;
  /** Total REGISTER transactions (calls) and how many are started per second. */
  calls: number;
  rate: number;
  /** Directory for the scenario, injection, statistics and trace files. */
  dir: string;
  /** Overall bound on the run. */
  timeoutSeconds?: number;
}

export interface SippLoadResult {
  exitCode: number;
  successful: number;
  failed: number;
  /** Response time of each successful call, first REGISTER to 200 OK, in milliseconds. */
  rttMs: ResponseTimes;
  output: string;
}

/** register.xml with response time measured from the first REGISTER to the final 200. */
export function registerWithRtd(): string {
  return withRegistrationRtd(readFileSync(join(SCENARIOS, 'register.xml'), 'utf8'));
}

export async function runSippLoad(o: SippLoadOptions): Promise<SippLoadResult> {
  const scenario = join(o.dir, 'register-rtd.xml');
  writeFileSync(scenario, registerWithRtd());
  const users = join(o.dir, 'users.csv');
  writeFileSync(users, `SEQUENTIAL\n${o.account.user};${o.domain ?? 'tollgate'};3600\n`);
  const stat = join(o.dir, 'stat.csv');
  const timeout = o.timeoutSeconds ?? Math.ceil(o.calls / o.rate) + 30;
  const sipp = [
    'sipp',
    `${o.target.ip}:${o.target.port}`,
    '-sf',
    scenario,
    '-inf',
    users,
    '-t',
    'u1',
    '-i',
    o.localIp,
    '-p',
    '0',
    '-au',
    o.account.user,
    '-ap',
    o.account.password,
    '-m',
    String(o.calls),
    '-r',
    String(o.rate),
    '-timeout',
    `${timeout}s`,
    '-timeout_error',
    '-nostdin',
    '-trace_stat',
    '-stf',
    stat,
    '-fd',
    '1',
    ...RTT_ARGS,
    ...PHONE_ARGS,
    '-trace_err',
    '-error_file',
    join(o.dir, 'errors.log'),
  ];
  const argv = o.ns ? ['/usr/sbin/ip', 'netns', 'exec', o.ns, ...sipp] : sipp;
  let exitCode = 0;
  let output = '';
  try {
    const r = await run(argv[0]!, argv.slice(1), {
      cwd: o.dir,
      timeout: (timeout + 15) * 1000,
      maxBuffer: 16 * 1024 * 1024,
    });
    output = r.stdout + r.stderr;
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    exitCode = typeof e.code === 'number' ? e.code : -1;
    output = (e.stdout ?? '') + (e.stderr ?? '');
  }
  const errors = errorLog(join(o.dir, 'errors.log'));
  return {
    exitCode,
    ...callCounts(lastStatRow(stat)),
    rttMs: summarize(readRtts(o.dir)),
    output: `${output}\n${errors}`.slice(-4000),
  };
}
