// What both modes of bench:calls share (index.ts: tollgate against kamailio; ab.ts: two
// tollgate builds against each other): the account, the SIPp scenarios, a tollgate daemon
// set up for the load, the SIPp callee registered to a proxy, and one measured round.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { startDaemon, testConfig } from '../../tests/helpers/daemon.ts';
import { authorization, challenges, register } from '../../tests/helpers/sip-client.ts';
import { cpuMs, cpuMsByThread } from '../common/proc.ts';
import type { teardownScope } from '../common/teardown.ts';
import { waitForOptions } from '../sip-register/kamailio.ts';
import { type LoadResult, runLoad } from '../sip-register/load.ts';

export const REALM = 'tollgate';
export const USER = 'bench';
// Letters and digits, long: passes tollgate's strong-password check.
export const PASSWORD = `Call${randomBytes(12).toString('hex')}7`;

/** The benchmark's clean-up list (bench/common/teardown.ts). */
export type Teardown = ReturnType<typeof teardownScope>;

export interface Scenarios {
  uac: string;
  uas: string;
}

/** The caller's and callee's scenarios; with `noSdp`, copies in `dir` without bodies. */
export function scenarios(noSdp: boolean, dir: string): Scenarios {
  const uac = join(import.meta.dirname, 'uac.xml');
  const uas = join(import.meta.dirname, 'uas.xml');
  return noSdp ? { uac: withoutSdp(uac, dir), uas: withoutSdp(uas, dir) } : { uac, uas };
}

function withoutSdp(file: string, dir: string): string {
  const xml = readFileSync(file, 'utf8').replace(
    /Content-Type: application\/sdp\n\s*Content-Length: \[len\]\n\n\s*v=0[\s\S]*?a=rtpmap:0 PCMU\/8000\n/g,
    'Content-Length: 0\n',
  );
  const out = join(dir, `nosdp-${basename(file)}`);
  writeFileSync(out, xml);
  return out;
}

export interface Target {
  name: string;
  port: number;
  pids: () => number[];
}

/**
 * The real daemon (`tollgate serve` of `root`, this checkout when undefined) in `dataDir`,
 * with the benchmark account, ready for `limit` calls in progress from one address.
 * `mediaPorts` gives its relay a range of its own (two daemons side by side).
 */
export async function startTollgate(
  t: Teardown,
  o: {
    name: string;
    dataDir: string;
    limit: number;
    root?: string;
    mediaPorts?: readonly [number, number];
  },
): Promise<Target> {
  mkdirSync(o.dataDir, { recursive: true });
  // Calls in setup per source are capped (blocktoomuchpendingsession, 100 by default): the
  // load generator is one source with up to `limit` calls in setup.
  const configFile = await testConfig(o.dataDir, {
    realm: REALM,
    maxpendingsessionsperip: Math.max(100, o.limit * 2),
    ...(o.mediaPorts ? { mediaportmin: o.mediaPorts[0], mediaportmax: o.mediaPorts[1] } : {}),
  });
  const daemon = await startDaemon(t.scope as unknown as ExecutionContext, {
    dataDir: o.dataDir,
    configFile,
    ...(o.root ? { root: o.root } : {}),
  });
  const pid = daemon.process.pid!;
  t.pidsToKill.add(pid);
  t.scope.teardown(async () => {
    await Promise.race([daemon.stop(), new Promise((r) => setTimeout(r, 5000))]);
    t.pidsToKill.delete(pid);
  });
  const added = await daemon.ctl('users', 'add', USER, '--password', PASSWORD);
  if (added.code !== 0) throw new Error(`tollgatectl users add: ${added.stderr}${added.stdout}`);
  // One account places every call: billing's simultaneous-call limit (5 by default) would
  // refuse most of the `limit` calls in progress with 486.
  for (const field of ['maxlines', 'maxlinesoffpeak']) {
    const set = await daemon.ctl('users', 'set', USER, field, String(Math.max(100, o.limit * 2)));
    if (set.code !== 0) throw new Error(`tollgatectl users set ${field}: ${set.stderr}`);
  }
  const port = Number(/^sipport = (\d+)$/m.exec(readFileSync(configFile, 'utf8'))![1]);
  await waitForOptions(port, 10_000);
  return { name: o.name, port, pids: () => [pid] };
}

/**
 * Registers the benchmark account at a proxy from `port` of 127.0.0.1 (digest, 401 then
 * 200), so the proxy sends the calls there: where SIPp's callee then listens.
 */
