// Slowloris against tollgate's TCP/TLS listeners: thousands of idle and slow connections
// from hundreds of addresses, and legitimate phones registering through them, with the
// connection protections on (the defaults) and off, side by side in one run.
//
//   node bench/exhaustion/index.ts [--addresses 200] [--per-source 21] [--registrations 200]
//                                  [--concurrency 10] [--timeout 5] [--runs on,off]
//                                  [--holder-processes 4]
//
// Needs root (namespaces). Each run gets a fresh pair of network namespaces joined by veth
// (tests/helpers/netns.ts): the daemon in side b (5060 TCP, 5061 TLS, dataplanemode off, so
// what is measured is the SIP transports alone), and in side a
//   - the holders (tests/helpers/connection-load.ts, hold mode): `addresses` source
//     addresses, each in its own /24 (172.16.0.0/12, so the per-/24 cap does not stop them
//     and eviction has to), each opening `per-source` connections: a third idle TCP, a third
//     TCP sending a REGISTER one octet a second, the rest TLS, idle after the handshake or
//     never starting it. Every connection the server closes is opened again a second later.
//     The addresses are spread over `holder-processes` processes (4).
//     200 × 21 = 4,200 is the attack of issue 16: under the per-address cap of 32, over the
//     total of 4,096.
//   - the phones, once the holders have made as many connections as the cap: `registrations`
//     REGISTERs over TCP and as many over TLS at the same time, `concurrency` of each in
//     flight, each over a new connection from one of 20 addresses, with digest
//     authentication (401, then the answer), each connection kept open afterwards as a phone
//     keeps it. A registration counts as a success when its 200 comes within `timeout`
//     seconds; its time runs from connect() to the 200.
// The runs:
//   on   the defaults: sipfirstmsgtimeout 10 s, sipmsgtimeout 10 s, siptlshandshaketimeout
//        10 s, maxtcpconnpersubnet 256, evicttcpconn on.
//   off  those switched off (0 / off): what tollgate did before issue 16 (idle connections
//        closed after 120 s of silence, a full table refuses newcomers).
// Printed per run: the phones' success rate and p50/p99 registration time over TCP and TLS,
// and what the daemon logged: evictions, deadline closes and refusals (the `count` of the
// newest log line of each; lines are rate-limited, so the counts are lower bounds).
//
// Everything started here (daemon, load processes, namespaces, temporary directory) is
// removed at the end, on failure and on Ctrl-C.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { ExecutionContext } from 'ava';
import {
  type HoldKind,
  type HoldStatus,
  type RegisterResult,
  startConnectionLoad,
} from '../../tests/helpers/connection-load.ts';
import { type RunningDaemon, startDaemon, testConfig } from '../../tests/helpers/daemon.ts';
import { createLink, exec, type Link } from '../../tests/helpers/netns.ts';
import { cpuMs } from '../common/proc.ts';
import { teardownScope } from '../common/teardown.ts';

const { values: args } = parseArgs({
  options: {
    addresses: { type: 'string', default: '200' },
    'per-source': { type: 'string', default: '21' },
    registrations: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '10' },
    timeout: { type: 'string', default: '5' },
    runs: { type: 'string', default: 'on,off' },
    'holder-processes': { type: 'string', default: '4' },
  },
});
const ADDRESSES = Number(args.addresses);
const PER_SOURCE = Number(args['per-source']);
const REGISTRATIONS = Number(args.registrations);
const CONCURRENCY = Number(args.concurrency);
const TIMEOUT_MS = Number(args.timeout) * 1000;
const RUNS = args.runs.split(',');
const HOLDER_PROCESSES = Number(args['holder-processes']);
const TCP_PORT = 5060;
const TLS_PORT = 5061;
const CAP = 4096;
const REALM = 'tollgate';
const USER = 'bench';
const PHONES = 20;
const PASSWORD = 'Slow-loris-4711';
const RUN_BOUND_MS = 15 * 60_000;

