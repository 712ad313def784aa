// Call setups per second through tollgate and through kamailio, side by side in one run.
//
//   node bench/calls/index.ts [--calls 4000] [--rate 100000] [--limit 100] [--rounds 5]
//                             [--warmup 1000] [--kamailio-workers 2] [--no-sdp]
//
// Both proxies run on this machine, on 127.0.0.1, UDP, and do the same work per call (see
// kamailio.cfg): INVITE → 407 (qop=auth MD5 challenge, stateless nonce) → ACK absorbed →
// INVITE with credentials → digest checked, credentials removed, Record-Route added, the
// call kept as a dialog, the callee looked up in the registrations → relayed statefully →
// 200 relayed → ACK routed along the Record-Route → BYE relayed statefully → 200. tollgate
// is the real daemon (`tollgate serve`, dataplanemode=off, default config otherwise: its
// guard watches every message and every call, RFC 4028 session timers on); kamailio is
// Debian's 5.6 with tm, rr, dialog, auth, usrloc/registrar, no ban or flood module.
//
// The load: SIPp as the caller (uac.xml) makes `calls` calls, started at up to `rate` per
// second with at most `limit` in progress, so each proxy runs as fast as it relays; SIPp as
// the callee (uas.xml, server mode) answers them, registered to each proxy beforehand from
// its own port (one REGISTER with digest, sent from here). One account places and answers.
// Each proxy is warmed up first, then the rounds alternate which proxy goes first and the
// median round is reported. CPU is the proxy's utime + stime from /proc over the round
// (every kamailio process summed); both SIPp processes share the same two cores.
//
// The calls carry SDP, so tollgate's media relay takes part (the offer and answer rewritten
// to relay ports, a port pair per side allocated and released per call), which kamailio
// without rtpengine does not: --no-sdp sends the same calls without bodies, signalling only.
//
// Everything started here (daemon, kamailio and its workers, SIPp callees, temporary
// directory) is removed at the end, on failure, on Ctrl-C, and when the run exceeds its bound.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ExecutionContext } from 'ava';
import { startDaemon, testConfig } from '../../tests/helpers/daemon.ts';
import { authorization, challenges, register } from '../../tests/helpers/sip-client.ts';
import { spawnKamailio } from '../common/kamailio-process.ts';
import { cpuMs } from '../common/proc.ts';
import { formatSpread, ratioSummary, summarize } from '../common/rounds.ts';
import { teardownScope } from '../common/teardown.ts';
import { freeUdpPort, waitForOptions } from '../sip-register/kamailio.ts';
import { type LoadResult, runLoad } from '../sip-register/load.ts';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '4000' },
    rate: { type: 'string', default: '100000' },
    limit: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1000' },
    'kamailio-workers': { type: 'string', default: '2' },
    'no-sdp': { type: 'boolean', default: false },
  },
});
const CALLS = Number(args.calls);
const RATE = Number(args.rate);
const LIMIT = Number(args.limit);
const ROUNDS = Number(args.rounds);
const WARMUP = Number(args.warmup);
const KAMAILIO_WORKERS = Number(args['kamailio-workers']);
const RUN_BOUND_MS = 10 * 60_000;
const REALM = 'tollgate';
const USER = 'bench';
// Letters and digits, long: passes tollgate's strong-password check.
const PASSWORD = `Call${randomBytes(12).toString('hex')}7`;
const NO_SDP = args['no-sdp'];
let UAC = join(import.meta.dirname, 'uac.xml');
let UAS = join(import.meta.dirname, 'uas.xml');

/** A copy of a scenario in `dir` with its SDP bodies taken out (--no-sdp). */
function withoutSdp(file: string, dir: string): string {
  const xml = readFileSync(file, 'utf8').replace(
    /Content-Type: application\/sdp\n\s*Content-Length: \[len\]\n\n\s*v=0[\s\S]*?a=rtpmap:0 PCMU\/8000\n/g,
    'Content-Length: 0\n',
  );
  const out = join(dir, `nosdp-${basename(file)}`);
  writeFileSync(out, xml);
  return out;
}
const KAMAILIO_CFG = join(import.meta.dirname, 'kamailio.cfg');

const {
  scope,
  cleanup,
  aborts: sippRuns,
  pidsToKill,
} = teardownScope({
  runBoundMs: RUN_BOUND_MS,
});

/**
 * Registers the benchmark account at a proxy from `port` of 127.0.0.1 (digest, 401 then
 * 200), so the proxy sends the calls there: where SIPp's callee then listens.
 */
