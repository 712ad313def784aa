// Runs the real SIPp (Debian package sip-tester) against a target and reads its statistics.
// Scenarios live in tests/sipp/; users come from an injection file written per run.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ExecutionContext } from 'ava';
import {
  callCounts,
  errorLog,
  lastStatRow,
  RTT_ARGS,
  readRtts,
  withRegistrationRtd,
} from './sipp-stats.ts';
import { tempDir } from './tmp.ts';

const run = promisify(execFile);
export const SCENARIOS = join(import.meta.dirname, '..', 'sipp');

/** One account per SIPp run: SIPp 3.6 takes digest credentials only from -au/-ap. */
export interface SippUser {
  user: string;
  password: string;
}

export interface SippOptions {
  scenario: string;
  target: { ip: string; port: number };
  /** SIPp here is built without TLS: reach a TLS port through tests/helpers/tls-relay.ts. */
  transport: 'udp' | 'tcp';
  account: SippUser;
  domain?: string;
  expires?: number;
  calls?: number;
  rate?: number;
  /** Replace text in the scenario before running (variants such as "expect 403"). */
  rewrite?: (xml: string) => string;
  timeoutSeconds?: number;
  /** Run SIPp inside this network namespace (tests/helpers/netns.ts). */
  netns?: string;
  /** Local address and port SIPp binds (defaults: loopback, any port). */
  localIp?: string;
  localPort?: number;
  /** The injection line for scenarios other than register.xml (default: user;domain;expires). */
  fields?: string[];
  /** Further SIPp options, e.g. ['-cid_str', '...']. */
  extraArgs?: string[];
  /** Measure each registration, first REGISTER to 200 (register.xml-like scenarios). */
  measureRtt?: boolean;
  /** Stops SIPp (SIGTERM) when aborted; it is stopped at the test's end in any case. */
  signal?: AbortSignal;
}

export interface SippResult {
  exitCode: number;
  successful: number;
  failed: number;
  output: string;
  /** With measureRtt: each successful registration's time in ms. */
  rttMs: number[];
}

const TRANSPORT_FLAG = { udp: 'u1', tcp: 't1' } as const;

export async function runSipp(t: ExecutionContext, o: SippOptions): Promise<SippResult> {
  const dir = tempDir(t, 'tollgate-sipp-');
  // A failed test must not leave SIPp running until its own -timeout.
  const stop = new AbortController();
  t.teardown(() => stop.abort());
  const signal = o.signal ? AbortSignal.any([o.signal, stop.signal]) : stop.signal;
  let scenario = join(SCENARIOS, o.scenario);
  if (o.rewrite || o.measureRtt) {
    const rewritten = join(dir, o.scenario);
    let xml = readFileSync(scenario, 'utf8');
    if (o.rewrite) xml = o.rewrite(xml);
    if (o.measureRtt) xml = withRegistrationRtd(xml);
    writeFileSync(rewritten, xml);
    scenario = rewritten;
  }
  const users = join(dir, 'users.csv');
  writeFileSync(
    users,
    `SEQUENTIAL\n${(o.fields ?? [o.account.user, o.domain ?? 'tollgate', String(o.expires ?? 3600)]).join(';')}\n`,
  );
  const stat = join(dir, 'stat.csv');
  const args = [
    `${o.target.ip}:${o.target.port}`,
    '-sf',
    scenario,
    '-inf',
    users,
    '-t',
    TRANSPORT_FLAG[o.transport],
    '-i',
    o.localIp ?? (o.target.ip.includes(':') ? '::1' : '127.0.0.1'),
    '-p',
    String(o.localPort ?? 0),
    '-au',
    o.account.user,
    '-ap',
    o.account.password,
    '-m',
    String(o.calls ?? 1),
    '-r',
    String(o.rate ?? 10),
    '-timeout',
    `${o.timeoutSeconds ?? 30}s`,
    '-timeout_error',
    '-nostdin',
    '-trace_stat',
    '-stf',
    stat,
    '-fd',
    '1',
    '-trace_err',
    '-error_file',
    join(dir, 'errors.log'),
    ...(o.measureRtt ? RTT_ARGS : []),
    ...(o.extraArgs ?? []),
  ];
  let exitCode = 0;
  let output = '';
  try {
    const [command, ...argv] = o.netns
      ? ['/usr/sbin/ip', 'netns', 'exec', o.netns, 'sipp', ...args]
      : ['sipp', ...args];
    const r = await run(command!, argv, {
      cwd: dir,
      timeout: ((o.timeoutSeconds ?? 30) + 30) * 1000,
      signal,
    });
    output = r.stdout + r.stderr;
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    exitCode = typeof e.code === 'number' ? e.code : -1;
    output = (e.stdout ?? '') + (e.stderr ?? '');
  }
  const errors = errorLog(join(dir, 'errors.log'));
  return {
    exitCode,
    ...callCounts(lastStatRow(stat)),
    output: `${output}\n${errors}`.slice(-4000),
    rttMs: o.measureRtt ? readRtts(dir) : [],
  };
}