export async function registerFrom(proxyPort: number, port: number): Promise<void> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => resolve());
  });
  const reply = (text: string) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer to REGISTER')), 5000);
      s.once('message', (m) => {
        clearTimeout(timer);
        resolve(m.toString('latin1'));
      });
      s.send(text, proxyPort, '127.0.0.1');
    });
  try {
    const base = {
      user: USER,
      domain: REALM,
      contact: `<sip:${USER}@127.0.0.1:${port}>`,
      expires: 3600,
      callId: `bench-reg-${randomBytes(6).toString('hex')}`,
    };
    const first = await reply(register(base));
    const header = /^WWW-Authenticate: *(.+)$/im.exec(first)?.[1];
    if (!first.startsWith('SIP/2.0 401') || header === undefined)
      throw new Error(`REGISTER: expected 401, got ${first.split('\r\n')[0]}`);
    const c = challenges([header]).find((x) => x.algorithm === 'MD5')!;
    const auth = authorization(
      c,
      { user: USER, password: PASSWORD },
      { method: 'REGISTER', uri: `sip:${REALM}` },
    );
    const second = await reply(register({ ...base, cseq: 2, authorization: auth }));
    if (!second.startsWith('SIP/2.0 200'))
      throw new Error(`REGISTER: expected 200, got ${second.split('\r\n')[0]}`);
  } finally {
    s.close();
  }
}

/** SIPp answering calls (server mode, scenario `uas`) on `port` until the teardown. */
export function startCallee(t: Teardown, port: number, dir: string, uas: string): ChildProcess {
  const child = spawn(
    'sipp',
    [
      ...['-sf', uas, '-t', 'u1', '-i', '127.0.0.1', '-p', String(port)],
      ...['-buff_size', String(4 * 1024 * 1024), '-nostdin'],
      ...['-trace_err', '-error_file', join(dir, `callee-${port}-errors.log`)],
    ],
    { cwd: dir, stdio: 'ignore' },
  );
  if (child.pid !== undefined) t.pidsToKill.add(child.pid);
  t.scope.teardown(() => {
    child.kill('SIGKILL');
    if (child.pid !== undefined) t.pidsToKill.delete(child.pid);
  });
  return child;
}

export interface Round {
  load: LoadResult;
  cpuMs: number;
  /** The proxy's CPU over the round per thread name (a thread that ended is not in it). */
  threadsMs: Map<string, number>;
}

export interface LoadShape {
  calls: number;
  rate: number;
  limit: number;
  /** SIPp's working directory (injection, statistics and error files). */
  dir: string;
  /** The caller's scenario. */
  uac: string;
  signal: AbortSignal;
}

/** One SIPp caller run of `calls` calls through `proxy`, with the proxy's CPU over it. */
export async function measure(proxy: Target, shape: LoadShape): Promise<Round> {
  const pids = proxy.pids();
  const before = cpuMs(pids);
  const threadsBefore = cpuMsByThread(pids);
  const load = await runLoad({
    port: proxy.port,
    user: USER,
    password: PASSWORD,
    domain: REALM,
    calls: shape.calls,
    rate: shape.rate,
    limit: shape.limit,
    dir: shape.dir,
    scenario: shape.uac,
    signal: shape.signal,
  });
  const threadsMs = cpuMsByThread(pids);
  for (const [name, ms] of threadsMs) threadsMs.set(name, ms - (threadsBefore.get(name) ?? 0));
  return { load, cpuMs: cpuMs(pids) - before, threadsMs };
}

/** The proxy's CPU per successful call, in µs. */
export function cpuPerCall(r: Round): number {
  return (r.cpuMs * 1000) / Math.max(1, r.load.successful);
}

/**
 * Where a one-process proxy's CPU went, per thread name, in % of a core: which thread is the
 * ceiling (a thread at 100% cannot go faster). Nothing for a proxy of one thread per process.
 */
function threadShares(r: Round): string {
  if (r.threadsMs.size < 2) return '';
  const seconds = Math.max(0.001, r.load.seconds);
  const shares = [...r.threadsMs]
    .filter(([, ms]) => ms / 10 / seconds >= 1)
    .sort((a, b) => b[1] - a[1])
    .map(([name, ms]) => `${name} ${(ms / 10 / seconds).toFixed(0)}%`);
  return `\n            threads: ${shares.join(', ')}`;
}

export function line(name: string, r: Round): string {
  const l = r.load;
  return (
    `  ${name.padEnd(9)} ${l.perSecond.toFixed(0).padStart(5)} calls/s  ` +
    `${String(l.successful).padStart(5)} ok  ${String(l.failed).padStart(4)} failed  ` +
    `${String(l.retransmissions).padStart(5)} retrans  ${l.seconds.toFixed(2)} s  ` +
    `proxy CPU ${(r.cpuMs / 1000).toFixed(2)} s ` +
    `(${cpuPerCall(r).toFixed(0)} µs/call, ` +
    `${(r.cpuMs / 10 / Math.max(0.001, l.seconds)).toFixed(0)}% of a core)` +
    (l.exitCode !== 0 ? `  sipp exit ${l.exitCode}` : '') +
    threadShares(r) +
    (l.failed > 0 && l.firstError ? `\n            first SIPp error: ${l.firstError}` : '')
  );
}
