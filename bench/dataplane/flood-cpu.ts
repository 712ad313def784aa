// Receive-side CPU per packet of a flood from a banned source: XDP vs nftables vs no filter.
//
//   node bench/dataplane/flood-cpu.ts [--packets 2000000] [--rounds 3]
//
// Needs root, trafgen (netsniff-ng) and /usr/bin/python3. For each way of dropping, a pair of
// network namespaces joined by veth (tests/helpers/netns.ts); trafgen in side a sends a fixed
// number of identical 106-byte UDP frames (a.v4 → b.v4:5060) out of its veth; side b is:
//   none          no filter: the datagrams go up the stack to a UDP socket on 5060 that
//                 nobody reads (the queue fills, the kernel drops at the socket: the whole
//                 receive path runs, without the copy to userspace)
//   nft netdev    NftDataplane with a netdev ingress chain on veth0, source banned
//   nft inet      NftDataplane with its inet prerouting chain (priority raw), source banned
//   xdp           the XDP guard, native mode on veth0, source banned
//   xdp-generic   the same program in generic (skb) mode
// Every row checks its witness moved by the packets sent (the layer's banned counter; for
// `none`, the UDP MIB of namespace b), so a row cannot be fast by not filtering. (A backlog
// overflow may drop a few before any hook; up to 1% is tolerated and printed.)
//
// What is measured: on veth, the receive side runs in the NET_RX softirq of the CPU that
// transmitted (veth_xmit queues to the peer's backlog or, with XDP, its NAPI ring, and the
// softirq runs as soon as the sender re-enables bottom halves). trafgen pins itself to one
// CPU, so that CPU's softirq time in /proc/stat, divided by the packets, is the receive cost;
// its user+system time is the sending cost, printed beside it. The performance counters are
// not available in this VM (`perf stat -e instructions` says <not supported>), and the
// kernel samples softirq time at the tick (CONFIG_TICK_CPU_ACCOUNTING, HZ=250), so that
// column is a statistical estimate (a few hundred ticks a round; rounds are interleaved
// across rows and summed, so drift on a shared machine hits every row alike). Printed
// beside it: trafgen's own CPU time (getrusage, not sampled), which includes the receive
// softirq it runs inline. Its sending half should be the same in every row but moves with
// other load on a shared 2-core machine, so it is context, not the comparison.
//
// Reading the figures: every frame here costs one softirq run of its own (trafgen sends one
// at a time), and that fixed cost plus veth's skb handling is most of each row; the filters
// differ by the tens of nanoseconds on top. The XDP program's own share is what
// prog-cost.ts measures (~16 ns on the banned path).
//
// Caveat, as DESIGN.md says: veth builds an skb before any hook, and native XDP on veth
// copies frames that lack XDP headroom (all of trafgen's) into a page first. On a NIC, XDP
// runs before the skb exists; the ratios here understate what it saves there.
import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { NftDataplane } from '../../src/dataplane/nft.ts';
import { buildBpfObject } from '../../tests/dataplane/helpers.ts';
import { createLink, exec, type Link, sweepStaleNamespaces } from '../../tests/helpers/netns.ts';
import { startXdpHost, type XdpHost } from '../../tests/helpers/xdp-host.ts';
import { formatSpread, ratioSummary, summarize } from '../common/rounds.ts';
import { teardownScope } from '../common/teardown.ts';

const run = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    packets: { type: 'string', default: '2000000' },
    rounds: { type: 'string', default: '3' },
  },
});
const PACKETS = Number(args.packets);
const ROUNDS = Number(args.rounds);
const SIP = 5060;
/** /proc/stat counts in USER_HZ (100/s on Linux): 10 ms per unit. */
const NS_PER_STAT_UNIT = 10_000_000;

type RowName = 'none' | 'nft netdev' | 'nft inet' | 'xdp' | 'xdp-generic';

interface Row {
  name: RowName;
  link: Link;
  /** The drop (or delivery) count that must move by the packets sent. */
  witness(): Promise<number>;
  rxNs: number;
  txNs: number;
  /** trafgen's own CPU time (getrusage), the inline receive softirq included. */
  totalNs: number;
  packets: number;
  /** Sent but never seen by the witness (backlog overflow). */
  lost: number;
  /** rx ns/packet of each counted round, for the median and spread. */
  rxRounds: number[];
}

const { scope, cleanup } = teardownScope();

async function macOf(ns: string): Promise<string> {
  const { stdout } = await exec(ns, ['/usr/sbin/ip', '-j', 'link', 'show', 'dev', 'veth0']);
  return (JSON.parse(stdout) as { address: string }[])[0]!.address;
}

