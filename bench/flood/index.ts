// Legitimate registrations under a random-source flood: tollgate with its kernel protection,
// tollgate with it off, and kamailio with its stock anti-flood, side by side in one run.
//
//   node bench/flood/index.ts [--calls 750] [--rate 50] [--lead 1]
//                             [--rows a,b,c,d] [--rounds 1]
//
// Needs root, trafgen (netsniff-ng), SIPp and kamailio. Each row gets a fresh pair of network
// namespaces joined by veth (tests/helpers/netns.ts): the server in side b on 5060/UDP, and
// in side a
//   - the flood: trafgen at its full rate, one CPU, valid-looking SIP OPTIONS from 65,536
//     random source addresses (198.18.0.0/16) to the SIP port (tests/helpers/flood.ts);
//   - the legitimate client: SIPp from side a's fixed address, `calls` REGISTERs with digest
//     authentication at `rate` a second (tests/helpers/sipp-load.ts), each REGISTER the
//     challenged request plus the answer. The client registers once before the flood starts
//     (for tollgate that makes its address trusted in the kernel, see below).
// The flood starts `lead` seconds before SIPp and stops when SIPp is done.
//
// The rows:
//   a  tollgate as installed: dataplane auto (XDP on the veth), default config (enablefirewall
//      4: sources not yet trusted share the unknownsourcekbps budget, 8,000 kbit/s).
//   b  tollgate with that shared budget opened up to the NIC's size (unknownsourcekbps =
//      maxnetworkspeed = 800,000 kbit/s): the veth carries the flood slower than that, so it
//      all passes to the daemon. Shown so the knob's meaning is visible.
//   c  tollgate, protection off: dataplanemode off, enablefirewall 0 (the stress-test setup).
//   d  kamailio 5.6 with its stock anti-flood (pike + htable ban, kamailio.cfg), the client's
//      address exempt from pike as an operator whitelists a trunk.
//
// Printed per row: the client's success rate and response times (SIPp's response time
// duration: first REGISTER to 200 OK, retransmissions included; whole ms at SIPp's 4 ms
// tick), the server's CPU time during the flood (utime + stime from /proc, every kamailio
// process summed), the frames the flood put on the wire (side a's veth counter), and what
// reached the server's UDP socket (InDatagrams + RcvbufErrors, i.e. the stack delivered it;
// RcvbufErrors alone: dropped at the full socket queue).
//
// The machine has 2 cores: trafgen holds one (on veth the receive side, XDP included, runs
// in the sender's softirq), the server and SIPp share the other. Other load on a shared
// machine moves every figure; rows run one after another, so compare within one run.
//
// Everything started here (daemon, kamailio and its workers, trafgen, SIPp, namespaces,
// temporary directory) is removed at the end, on failure, on Ctrl-C, and when the run
// exceeds its time bound.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ExecutionContext } from 'ava';
import { startDaemon, testConfig } from '../../tests/helpers/daemon.ts';
import { sipOptionsPayload, startFlood } from '../../tests/helpers/flood.ts';
import { createLink, exec, type Link, sweepStaleNamespaces } from '../../tests/helpers/netns.ts';
import type { SippUser } from '../../tests/helpers/sipp.ts';
import { runSippLoad, type SippLoadResult } from '../../tests/helpers/sipp-load.ts';
import { cpuMs } from '../common/proc.ts';
import { formatSpread, ratioSummary, summarize } from '../common/rounds.ts';
import { teardownScope } from '../common/teardown.ts';
import { startKamailioIn } from './kamailio.ts';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '750' },
    rate: { type: 'string', default: '50' },
    lead: { type: 'string', default: '1' },
    rows: { type: 'string', default: 'a,b,c,d' },
    // Each round runs every row again (rows interleaved, so drift hits all alike); with more
    // than one, the summary gives each row's median and spread and the ratios per round.
    rounds: { type: 'string', default: '1' },
  },
});
const CALLS = Number(args.calls);
const RATE = Number(args.rate);
const LEAD_MS = Number(args.lead) * 1000;
const ROWS = new Set(args.rows.split(','));
const ROUNDS = Math.max(1, Number(args.rounds));
const RUN_BOUND_MS = ROUNDS * 10 * 60_000;
const SIP_PORT = 5060;
const REALM = 'tollgate';
const CLIENT: SippUser = { user: 'bench', password: 'Amber-flood-2231' };

