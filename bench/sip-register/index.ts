// Authenticated registrations per second: tollgate vs kamailio, side by side in one run.
//
//   node bench/sip-register/index.ts [--calls 20000] [--rate 100000] [--limit 200]
//                                    [--rounds 5] [--warmup 3000] [--kamailio-workers 2]
//                                    [--kamailio-stateful]
//
// Both servers run on this machine, on 127.0.0.1, UDP, and do the same work per registration
// (see kamailio.cfg): REGISTER → 401 with a qop=auth MD5 challenge (stateless nonce with its
// own expiry) → REGISTER with credentials → digest checked against the stored HA1, AoR
// checked against the authenticated user → binding saved in memory → 200. tollgate is the
// real daemon (`tollgate serve`, dataplanemode=off, default config otherwise: its guard
// watches every message, and loopback is never banned); kamailio is Debian's 5.6 with no
// ban or flood module.
//
// The load: SIPp (tests/sipp/register.xml) makes `calls` registrations of one account,
// started at up to `rate` per second with at most `limit` outstanding, so each server runs
// as fast as it answers. Each server is warmed up first (JIT, caches), then the rounds
// alternate which server goes first (drift on a shared machine hits both alike) and the
// median round is reported. CPU is the server's utime + stime from /proc over the round
// (every kamailio process summed), also shown as a share of one core; SIPp runs on the same
// two cores. SIPp is single-threaded and has a ceiling of its own (about 24,500 reg/s here,
// what it reaches against a Node responder that answers without any SIP processing): a server
// that answers faster than that, with CPU to spare, is waiting on SIPp, not the other way.
//
// tollgate's transaction layer keeps each UDP non-INVITE server transaction for Timer J
// (64*T1 = 32 s, RFC 3261 §17.2.2) in a table bounded at 100,000 (src/sip/transaction/
// layer.ts). A registration leaves one there: the 401 challenge is answered statelessly
// (RFC 3261 §8.2.7), the 200 waits out Timer J. Above ~3,100 registrations/s sustained for
// 32 s the table is full; it then ends the oldest Completed transaction to make room (a
// retransmission after that is handled as a new request) and answers 503 only when nothing
// can be reclaimed. The rounds below print the 503s seen and how many transactions tollgate
// opened in the trailing 32 s, so that limit shows.
//
// Everything started here (daemon, kamailio and its workers, temporary directory) is removed
// at the end, on failure, on Ctrl-C, and when the run exceeds its time bound.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ExecutionContext } from 'ava';
import { startDaemon, testConfig } from '../../tests/helpers/daemon.ts';
import { cpuMs } from '../common/proc.ts';
import { formatSpread, ratioSummary, summarize } from '../common/rounds.ts';
import { teardownScope } from '../common/teardown.ts';
import { freeUdpPort, type Kamailio, startKamailio, waitForOptions } from './kamailio.ts';
import { type LoadResult, runLoad } from './load.ts';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '20000' },
    rate: { type: 'string', default: '100000' },
    limit: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '3000' },
    'kamailio-workers': { type: 'string', default: '2' },
    'kamailio-stateful': { type: 'boolean', default: false },
  },
});
const CALLS = Number(args.calls);
const RATE = Number(args.rate);
const LIMIT = Number(args.limit);
const ROUNDS = Number(args.rounds);
const WARMUP = Number(args.warmup);
const KAMAILIO_WORKERS = Number(args['kamailio-workers']);
const KAMAILIO_STATEFUL = args['kamailio-stateful'];
const RUN_BOUND_MS = 8 * 60_000;
const REALM = 'tollgate';
const USER = 'bench';
/** Timer J for UDP: 64 * T1 (RFC 3261 §17.2.2), tollgate's default T1 = 500 ms. */
const TIMER_J_MS = 32_000;
const TRANSACTION_TABLE_BOUND = 100_000;

const {
  scope,
  cleanup,
  aborts: sippRuns,
  pidsToKill: serverPids,
} = teardownScope({
  runBoundMs: RUN_BOUND_MS,
});

interface Server {
  name: 'tollgate' | 'kamailio' | 'ceiling';
  port: number;
  pids: () => number[];
  /** When tollgate opened its transactions (one kept per call), to count those in Timer J. */
  opened: { at: number; count: number }[];
}