/** A UDP socket bound to b:5060 that never reads (python: Node's dgram always reads). */
async function idleSocket(link: Link): Promise<void> {
  const script =
    'import socket,sys\n' +
    `s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(("${link.b.v4}",${SIP}))\n` +
    'print("ready",flush=True);sys.stdin.read()\n';
  const child = spawn('/usr/sbin/ip', [
    'netns',
    'exec',
    link.b.ns,
    '/usr/bin/python3',
    '-c',
    script,
  ]);
  scope.teardown(() => {
    child.stdin.end();
    child.kill();
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('close', (code) => reject(new Error(`idle socket exited (${code})`)));
  });
}

/** Datagrams that reached UDP in ns: delivered + dropped at a full socket queue. */
async function udpArrivals(ns: string): Promise<number> {
  const { stdout } = await exec(ns, ['/bin/cat', '/proc/net/snmp']);
  const lines = stdout.split('\n').filter((l) => l.startsWith('Udp: '));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/).map(Number);
  const field = (n: string) => values[names.indexOf(n)] ?? 0;
  return field('InDatagrams') + field('RcvbufErrors');
}

async function makeRow(name: RowName): Promise<Row> {
  const link = await createLink(scope);
  const row: Row = {
    name,
    link,
    witness: async () => 0,
    rxNs: 0,
    txNs: 0,
    totalNs: 0,
    packets: 0,
    lost: 0,
    rxRounds: [],
  };
  if (name === 'none') {
    await idleSocket(link);
    row.witness = () => udpArrivals(link.b.ns);
  } else if (name.startsWith('nft')) {
    const dp = new NftDataplane({ netns: link.b.ns });
    await dp.init({ interfaces: name === 'nft netdev' ? ['veth0'] : [], maxConnPerSource: 64 });
    scope.teardown(() => dp.close());
    await dp.ban(link.a.v4, 0, 'bench flood');
    row.witness = async () => (await dp.stats()).drops.banned;
  } else {
    const host: XdpHost = await startXdpHost(scope, link.b.ns, {
      attachMode: name === 'xdp' ? 'native' : 'generic',
    });
    await host.ban(link.a.v4, 0, 'bench flood');
    row.witness = async () => (await host.counters()).banned;
  }
  return row;
}