const { scope, cleanup } = teardownScope({ runBoundMs: RUN_BOUND_MS });

interface Server {
  pids: () => number[];
  stop: () => Promise<unknown>;
  /** tollgate: the kernel's flood drop counter (`tollgatectl stats --json`). */
  floodDrops?: () => Promise<number>;
  /** kamailio: sources banned by pike. */
  bans?: () => number;
}

interface Row {
  id: string;
  name: string;
  start(link: Link, dir: string): Promise<Server>;
}

interface Outcome {
  row: Row;
  load: SippLoadResult;
  cpuMs: number;
  floodMs: number;
  sent: number;
  restarts: number;
  reached: number;
  queueDrops: number;
  kernelDrops?: number;
  bans?: number;
}

async function udpCounters(ns: string): Promise<{ arrivals: number; queueDrops: number }> {
  const { stdout } = await exec(ns, ['/bin/cat', '/proc/net/snmp']);
  const [names, values] = stdout
    .split('\n')
    .filter((l) => l.startsWith('Udp: '))
    .map((l) => l.split(/\s+/));
  const field = (n: string) => Number(values![names!.indexOf(n)] ?? 0);
  return {
    arrivals: field('InDatagrams') + field('RcvbufErrors'),
    queueDrops: field('RcvbufErrors'),
  };
}

function tollgateRow(id: string, name: string, overrides: Record<string, string | number>): Row {
  return {
    id,
    name,
    start: async (link, dir) => {
      const dataDir = join(dir, 'tollgate');
      mkdirSync(dataDir);
      const configFile = await testConfig(dataDir, {
        sipaddress: link.b.v4,
        sipport: SIP_PORT,
        ...overrides,
      });
      const d = await startDaemon(scope as unknown as ExecutionContext, {
        dataDir,
        configFile,
        netns: link.b.ns,
      });
      const added = await d.ctl('users', 'add', CLIENT.user, '--password', CLIENT.password);
      if (added.code !== 0) throw new Error(`tollgatectl users add: ${added.stderr}`);
      const pid = d.process.pid!;
      return {
        pids: () => [pid],
        stop: () => Promise.race([d.stop(), new Promise((r) => setTimeout(r, 5000))]),
        floodDrops:
          overrides.dataplanemode === 'off'
            ? undefined
            : async () => {
                const r = await d.ctl('stats', '--json');
                if (r.code !== 0) {
                  const alive =
                    d.process.exitCode === null ? 'running' : `exited ${d.process.exitCode}`;
                  throw new Error(
                    `tollgatectl stats (daemon ${alive}): ${r.stderr}\n${d.stderr()}`,
                  );
                }
                return (JSON.parse(r.stdout) as { drops: { flood: number } }).drops.flood;
              },
      };
    },
  };
}

const rows: Row[] = [
  tollgateRow('a', 'tollgate XDP, default config', { dataplanemode: 'auto' }),
  tollgateRow('b', 'tollgate XDP, shared budget = NIC size', {
    dataplanemode: 'auto',
    unknownsourcekbps: 800_000,
  }),
  tollgateRow('c', 'tollgate protection off', { dataplanemode: 'off', enablefirewall: 0 }),
  {
    id: 'd',
    name: 'kamailio pike + htable',
    start: async (link, dir) => {
      const k = await startKamailioIn({
        ns: link.b.ns,
        address: link.b.v4,
        port: SIP_PORT,
        dir,
        realm: REALM,
        user: CLIENT.user,
        password: CLIENT.password,
        trusted: link.a.v4,
      });
      return { pids: () => k.pids, bans: () => k.bans(), stop: () => k.stop() };
    },
  },
];