interface Round {
  load: LoadResult;
  cpuMs: number;
  /** Transactions opened in the 32 s before the round ended (tollgate's table occupancy). */
  liveTransactions: number;
}

async function measure(server: Server, calls: number, dir: string): Promise<Round> {
  const pids = server.pids();
  const before = cpuMs(pids);
  const load = await runLoad({
    port: server.port,
    user: USER,
    password: PASSWORD,
    domain: REALM,
    calls,
    rate: RATE,
    limit: LIMIT,
    dir,
    signal: sippRuns.signal,
  });
  const used = cpuMs(pids) - before;
  const now = Date.now();
  // One kept per registration (the 401 keeps none); a request refused 503 is answered without.
  server.opened.push({ at: now, count: load.successful });
  const liveTransactions = server.opened
    .filter((o) => now - o.at < TIMER_J_MS)
    .reduce((sum, o) => sum + o.count, 0);
  return { load, cpuMs: used, liveTransactions };
}

function line(name: string, r: Round): string {
  const l = r.load;
  return (
    `  ${name.padEnd(9)} ${l.perSecond.toFixed(0).padStart(6)} reg/s  ` +
    `${String(l.successful).padStart(6)} ok  ${String(l.failed).padStart(5)} failed  ` +
    `${String(l.refused503).padStart(5)} x 503  ${String(l.retransmissions).padStart(5)} retrans  ` +
    `${l.seconds.toFixed(2)} s  server CPU ${(r.cpuMs / 1000).toFixed(2)} s ` +
    `(${((r.cpuMs * 1000) / Math.max(1, l.successful)).toFixed(0)} µs/reg, ` +
    `${(r.cpuMs / 10 / Math.max(0.001, l.seconds)).toFixed(0)}% of a core)` +
    (l.exitCode !== 0 ? `  sipp exit ${l.exitCode}` : '') +
    (l.failed > 0 && l.firstError ? `\n            first SIPp error: ${l.firstError}` : '')
  );
}

