// Call setups per second through tollgate and through kamailio, side by side in one run.
//
//   node bench/calls/index.ts [--calls 4000] [--rate 100000] [--limit 100] [--rounds 5]
//                             [--warmup 1000] [--kamailio-workers 2] [--no-sdp]
//                             [--kamailio-media rtpengine|none] [--kamailio-guard]
//   node bench/calls/index.ts --before DIR [--rounds 8] [--together] [...]   (A/B: ab.ts)
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
// to relay ports, a port pair per side allocated and released per call). kamailio does the
// same with rtpengine, as operators run it to anchor media: Debian's rtpengine in userspace
// (--table=-1, as tollgate's dataplanemode=off), its CPU counted with kamailio's, the offer
// and answer rewritten through kamailio's rtpengine module, the session deleted by the BYE.
// --kamailio-media none runs kamailio without it (signalling only against tollgate's
// signalling and media); --no-sdp sends the same calls without bodies, signalling only on
// both sides.
//
// --kamailio-guard gives kamailio the per-call work tollgate does beyond proxying, built from
// kamailio's own modules as an operator would (kamailio.cfg, WITH_GUARD): every request
// counted per source (pike) against a ban list (htable), failed digests counted, nonce-count
// replay check, calls in progress counted per user (dialog profile), a CDR record per answered
// INVITE and per BYE (acc through db_flatstore, flushed per record) and a log line per call.
// The run checks afterwards that kamailio wrote the records.
//
// With --before DIR the run compares two tollgate builds instead (ab.ts): DIR's and this
// checkout's, on the same load in alternating rounds; kamailio does not run.
//
// Everything started here (daemon, kamailio and its workers, SIPp callees, temporary
// directory) is removed at the end, on failure, on Ctrl-C, and when the run exceeds its bound.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnKamailio } from '../common/kamailio-process.ts';
import { formatSpread, ratioSummary, summarize } from '../common/rounds.ts';
import { ngSessions, spawnRtpengine, waitForNg } from '../common/rtpengine-process.ts';
import { teardownScope } from '../common/teardown.ts';
import { freeUdpPort, waitForOptions } from '../sip-register/kamailio.ts';
import { runAb } from './ab.ts';
import {
  cpuPerCall,
  type LoadShape,
  line,
  measure,
  PASSWORD,
  REALM,
  type Round,
  registerFrom,
  scenarios,
  startCallee,
  startTollgate,
  type Target,
  USER,
} from './harness.ts';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '4000' },
    rate: { type: 'string', default: '100000' },
    limit: { type: 'string', default: '100' },
    rounds: { type: 'string' },
    warmup: { type: 'string', default: '1000' },
    'kamailio-workers': { type: 'string', default: '2' },
    'no-sdp': { type: 'boolean', default: false },
    'kamailio-media': { type: 'string', default: 'rtpengine' },
    'kamailio-guard': { type: 'boolean', default: false },
    before: { type: 'string' },
    together: { type: 'boolean', default: false },
  },
});
const CALLS = Number(args.calls);
const RATE = Number(args.rate);
const LIMIT = Number(args.limit);
const ROUNDS = Number(args.rounds ?? (args.before === undefined ? 5 : 8));
const WARMUP = Number(args.warmup);
const KAMAILIO_WORKERS = Number(args['kamailio-workers']);
const NO_SDP = args['no-sdp'];
if (!['rtpengine', 'none'].includes(args['kamailio-media']))
  throw new Error(`--kamailio-media: expected rtpengine or none, got ${args['kamailio-media']}`);
// Media to relay only when the calls carry SDP.
const KAMAILIO_RTPENGINE = !NO_SDP && args['kamailio-media'] === 'rtpengine';
const KAMAILIO_GUARD = args['kamailio-guard'];
// rtpengine's relay ports: clear of tollgate's media range (10000-20000 by default) and of
// the kernel's ephemeral ports (32768-60999), where SIPp and the proxies have their SIP
// sockets: rtpengine binds with SO_REUSEADDR, and a relay port bound over a SIPp socket
// takes its datagrams.
const RTPENGINE_PORTS = { min: 21000, max: 30999 };
const RUN_BOUND_MS = (args.before === undefined ? 10 : 20) * 60_000;
const KAMAILIO_CFG = join(import.meta.dirname, 'kamailio.cfg');