async function measure(row: Row, tmp: string): Promise<Outcome> {
  const dir = join(tmp, row.id);
  mkdirSync(dir);
  const link = await createLink(scope);
  const server = await row.start(link, dir);
  scope.teardown(() => server.stop());
  try {
    const target = { ip: link.b.v4, port: SIP_PORT };
    const sippDir = (name: string) => {
      const d = join(dir, name);
      mkdirSync(d);
      return d;
    };
    const first = await runSippLoad({
      ns: link.a.ns,
      localIp: link.a.v4,
      target,
      account: CLIENT,
      calls: 1,
      rate: 1,
      dir: sippDir('sipp-first'),
    });
    if (first.successful !== 1)
      throw new Error(`${row.name}: first REGISTER failed\n${first.output}`);

    const dropsBefore = await server.floodDrops?.();
    const udpBefore = await udpCounters(link.b.ns);
    const cpuBefore = cpuMs(server.pids());
    const floodStart = Date.now();
    const flood = await startFlood(link, {
      dport: SIP_PORT,
      payload: sipOptionsPayload(link.b.v4, SIP_PORT),
    });
    scope.teardown(() => flood.stop());
    let load: SippLoadResult;
    let flooded: Awaited<ReturnType<typeof flood.stop>>;
    try {
      await new Promise((r) => setTimeout(r, LEAD_MS));
      load = await runSippLoad({
        ns: link.a.ns,
        localIp: link.a.v4,
        target,
        account: CLIENT,
        calls: CALLS,
        rate: RATE,
        dir: sippDir('sipp-load'),
        // Room for the last call's full retransmission chain (two requests, each retried
        // for up to ~11.5 s: timer E from 500 ms doubling to T2 = 4 s, SIPp's 5 retries).
        timeoutSeconds: Math.ceil(CALLS / RATE) + 25,
      });
    } finally {
      flooded = await flood.stop();
    }
    const floodMs = Date.now() - floodStart;
    const cpu = cpuMs(server.pids()) - cpuBefore;
    await new Promise((r) => setTimeout(r, 200));
    const udpAfter = await udpCounters(link.b.ns);
    const phoneRequests = 2 * CALLS;
    return {
      row,
      load,
      cpuMs: cpu,
      floodMs,
      sent: flooded.sent,
      restarts: flooded.restarts,
      reached: Math.max(0, udpAfter.arrivals - udpBefore.arrivals - phoneRequests),
      queueDrops: udpAfter.queueDrops - udpBefore.queueDrops,
      ...(server.bans ? { bans: server.bans() } : {}),
      ...(server.floodDrops && dropsBefore !== undefined
        ? { kernelDrops: (await server.floodDrops()) - dropsBefore }
        : {}),
    };
  } finally {
    await server.stop();
    await link.cleanup();
  }
}