// Letters and digits, long: passes tollgate's validatepassword=2 (strong password) checks.
const PASSWORD = `Load${randomBytes(12).toString('hex')}9`;

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'tollgate-bench-register-'));
  scope.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const sippDir = join(tmp, 'sipp');
  const dataDir = join(tmp, 'tollgate');
  mkdirSync(sippDir);
  mkdirSync(dataDir);

  const configFile = await testConfig(dataDir, { realm: REALM });
  const daemon = await startDaemon(scope as unknown as ExecutionContext, { dataDir, configFile });
  scope.teardown(async () => {
    await Promise.race([daemon.stop(), new Promise((r) => setTimeout(r, 5000))]);
    if (daemon.process.exitCode !== null || daemon.process.signalCode !== null)
      serverPids.delete(daemon.process.pid!);
  });
  const added = await daemon.ctl('users', 'add', USER, '--password', PASSWORD);
  if (added.code !== 0) throw new Error(`tollgatectl users add: ${added.stderr}${added.stdout}`);
  const tollgatePid = daemon.process.pid!;
  serverPids.add(tollgatePid);
  const sipport = Number(/^sipport = (\d+)$/m.exec(readFileSync(configFile, 'utf8'))![1]);
  await waitForOptions(sipport, 10_000);

  const kamailio: Kamailio = await startKamailio({
    dir: tmp,
    realm: REALM,
    user: USER,
    password: PASSWORD,
    workers: KAMAILIO_WORKERS,
    stateful: KAMAILIO_STATEFUL,
  });
  for (const pid of kamailio.pids) serverPids.add(pid);
  scope.teardown(async () => {
    await kamailio.stop(); // kills what is left of its processes
    for (const pid of kamailio.pids) serverPids.delete(pid);
  });

  const bare = await startBareResponder();
  serverPids.add(bare.pid);
  scope.teardown(() => {
    bare.stop();
    serverPids.delete(bare.pid);
  });

  const servers: Server[] = [
    { name: 'tollgate', port: sipport, pids: () => [tollgatePid], opened: [] },
    { name: 'kamailio', port: kamailio.port, pids: () => kamailio.pids, opened: [] },
    // Not a contender: SIPp's own limit here (bare-responder.ts).
    { name: 'ceiling', port: bare.port, pids: () => [bare.pid], opened: [] },
  ];
  console.log(
    `sip-register: ${CALLS} authenticated REGISTERs (MD5, qop=auth) per server per round, ` +
      `UDP on 127.0.0.1, SIPp -r ${RATE} -l ${LIMIT}, ${ROUNDS} rounds after ${WARMUP} warm-up`,
  );
  console.log(
    `  tollgate: 1 Node process (pid ${tollgatePid}); kamailio: ${kamailio.workers} UDP workers, ` +
      `${kamailio.pids.length} processes in all (pids ${kamailio.pids.join(',')}), ` +
      (kamailio.stateful ? 'a tm transaction per REGISTER' : 'stateless replies (stock config)'),
  );

  for (const s of servers) {
    const w = await measure(s, WARMUP, sippDir);
    console.log(line(`${s.name}*`, w));
  }
  console.log('  (* warm-up, not counted)');

  const rounds = new Map<string, Round[]>(servers.map((s) => [s.name, []]));
  for (let i = 0; i < ROUNDS; i++) {
    console.log(`round ${i + 1}`);
    const order = i % 2 === 0 ? servers : [...servers].reverse();
    for (const s of order) {
      const r = await measure(s, CALLS, sippDir);
      rounds.get(s.name)!.push(r);
      console.log(line(s.name, r));
      if (s.name === 'tollgate') {
        console.log(
          `            tollgate transactions opened in the last 32 s (Timer J): ~${r.liveTransactions}` +
            ` of the ${TRANSACTION_TABLE_BOUND} table bound`,
        );
      }
    }
  }

  console.log('median of the rounds (min-max, ±half the range in % of the median)');
  const perSecond: Record<string, number> = {};
  for (const s of servers) {
    const list = rounds.get(s.name)!;
    const regs = summarize(list.map((r) => r.load.perSecond));
    perSecond[s.name] = regs.median;
    const failed = list.reduce((n, r) => n + r.load.failed, 0);
    const refused = list.reduce((n, r) => n + r.load.refused503, 0);
    const cpu = summarize(list.map((r) => (r.cpuMs * 1000) / Math.max(1, r.load.successful)));
    console.log(
      `  ${s.name.padEnd(9)} ${formatSpread(regs)} registrations/s  failures ${failed}` +
        ` (503: ${refused})  server CPU ${formatSpread(cpu, 0, ' µs')}/registration`,
    );
  }
  const totalRefused = rounds.get('tollgate')!.reduce((n, r) => n + r.load.refused503, 0);
  if (totalRefused > 0) {
    console.log(
      `  tollgate answered ${totalRefused} requests 503: its transaction table (bound ${TRANSACTION_TABLE_BOUND},` +
        ` each UDP non-INVITE transaction kept ${TIMER_J_MS / 1000} s) was full`,
    );
  }
  console.log(
    '  (ceiling: SIPp against a responder that does no SIP work at all, bare-responder.ts)',
  );
  // Round i of each server ran back to back, so the per-round ratio compares like with like.
  const perRound = (name: string) => rounds.get(name)!.map((r) => r.load.perSecond);
  console.log(
    `ratio tollgate/kamailio: ${(perSecond.tollgate! / perSecond.kamailio!).toFixed(2)}` +
      ` (per round: ${formatSpread(ratioSummary(perRound('tollgate'), perRound('kamailio')), 2)})`,
  );
}

/** bare-responder.ts on a free port, answering once it printed "ready". */
async function startBareResponder(): Promise<{ port: number; pid: number; stop: () => void }> {
  const port = await freeUdpPort();
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, 'bare-responder.ts'), String(port)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bare-responder exited (${code})`)));
    child.stdout!.once('data', () => resolve());
  });
  await waitForOptions(port, 10_000);
  return { port, pid: child.pid!, stop: () => child.kill('SIGKILL') };
}

let code = 0;
try {
  await main();
} catch (err) {
  if (sippRuns.signal.aborted) console.error('bench interrupted');
  else console.error(`bench failed: ${(err as Error).stack ?? err}`);
  code = 1;
} finally {
  await cleanup();
}
process.exit(code);