const teardown = teardownScope({ runBoundMs: RUN_BOUND_MS });
const { scope, cleanup, pidsToKill } = teardown;

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'tollgate-bench-calls-'));
  scope.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const sippDir = join(tmp, 'sipp');
  mkdirSync(sippDir);
  const { uac, uas } = scenarios(NO_SDP, tmp);
  const shape: LoadShape = {
    calls: CALLS,
    rate: RATE,
    limit: LIMIT,
    dir: sippDir,
    uac,
    signal: teardown.aborts.signal,
  };
  if (args.before !== undefined) {
    await runAb(teardown, {
      before: args.before,
      rounds: ROUNDS,
      warmup: WARMUP,
      noSdp: NO_SDP,
      tmp,
      shape,
      uas,
      together: args.together,
    });
    return;
  }

  const tollgate = await startTollgate(teardown, {
    name: 'tollgate',
    dataDir: join(tmp, 'tollgate'),
    limit: LIMIT,
  });
  const tollgatePid = tollgate.pids()[0]!;

  const rtpengine = KAMAILIO_RTPENGINE ? await startRtpengine() : undefined;
  const kamailioPort = await freeUdpPort();
  const accDir = join(tmp, 'kamailio-acc');
  if (KAMAILIO_GUARD) mkdirSync(accDir);
  const kamailio = await spawnKamailio({
    cfg: KAMAILIO_CFG,
    listen: `udp:127.0.0.1:${kamailioPort}`,
    dir: tmp,
    realm: REALM,
    user: USER,
    password: PASSWORD,
    args: [
      ...['-n', String(KAMAILIO_WORKERS)],
      ...['-m', '1024', '-M', '8'],
      ...(rtpengine ? ['-A', 'WITH_RTPENGINE'] : []),
      ...(KAMAILIO_GUARD ? ['-A', 'WITH_GUARD'] : []),
    ],
    env: {
      ...(rtpengine ? { BENCH_RTPENGINE: `udp:${rtpengine.ng}` } : {}),
      // tollgate's maxlines in the bench (harness.ts): the same limit, never reached.
      ...(KAMAILIO_GUARD
        ? { BENCH_ACC_URL: `flatstore:${accDir}`, BENCH_MAXLINES: String(Math.max(100, LIMIT * 2)) }
        : {}),
    },
    ready: () => waitForOptions(kamailioPort, 10_000),
  });
  for (const pid of kamailio.pids) pidsToKill.add(pid);
  scope.teardown(async () => {
    await kamailio.stop();
    for (const pid of kamailio.pids) pidsToKill.delete(pid);
  });

  const proxies: Target[] = [
    tollgate,
    {
      name: 'kamailio',
      port: kamailioPort,
      pids: () => (rtpengine ? [...kamailio.pids, rtpengine.relay.pid] : kamailio.pids),
    },
  ];
  for (const p of proxies) {
    const calleePort = await freeUdpPort();
    await registerFrom(p.port, calleePort);
    startCallee(teardown, calleePort, sippDir, uas);
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
      `${kamailio.pids.length} processes in all, tm + rr + dialog + auth (stateful, record-routing)` +
      (KAMAILIO_GUARD
        ? ', + pike, htable bans, nonce_count, dialog profile per user, acc CDRs (db_flatstore), xlog per call'
        : '') +
      (rtpengine
        ? `, media through rtpengine (userspace, pid ${rtpengine.relay.pid}, CPU counted)`
        : ''),
  );
  // What tollgate does per call that this kamailio does not: counted in its CPU, not hidden.
  console.log(
    '  tollgate does more per call: ' +
      (NO_SDP || rtpengine
        ? ''
        : 'media relay (offer and answer rewritten, 4 UDP relay ports taken and released, ' +
          'dataplanemode off: userspace relay), ') +
      (KAMAILIO_GUARD
        ? "a balance per call, CDRs synced to disk (kamailio's are flushed, not synced), " +
          'responses counted by the guard too'
        : 'billing (authorization, a durable CDR and balance per call), guard (every message ' +
          'and call counted), nonce-count replay check, metrics and a log line per call'),
  );
  let kamailioCalls = 0;
  for (const p of proxies) {
    const r = await measure(p, { ...shape, calls: WARMUP });
    if (p.name === 'kamailio') kamailioCalls += r.load.successful;
    console.log(line(`${p.name}*`, r));
  }
  console.log('  (* warm-up, not counted)');

  const rounds = new Map<string, Round[]>(proxies.map((p) => [p.name, []]));
  for (let i = 0; i < ROUNDS; i++) {
    console.log(`round ${i + 1}`);
    for (const p of i % 2 === 0 ? proxies : [...proxies].reverse()) {
      const r = await measure(p, shape);
      rounds.get(p.name)!.push(r);
      if (p.name === 'kamailio') kamailioCalls += r.load.successful;
      console.log(line(p.name, r));
    }
  }

  if (rtpengine) {
    // Proof that kamailio's calls had their media anchored, not just their signalling relayed.
    const sessions = await ngSessions(rtpengine.ng);
    const offered = sessions.managed + sessions.open;
    console.log(
      `rtpengine: ${offered} sessions for kamailio's ${kamailioCalls} calls ` +
        `(${sessions.managed} ended, ${sessions.open} in its 30 s delete delay)`,
    );
    if (offered < kamailioCalls)
      throw new Error(
        `rtpengine relayed fewer calls than kamailio completed: ${rtpengine.relay.log().slice(-3000)}`,
      );
  }
  if (KAMAILIO_GUARD) {
    // Proof that kamailio did the accounting: a record per answered INVITE and per BYE.
    const records = readdirSync(accDir).reduce(
      (n, f) => n + readFileSync(join(accDir, f), 'latin1').split('\n').length - 1,
      0,
    );
    console.log(`kamailio acc: ${records} CDR records for its ${kamailioCalls} calls`);
    if (records < 2 * kamailioCalls)
      throw new Error(`kamailio wrote ${records} acc records, expected ${2 * kamailioCalls}`);
  }
  console.log('median of the rounds (min-max, ±half the range in % of the median)');
  const medians: Record<string, { perSecond: number; cpu: number }> = {};
  for (const p of proxies) {
    const list = rounds.get(p.name)!;
    const perSecond = summarize(list.map((r) => r.load.perSecond));
    const cpu = summarize(list.map(cpuPerCall));
    medians[p.name] = { perSecond: perSecond.median, cpu: cpu.median };
    const failed = list.reduce((n, r) => n + r.load.failed, 0);
    console.log(
      `  ${p.name.padEnd(9)} ${formatSpread(perSecond)} calls/s  failures ${failed}  ` +
        `proxy CPU ${formatSpread(cpu, 0, ' µs')}/call`,
    );
  }
  const perRound = (name: string) => rounds.get(name)!.map((r) => r.load.perSecond);
  const cpus = (name: string) => rounds.get(name)!.map(cpuPerCall);
  const t = medians.tollgate!;
  const k = medians.kamailio!;
  console.log(
    `ratio tollgate/kamailio calls/s: ${(t.perSecond / k.perSecond).toFixed(2)}` +
      ` (per round: ${formatSpread(ratioSummary(perRound('tollgate'), perRound('kamailio')), 2)})`,
  );
  console.log(
    `ratio kamailio/tollgate CPU per call (above 1: tollgate spends less): ${(k.cpu / t.cpu).toFixed(2)}` +
      ` (per round: ${formatSpread(ratioSummary(cpus('kamailio'), cpus('tollgate')), 2)})`,
  );
}

/** rtpengine for kamailio on 127.0.0.1, serving ng commands once it answers a ping. */
async function startRtpengine() {
  const ng = `127.0.0.1:${await freeUdpPort()}`;
  const relay = spawnRtpengine({ address: '127.0.0.1', ng, ports: RTPENGINE_PORTS });
  pidsToKill.add(relay.pid);
  scope.teardown(async () => {
    await relay.stop();
    pidsToKill.delete(relay.pid);
  });
  try {
    await waitForNg(ng, 10_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}: ${relay.log()}`);
  }
  return { ng, relay };
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