const { scope, cleanup } = teardownScope({ runBoundMs: RUN_BOUND_MS });

const PROTECTIONS_OFF = {
  sipfirstmsgtimeout: 0,
  sipmsgtimeout: 0,
  siptlshandshaketimeout: 0,
  maxtcpconnpersubnet: 0,
  evicttcpconn: 0,
};

/** The per-source mix: a third idle TCP, a third slow TCP, the rest TLS (idle, no handshake). */
function kinds(perSource: number): HoldKind[] {
  const third = Math.floor(perSource / 3);
  const tls = perSource - 2 * third;
  const noHandshake = Math.floor(tls / 2);
  return [
    { transport: 'tcp', behaviour: 'idle', perSource: third },
    { transport: 'tcp', behaviour: 'slow', perSource: third },
    { transport: 'tls', behaviour: 'idle', perSource: tls - noHandshake },
    { transport: 'tls', behaviour: 'nohandshake', perSource: noHandshake },
  ].filter((k) => k.perSource > 0) as HoldKind[];
}

/** Attacker i's address: its own /24 in 172.16.0.0/12. */
function attackerAddress(i: number): string {
  return `172.${16 + (i >> 8)}.${i & 255}.1`;
}

interface Summary {
  ok: number;
  total: number;
  p50: number | undefined;
  p99: number | undefined;
  firstError: string | undefined;
}

function summarize(results: RegisterResult[]): Summary {
  const ok = results.filter((r) => r.ok);
  const times = ok.map((r) => r.ms).sort((a, b) => a - b);
  const pct = (p: number) =>
    times.length === 0
      ? undefined
      : times[Math.min(times.length - 1, Math.ceil(p * times.length) - 1)];
  const failed = results.find((r) => !r.ok);
  return {
    ok: ok.length,
    total: results.length,
    p50: pct(0.5),
    p99: pct(0.99),
    firstError: failed?.error ?? (failed?.status ? `status ${failed.status}` : undefined),
  };
}

/** The newest `count` the daemon logged for each connection limit. */
function loggedCounts(d: RunningDaemon): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of d.log().split('\n')) {
    if (!line.startsWith('{') || !line.includes('"limit"')) continue;
    const l = JSON.parse(line) as { limit?: string; count?: number };
    if (l.limit && typeof l.count === 'number')
      counts[l.limit] = Math.max(counts[l.limit] ?? 0, l.count);
  }
  return counts;
}

interface Outcome {
  run: string;
  tcp: Summary;
  tls: Summary;
  held: number;
  counts: Record<string, number>;
  holderCloses: Record<string, number>;
  /** The daemon's CPU while the phones ran, in cores (utime + stime over wall time). */
  daemonCpu: number;
  /** The machine's 1-minute load average when the phones started. */
  load: number;
  sockets: { established: number; acceptQueue: number };
}

/** The daemon side's SIP TCP sockets, from the kernel: established, and not yet accepted. */
async function serverSockets(link: Link): Promise<{ established: number; acceptQueue: number }> {
  const sport = `( sport = :${TCP_PORT} or sport = :${TLS_PORT} )`;
  const est = await exec(link.b.ns, ['/usr/bin/ss', '-Htn', 'state', 'established', sport]);
  const listening = await exec(link.b.ns, ['/usr/bin/ss', '-Hltn', sport]);
  // For a listening socket Recv-Q is the accept queue: connections the daemon has not taken.
  const acceptQueue = listening.stdout
    .split('\n')
    .filter(Boolean)
    .reduce((n, l) => n + Number(l.trim().split(/\s+/)[1] ?? 0), 0);
  return { established: est.stdout.split('\n').filter(Boolean).length, acceptQueue };
}