const started = Date.now();
let failed = false;
try {
  await sweepStaleNamespaces();
  const tmp = mkdtempSync(join(tmpdir(), 'tollgate-bench-flood-'));
  scope.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const rounds: Outcome[][] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const dir = join(tmp, `round-${round + 1}`);
    mkdirSync(dir);
    const outcomes: Outcome[] = [];
    for (const row of rows.filter((r) => ROWS.has(r.id))) {
      const rowStart = Date.now();
      process.stderr.write(`round ${round + 1}/${ROUNDS}, running ${row.id}: ${row.name} ...`);
      outcomes.push(await measure(row, dir));
      process.stderr.write(` ${((Date.now() - rowStart) / 1000).toFixed(0)} s\n`);
    }
    rounds.push(outcomes);
  }
  for (const [i, outcomes] of rounds.entries()) {
    if (ROUNDS > 1) console.log(`\nround ${i + 1} of ${ROUNDS}`);
    report(outcomes);
  }
  if (ROUNDS > 1) summary(rounds);
} catch (err) {
  failed = true;
  console.error(err);
} finally {
  await cleanup();
  console.log(`total ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
process.exit(failed ? 1 : 0);

/** Each row's median and spread over the rounds, and the CPU ratios round by round. */
function summary(rounds: Outcome[][]): void {
  console.log(`\nmedian of ${rounds.length} rounds (min-max, ±half the range in % of the median)`);
  const ids = rounds[0]!.map((o) => o.row.id);
  const of = (id: string) => rounds.map((r) => r.find((o) => o.row.id === id)!);
  for (const id of ids) {
    const list = of(id);
    const ok = summarize(list.map((o) => (100 * o.load.successful) / CALLS));
    const cpu = summarize(list.map((o) => (100 * o.cpuMs) / o.floodMs));
    console.log(
      `  ${`${id}  ${list[0]!.row.name}`.padEnd(42)} ok ${formatSpread(ok, 1, '%')}  cpu ${formatSpread(cpu, 0, '%')}`,
    );
  }
  const perSecond = (id: string) => of(id).map((o) => o.cpuMs / o.floodMs);
  if (ids.includes('a') && ids.includes('c'))
    console.log(
      `  server CPU per second of flood, protection off / on: ${formatSpread(ratioSummary(perSecond('c'), perSecond('a')), 1, 'x')}`,
    );
  if (ids.includes('a') && ids.includes('d'))
    console.log(
      `  server CPU per second of flood, kamailio / tollgate XDP: ${formatSpread(ratioSummary(perSecond('d'), perSecond('a')), 1, 'x')}`,
    );
}

function report(outcomes: Outcome[]): void {
  const fmtK = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : `${(n / 1e3).toFixed(1)}k`);
  console.log(
    `\nLegitimate REGISTERs (digest auth, ${CALLS} at ${RATE}/s from one address) under a flood of ` +
      'SIP OPTIONS from 65,536 random sources (trafgen, full rate, one CPU)',
  );
  console.log(
    '  ok: REGISTERs that got their 200 OK; rtt: first REGISTER to 200 OK (ms, SIPp, 4 ms tick);\n' +
      '  cpu: server utime+stime while the flood ran; flood: frames sent (pps);\n' +
      "  reached: flood datagrams that reached the server's UDP socket (of which dropped at a full queue)",
  );
  console.log(
    `${'server'.padEnd(42)}${'ok'.padStart(8)}${'p50'.padStart(7)}${'p90'.padStart(7)}` +
      `${'p99'.padStart(7)}${'max'.padStart(7)}${'cpu ms'.padStart(9)}${'cpu %'.padStart(7)}` +
      `${'flood'.padStart(9)}${'pps'.padStart(8)}   reached (queue drops)`,
  );
  for (const o of outcomes) {
    const ok = (100 * o.load.successful) / CALLS;
    const r = o.load.rttMs;
    console.log(
      `${`${o.row.id}  ${o.row.name}`.padEnd(42)}${`${ok.toFixed(1)}%`.padStart(8)}` +
        `${r.p50.toFixed(0).padStart(7)}${r.p90.toFixed(0).padStart(7)}${r.p99.toFixed(0).padStart(7)}` +
        `${r.max.toFixed(0).padStart(7)}${String(o.cpuMs).padStart(9)}` +
        `${`${((100 * o.cpuMs) / o.floodMs).toFixed(0)}%`.padStart(7)}` +
        `${fmtK(o.sent).padStart(9)}${fmtK((o.sent * 1000) / o.floodMs).padStart(8)}` +
        `   ${fmtK(o.reached)} (${fmtK(o.queueDrops)})` +
        (o.kernelDrops !== undefined ? `, XDP flood drops ${fmtK(o.kernelDrops)}` : '') +
        (o.bans !== undefined ? `, pike banned ${o.bans} sources` : ''),
    );
  }
  const byId = new Map(outcomes.map((o) => [o.row.id, o]));
  const a = byId.get('a');
  const c = byId.get('c');
  const d = byId.get('d');
  if (a && c && a.cpuMs > 0)
    console.log(
      `server CPU per second of flood: protection off / on = ${(c.cpuMs / c.floodMs / (a.cpuMs / a.floodMs)).toFixed(1)}x`,
    );
  if (a && d && a.cpuMs > 0)
    console.log(
      `server CPU per second of flood: kamailio / tollgate XDP = ${(d.cpuMs / d.floodMs / (a.cpuMs / a.floodMs)).toFixed(1)}x`,
    );
  for (const o of outcomes)
    if (o.restarts > 0)
      console.log(
        `(${o.row.id}: trafgen gave up under veth backpressure ${o.restarts} times and was restarted)`,
      );
}