async function registerFrom(proxyPort: number, port: number): Promise<void> {
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

/** SIPp answering calls (server mode) on `port` until stopped. */
function startCallee(port: number, dir: string): ChildProcess {
  const child = spawn(
    'sipp',
    [
      ...['-sf', UAS, '-t', 'u1', '-i', '127.0.0.1', '-p', String(port)],
      ...['-buff_size', String(4 * 1024 * 1024), '-nostdin'],
      ...['-trace_err', '-error_file', join(dir, `callee-${port}-errors.log`)],
    ],
    { cwd: dir, stdio: 'ignore' },
  );
  if (child.pid !== undefined) pidsToKill.add(child.pid);
  scope.teardown(() => {
    child.kill('SIGKILL');
    if (child.pid !== undefined) pidsToKill.delete(child.pid);
  });
  return child;
}

interface Proxy {
  name: 'tollgate' | 'kamailio';
  port: number;
  pids: () => number[];
}

interface Round {
  load: LoadResult;
  cpuMs: number;
}

async function measure(proxy: Proxy, calls: number, dir: string): Promise<Round> {
  const pids = proxy.pids();
  const before = cpuMs(pids);
  const load = await runLoad({
    port: proxy.port,
    user: USER,
    password: PASSWORD,
    domain: REALM,
    calls,
    rate: RATE,
    limit: LIMIT,
    dir,
    scenario: UAC,
    signal: sippRuns.signal,
  });
  return { load, cpuMs: cpuMs(pids) - before };
}

function line(name: string, r: Round): string {
  const l = r.load;
  return (
    `  ${name.padEnd(9)} ${l.perSecond.toFixed(0).padStart(5)} calls/s  ` +
    `${String(l.successful).padStart(5)} ok  ${String(l.failed).padStart(4)} failed  ` +
    `${String(l.retransmissions).padStart(5)} retrans  ${l.seconds.toFixed(2)} s  ` +
    `proxy CPU ${(r.cpuMs / 1000).toFixed(2)} s ` +
    `(${((r.cpuMs * 1000) / Math.max(1, l.successful)).toFixed(0)} µs/call, ` +
    `${(r.cpuMs / 10 / Math.max(0.001, l.seconds)).toFixed(0)}% of a core)` +
    (l.exitCode !== 0 ? `  sipp exit ${l.exitCode}` : '') +
    (l.failed > 0 && l.firstError ? `\n            first SIPp error: ${l.firstError}` : '')
  );
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'tollgate-bench-calls-'));
  scope.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const sippDir = join(tmp, 'sipp');
  const dataDir = join(tmp, 'tollgate');
  mkdirSync(sippDir);
  mkdirSync(dataDir);
  if (NO_SDP) {
    UAC = withoutSdp(UAC, tmp);
    UAS = withoutSdp(UAS, tmp);
  }

  // Calls in setup per source are capped (blocktoomuchpendingsession, 100 by default): the
  // load generator is one source with up to `limit` calls in setup.
  const configFile = await testConfig(dataDir, {
    realm: REALM,
    maxpendingsessionsperip: Math.max(100, LIMIT * 2),
  });
  const daemon = await startDaemon(scope as unknown as ExecutionContext, { dataDir, configFile });
  const tollgatePid = daemon.process.pid!;
  pidsToKill.add(tollgatePid);
  scope.teardown(async () => {
    await Promise.race([daemon.stop(), new Promise((r) => setTimeout(r, 5000))]);
    pidsToKill.delete(tollgatePid);
  });
  const added = await daemon.ctl('users', 'add', USER, '--password', PASSWORD);
  if (added.code !== 0) throw new Error(`tollgatectl users add: ${added.stderr}${added.stdout}`);
  // One account places every call: billing's simultaneous-call limit (5 by default) would
  // refuse most of the `limit` calls in progress with 486.
  for (const field of ['maxlines', 'maxlinesoffpeak']) {
    const set = await daemon.ctl('users', 'set', USER, field, String(Math.max(100, LIMIT * 2)));
    if (set.code !== 0) throw new Error(`tollgatectl users set ${field}: ${set.stderr}`);
  }
  const sipport = Number(/^sipport = (\d+)$/m.exec(readFileSync(configFile, 'utf8'))![1]);
  await waitForOptions(sipport, 10_000);

  const kamailioPort = await freeUdpPort();
  const kamailio = await spawnKamailio({
    cfg: KAMAILIO_CFG,
    listen: `udp:127.0.0.1:${kamailioPort}`,
    dir: tmp,
    realm: REALM,
    user: USER,
    password: PASSWORD,
    args: [...['-n', String(KAMAILIO_WORKERS)], ...['-m', '1024', '-M', '8']],
    ready: () => waitForOptions(kamailioPort, 10_000),
  });
  for (const pid of kamailio.pids) pidsToKill.add(pid);
  scope.teardown(async () => {
    await kamailio.stop();
    for (const pid of kamailio.pids) pidsToKill.delete(pid);
  });

  const proxies: Proxy[] = [
    { name: 'tollgate', port: sipport, pids: () => [tollgatePid] },
    { name: 'kamailio', port: kamailioPort, pids: () => kamailio.pids },
  ];
  for (const p of proxies) {
    const calleePort = await freeUdpPort();
    await registerFrom(p.port, calleePort);
    startCallee(calleePort, sippDir);
  }
  // The callees have bound their ports before the first INVITE goes out.
  await new Promise((r) => setTimeout(r, 1000));

  console.log(
    `calls: ${CALLS} authenticated calls (INVITE/407/ACK/INVITE/200/ACK/BYE/200, MD5 qop=auth, ` +
      `${NO_SDP ? 'no SDP' : 'SDP offer/answer'}) ` +
      `per proxy per round, UDP on 127.0.0.1, SIPp -r ${RATE} -l ${LIMIT}, ${ROUNDS} rounds ` +
      `after ${WARMUP} warm-up`,
  );
  console.log(
    `  tollgate: 1 Node process (pid ${tollgatePid}); kamailio: ${KAMAILIO_WORKERS} UDP workers, ` +
      `${kamailio.pids.length} processes in all, tm + rr + dialog + auth (stateful, record-routing)`,
  );
  // What tollgate does per call that this kamailio does not: counted in its CPU, not hidden.
  console.log(
    '  tollgate does more per call: ' +
      (NO_SDP
        ? ''
        : 'media relay (offer and answer rewritten, 4 UDP relay ports taken and released, ' +
          'dataplanemode off: userspace relay), ') +
      'billing (authorization, a durable CDR and balance per call), guard (every message and ' +
      'call counted), nonce-count replay check, metrics and a log line per call',
  );
  for (const p of proxies) console.log(line(`${p.name}*`, await measure(p, WARMUP, sippDir)));
  console.log('  (* warm-up, not counted)');

  const rounds = new Map<string, Round[]>(proxies.map((p) => [p.name, []]));
  for (let i = 0; i < ROUNDS; i++) {
    console.log(`round ${i + 1}`);
    for (const p of i % 2 === 0 ? proxies : [...proxies].reverse()) {
      const r = await measure(p, CALLS, sippDir);
      rounds.get(p.name)!.push(r);
      console.log(line(p.name, r));
    }
  }

  console.log('median of the rounds (min-max, ±half the range in % of the median)');
  const medians: Record<string, { perSecond: number; cpu: number }> = {};
  for (const p of proxies) {
    const list = rounds.get(p.name)!;
    const perSecond = summarize(list.map((r) => r.load.perSecond));
    const cpu = summarize(list.map((r) => (r.cpuMs * 1000) / Math.max(1, r.load.successful)));
    medians[p.name] = { perSecond: perSecond.median, cpu: cpu.median };
    const failed = list.reduce((n, r) => n + r.load.failed, 0);
    console.log(
      `  ${p.name.padEnd(9)} ${formatSpread(perSecond)} calls/s  failures ${failed}  ` +
        `proxy CPU ${formatSpread(cpu, 0, ' µs')}/call`,
    );
  }
  const perRound = (name: string) => rounds.get(name)!.map((r) => r.load.perSecond);
  const cpuPerCall = (name: string) =>
    rounds.get(name)!.map((r) => (r.cpuMs * 1000) / Math.max(1, r.load.successful));
  const t = medians.tollgate!;
  const k = medians.kamailio!;
  console.log(
    `ratio tollgate/kamailio calls/s: ${(t.perSecond / k.perSecond).toFixed(2)}` +
      ` (per round: ${formatSpread(ratioSummary(perRound('tollgate'), perRound('kamailio')), 2)})`,
  );
  console.log(
    `ratio kamailio/tollgate CPU per call (above 1: tollgate spends less): ${(k.cpu / t.cpu).toFixed(2)}` +
      ` (per round: ${formatSpread(ratioSummary(cpuPerCall('kamailio'), cpuPerCall('tollgate')), 2)})`,
  );
}

let code = 0;
try {
  await main();
} catch (err) {
  console.error(`bench: ${(err as Error).stack ?? err}`);
  code = 1;
} finally {
  await cleanup();
}
process.exit(code);