async function measure(run: string, tmp: string): Promise<Outcome> {
  const link: Link = await createLink(scope);
  const dataDir = join(tmp, run);
  mkdirSync(dataDir);
  const configFile = await testConfig(dataDir, {
    sipaddress: link.b.v4,
    sipport: TCP_PORT,
    sipsport: TLS_PORT,
    realm: REALM,
    ...(run === 'off' ? PROTECTIONS_OFF : {}),
  });
  const d = await startDaemon(scope as unknown as ExecutionContext, {
    dataDir,
    configFile,
    netns: link.b.ns,
  });
  scope.teardown(() => Promise.race([d.stop(), new Promise((r) => setTimeout(r, 5000))]));
  // One account per phone (an account keeps at most 16 bindings).
  const users = Array.from({ length: PHONES }, (_, i) => `${USER}${i}`);
  for (const u of users) {
    const added = await d.ctl('users', 'add', u, '--password', PASSWORD);
    if (added.code !== 0) throw new Error(`tollgatectl users add: ${added.stderr}`);
  }

  // The attackers' addresses, each in its own /24, routed to side a.
  await exec(link.b.ns, ['/usr/sbin/ip', 'route', 'add', '172.16.0.0/12', 'dev', link.b.ifname]);
  const attackers = Array.from({ length: ADDRESSES }, (_, i) => attackerAddress(i));
  const batch = attackers.map((a) => `addr add ${a}/32 dev ${link.a.ifname}`).join('\n');
  await exec(link.a.ns, ['/bin/sh', '-c', `printf '%s\\n' "$0" | /usr/sbin/ip -batch -`, batch]);
  const phones = Array.from({ length: PHONES }, (_, i) => link.hostV4(10 + i));
  for (const p of phones) await link.addAddress(link.a, p);

  // The attackers' addresses split over several processes, as an attacker spreads over hosts.
  const holders = Array.from({ length: HOLDER_PROCESSES }, (_, p) =>
    startConnectionLoad(
      link.a.ns,
      {
        mode: 'hold',
        target: link.b.v4,
        tcpPort: TCP_PORT,
        tlsPort: TLS_PORT,
        sources: attackers.filter((_, i) => i % HOLDER_PROCESSES === p),
        kinds: kinds(PER_SOURCE),
        slowIntervalMs: 1000,
        reconnectMs: 1000,
        rampMs: 15_000,
      },
      scope,
    ),
  );
  const sum = (f: (s: HoldStatus) => number) =>
    holders.reduce((n, h) => n + (h.last() === undefined ? 0 : f(h.last()!)), 0);
  const want = Math.min(CAP, ADDRESSES * PER_SOURCE);
  for (const h of holders)
    await h.until(() => sum((s) => s.connects) >= want, `${want} connections made`, 120_000);
  // What counts is what the daemon holds: a connect the client saw may still wait in the
  // kernel (or have been dropped from a full accept queue). Wait for the server's side.
  for (let waited = 0; waited < 60_000; waited += 500) {
    if ((await serverSockets(link)).established >= 0.97 * want) break;
    await new Promise((r) => setTimeout(r, 500));
  }

  const register = (transport: 'tcp' | 'tls') =>
    startConnectionLoad(
      link.a.ns,
      {
        mode: 'register',
        target: link.b.v4,
        port: transport === 'tcp' ? TCP_PORT : TLS_PORT,
        transport,
        from: phones,
        user: USER,
        users,
        contactPort: transport === 'tcp' ? 5060 : 5061,
        password: PASSWORD,
        domain: REALM,
        count: REGISTRATIONS,
        concurrency: CONCURRENCY,
        timeoutMs: TIMEOUT_MS,
        // A phone keeps the connection it registered over (RFC 5626 flows, NAT): a slot
        // won is kept, as in the field, instead of being handed to the next registration.
        keepOpen: true,
      },
      scope,
    );
  const pid = d.process.pid!;
  const cpuBefore = cpuMs([pid]);
  const startedAt = performance.now();
  const load = loadavg()[0]!;
  const tcp = register('tcp');
  const tls = register('tls');
  const bound = REGISTRATIONS * TIMEOUT_MS;
  const [tcpResults, tlsResults] = await Promise.all([
    tcp.resultsDone(REGISTRATIONS, bound),
    tls.resultsDone(REGISTRATIONS, bound),
  ]);
  const daemonCpu = (cpuMs([pid]) - cpuBefore) / (performance.now() - startedAt);
  const held = sum((s) => s.open);
  const sockets = await serverSockets(link);
  const holderCloses: Record<string, number> = {};
  for (const h of holders) {
    for (const [k, v] of Object.entries(h.last()?.closed ?? {}))
      holderCloses[k] = (holderCloses[k] ?? 0) + v;
  }
  await Promise.all([tcp.stop(), tls.stop(), ...holders.map((h) => h.stop())]);
  return {
    run,
    tcp: summarize(tcpResults),
    tls: summarize(tlsResults),
    held,
    counts: loggedCounts(d),
    holderCloses,
    daemonCpu,
    load,
    sockets,
  };
}