function cpuTimes(cpu: number): { busy: number; softirq: number } {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${cpu} `));
  if (line === undefined) throw new Error(`no cpu${cpu} in /proc/stat`);
  // user nice system idle iowait irq softirq steal ...
  const [user, nice, system, , , irq, softirq] = line.trim().split(/\s+/).slice(1).map(Number);
  return { busy: user! + nice! + system! + irq!, softirq: softirq! };
}

/** trafgen config: one fixed frame from a.v4 to b.v4:5060, 64 bytes of payload. */
async function trafgenConfig(row: Row): Promise<string> {
  const path = join(tmpdir(), `tg-flood-${process.pid}-${row.link.a.ns}.cfg`);
  writeFileSync(
    path,
    `{ eth(da=${await macOf(row.link.b.ns)}, sa=${await macOf(row.link.a.ns)}, type=0x0800), ` +
      `ipv4(saddr=${row.link.a.v4}, daddr=${row.link.b.v4}, proto=17, ttl=64), ` +
      `udp(sport=40000, dport=${SIP}), fill('A', 64) }\n`,
  );
  scope.teardown(() => run('/bin/rm', ['-f', path]));
  return path;
}

async function flood(row: Row, config: string): Promise<void> {
  const before = await row.witness();
  // trafgen pins its one worker itself and says where: "... usec on CPU0 (N packets)".
  // Which CPU is only known afterwards, so both CPUs are sampled around the run.
  const cpus = [0, 1].map(cpuTimes);
  const { stdout, stderr } = await run(
    '/usr/sbin/ip',
    [
      'netns',
      'exec',
      row.link.a.ns,
      '/usr/sbin/trafgen',
      '--dev',
      'veth0',
      '--conf',
      config,
      '--num',
      String(PACKETS),
      '--cpus',
      '1',
      '--no-sock-mem',
      '--notouch-irq',
      // Through dev_queue_xmit, not straight to the driver: veth pushes back (NETDEV_TX_BUSY)
      // when the peer's XDP ring is full, which the direct path turns into EAGAIN and aborts
      // trafgen; on the queue path veth (noqueue) drops instead, and the witness shows it.
      '--qdisc-path',
    ],
    { timeout: 60_000 },
  );
  const after = [0, 1].map(cpuTimes);
  const match = /(\d+) sec, (\d+) usec on CPU(\d+) \((\d+) packets\)/.exec(stdout + stderr);
  if (match === null) throw new Error(`trafgen output not understood: ${stdout}${stderr}`);
  const cpuNs = (Number(match[1]) * 1e6 + Number(match[2])) * 1000;
  const cpu = Number(match[3]);
  const sent = Number(match[4]);
  // Anything still queued is handled within milliseconds; wait until the witness settles.
  let moved = (await row.witness()) - before;
  for (let i = 0; i < 20 && moved < sent; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    moved = (await row.witness()) - before;
  }
  // A backlog that overflows drops before any filter (counted by the kernel, not by us):
  // allowed up to 1%, reported, and the cost is still divided over every packet sent.
  if (sent !== PACKETS || moved > sent || moved < sent * 0.99)
    throw new Error(`${row.name}: sent ${sent}, witness moved ${moved}, wanted ${PACKETS}`);
  row.lost += sent - moved;
  const rxNs = (after[cpu]!.softirq - cpus[cpu]!.softirq) * NS_PER_STAT_UNIT;
  row.rxRounds.push(rxNs / PACKETS);
  row.rxNs += rxNs;
  row.txNs += (after[cpu]!.busy - cpus[cpu]!.busy) * NS_PER_STAT_UNIT;
  row.totalNs += cpuNs;
  row.packets += PACKETS;
}

const started = Date.now();
try {
  buildBpfObject();
  await sweepStaleNamespaces();
  const names: RowName[] = ['none', 'nft netdev', 'nft inet', 'xdp', 'xdp-generic'];
  const rows: Row[] = [];
  for (const name of names) rows.push(await makeRow(name));
  const configs = new Map<Row, string>();
  for (const row of rows) configs.set(row, await trafgenConfig(row));
  for (const row of rows) await flood(row, configs.get(row)!); // warm-up, not counted
  for (const row of rows)
    Object.assign(row, { rxNs: 0, txNs: 0, totalNs: 0, packets: 0, lost: 0, rxRounds: [] });
  for (let round = 0; round < ROUNDS; round++) {
    for (const row of round % 2 === 0 ? rows : [...rows].reverse())
      await flood(row, configs.get(row)!);
  }

  const per = (row: Row) => ({
    rx: row.rxNs / row.packets,
    tx: row.txNs / row.packets,
    total: row.totalNs / row.packets,
  });
  const xdp = per(rows.find((r) => r.name === 'xdp')!);
  console.log(
    `Receive-side CPU of a flood from a banned source over veth: ${ROUNDS} x ` +
      `${PACKETS.toLocaleString('en')} UDP frames per row (trafgen, one CPU)`,
  );
  console.log(
    '  rx: NET_RX softirq time of the sending CPU (/proc/stat, tick-sampled at 250 Hz)\n' +
      "  send+rx: trafgen's own CPU time (getrusage), the inline receive softirq included",
  );
  console.log(
    '  rx per round: median (min-max, ±half the range in % of the median) of the rounds;\n' +
      '  the other columns are totals over the rounds',
  );
  console.log(
    'drop point                 rx ns/pkt  rx vs xdp  send+rx ns/pkt  (send ns/pkt)  rx per round',
  );
  for (const row of rows) {
    const p = per(row);
    const lost = row.lost > 0 ? `  ${row.lost} lost in the backlog` : '';
    console.log(
      `${row.name.padEnd(24)}${p.rx.toFixed(0).padStart(12)}${`${(p.rx / xdp.rx).toFixed(2)}x`.padStart(11)}` +
        `${p.total.toFixed(0).padStart(16)}` +
        `  (${p.tx.toFixed(0)})`.padEnd(15) +
        `  ${formatSpread(summarize(row.rxRounds))}${lost}`,
    );
  }
  // Ratios round by round (rows are interleaved within a round, so each round compares like
  // with like); their median and spread say how far one run's ratio can be trusted.
  const xdpRow = rows.find((r) => r.name === 'xdp')!;
  const ratio = (name: RowName) =>
    formatSpread(ratioSummary(rows.find((r) => r.name === name)!.rxRounds, xdpRow.rxRounds), 2);
  console.log(
    `rx ratios per round: none/xdp ${ratio('none')}\n` +
      `                     nft netdev/xdp ${ratio('nft netdev')}\n` +
      `                     nft inet/xdp ${ratio('nft inet')}`,
  );
} finally {
  await cleanup();
  console.log(`total ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