function ms(v: number | undefined): string {
  return v === undefined ? '-' : `${v.toFixed(0)} ms`;
}

function line(name: string, s: Summary): string {
  const rate = ((100 * s.ok) / Math.max(1, s.total)).toFixed(1);
  return (
    `    ${name}  ${String(s.ok).padStart(4)}/${s.total} ok (${rate.padStart(5)}%)` +
    `  p50 ${ms(s.p50).padStart(7)}  p99 ${ms(s.p99).padStart(7)}` +
    (s.firstError ? `  first failure: ${s.firstError}` : '')
  );
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'tollgate-bench-exhaustion-'));
  scope.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const mix = kinds(PER_SOURCE)
    .map((k) => `${k.perSource} ${k.transport.toUpperCase()} ${k.behaviour}`)
    .join(', ');
  console.log(
    `exhaustion: ${ADDRESSES * PER_SOURCE} connections held from ${ADDRESSES} addresses ` +
      `(each its own /24; ${PER_SOURCE} each: ${mix}; slow = one octet a second; reopened 1 s ` +
      `after a close), cap ${CAP}; phones: ${REGISTRATIONS} TCP + ${REGISTRATIONS} TLS ` +
      `REGISTERs with digest, ${CONCURRENCY} of each in flight, new connection each, ` +
      `${TIMEOUT_MS / 1000} s to get the 200`,
  );
  for (const run of RUNS) {
    const o = await measure(run, tmp);
    console.log(`protections ${run}${run === 'on' ? ' (defaults)' : ''}`);
    console.log(line('TCP', o.tcp));
    console.log(line('TLS', o.tls));
    const c = o.counts;
    console.log(
      `    daemon logged: evicted ${c.evicted ?? 0}, closed by deadline: first message ` +
        `${c.first_message_timeout ?? 0}, message ${c.message_timeout ?? 0}, TLS handshake ` +
        `${c.tls_handshake ?? 0}; refused: total ${c.connections ?? 0}, per address ` +
        `${c.connections_per_ip ?? 0}, per /24 ${c.connections_per_subnet ?? 0} (lower bounds)`,
    );
    console.log(
      `    holders connected at the end: ${o.held}; closed by the server: ${JSON.stringify(o.holderCloses)}`,
    );
    console.log(
      `    daemon side at the end: ${o.sockets.established} established, ` +
        `${o.sockets.acceptQueue} waiting in the accept queue`,
    );
    console.log(
      `    daemon CPU while the phones ran: ${(100 * o.daemonCpu).toFixed(0)}% of a core; ` +
        `machine load average ${o.load.toFixed(1)} (2 cores, shared)`,
    );
  }
}

let code = 0;
try {
  await main();
} catch (err) {
  console.error(`bench failed: ${(err as Error).stack ?? err}`);
  code = 1;
} finally {
  await cleanup();
}
process.exit(code);
