// bench/media: how many concurrent 20 ms-ptime RTP streams (50 pkt/s each, 172-byte
// datagrams) a relay forwards with under 0.1% loss, and its CPU per stream: tollgate's
// kernel path (XDP rewrite + XDP_TX, programmed through the dataplane's openRelay) against
// rtpengine (Debian rtpengine-daemon, userspace forwarding: --table=-1, set up with offer and
// answer over its ng protocol), on this machine, with the same generator (rtpgen.c) and the
// same topology: a generator namespace (caller 10.250.0.2, callee 10.250.0.3) and the
// relay's namespace (10.250.0.1) joined by a veth pair.
//
//   npm run bench:media [-- --streams 500,1000,2000,4000 --seconds 5]
//
// CPU: tollgate's forwarding runs in softirq, inside the XDP program; it is read as the
// program's run_time_ns (kernel.bpf_stats_enabled=1 for the run, restored after). That
// leaves out the veth's NAPI poll and the XDP_TX transmit. rtpengine's is the CPU time of
// its threads (/proc/PID/task/*/schedstat); that leaves out the softirq receive path (IP,
// UDP, socket queue) of every packet it gets. Both leave out the same NAPI poll, and the
// part rtpengine's figure leaves out is the heavier one, so the ratio favours rtpengine.
// The machine-wide softirq time (/proc/stat) is printed beside them: it also holds the
// generator's receive path and anything else running on the machine, so it is context,
// not the comparison. Streams are one-way (a call is two).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fillChecksums } from '../../tests/dataplane/checksums.ts';
import { frame } from '../../tests/dataplane/frames.ts';
import { relayRunNamespace } from '../../tests/helpers/relay-run.ts';
import { spawnRtpengine } from '../common/rtpengine-process.ts';
import { teardownScope } from '../common/teardown.ts';

const { values: args } = parseArgs({
  options: {
    streams: { type: 'string', default: '250,500,750,1000,2000,4000,8000' },
    seconds: { type: 'string', default: '5' },
    size: { type: 'string', default: '172' },
  },
});
const STEPS = args.streams.split(',').map(Number);
const SECONDS = Number(args.seconds);
const SIZE = Number(args.size);
const LOSS_LIMIT = 0.001;

const IP = '/usr/sbin/ip';
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const RELAY_IP = '10.250.0.1';
const CALLER = { ip: '10.250.0.2', port: 30000 };
const CALLEE = { ip: '10.250.0.3', port: 40000 };
const RANGE = { min: 20000, max: 59999 };

const { scope, cleanup } = teardownScope();
const work = mkdtempSync(join(tmpdir(), 'tg-bench-media-'));
const PASS_OBJ = join(work, 'xdp-pass.bpf.o');
scope.teardown(() => rmSync(work, { recursive: true, force: true }));

function sh(argv: string[]): string {
  return execFileSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
const inNs = (ns: string, argv: string[]) => sh([IP, 'netns', 'exec', ns, ...argv]);

function buildGenerator(): string {
  const out = join(work, 'rtpgen');
  sh(['clang', '-O2', '-Wall', '-pthread', '-o', out, here('rtpgen.c')]);
  const multiarch = sh(['clang', '-print-multiarch']).trim() || 'x86_64-linux-gnu';
  sh([
    'clang',
    '-O2',
    '-g',
    '-target',
    'bpf',
    `-I/usr/include/${multiarch}`,
    '-c',
    here('xdp-pass.bpf.c'),
    '-o',
    PASS_OBJ,
  ]);
  return out;
}

interface Topology {
  gen: string;
  relay: string;
}

function topology(tag: string): Topology {
  const gen = `tgb-${process.pid}-${tag}-gen`;
  const relay = `tgb-${process.pid}-${tag}-relay`;
  scope.teardown(() => {
    for (const ns of [gen, relay]) spawnSync(IP, ['netns', 'delete', ns]);
  });
  for (const ns of [gen, relay]) {
    sh([IP, 'netns', 'add', ns]);
    sh([IP, '-n', ns, 'link', 'set', 'lo', 'up']);
  }
  sh([IP, '-n', relay, 'link', 'add', 'r0', 'type', 'veth', 'peer', 'name', 'g0', 'netns', gen]);
  sh([IP, '-n', relay, 'addr', 'add', `${RELAY_IP}/24`, 'dev', 'r0']);
  sh([IP, '-n', gen, 'addr', 'add', `${CALLER.ip}/24`, 'dev', 'g0']);
  sh([IP, '-n', gen, 'addr', 'add', `${CALLEE.ip}/24`, 'dev', 'g0']);
  sh([IP, '-n', relay, 'link', 'set', 'r0', 'up']);
  sh([IP, '-n', gen, 'link', 'set', 'g0', 'up']);
  // Transmit checksum offload off: datagrams carry full checksums, as on a wire.
  inNs(gen, ['ethtool', '-K', 'g0', 'gro', 'on', 'tx', 'off']);
  // And an XDP program on it: veth wakes its peer for XDP_TX'd frames only then (a NIC just
  // sends them). Attached in both relays' runs, so the generator side is the same.
  sh([IP, '-n', gen, 'link', 'set', 'dev', 'g0', 'xdpdrv', 'obj', PASS_OBJ, 'sec', 'xdp']);
  inNs(relay, ['sysctl', '-q', '-w', 'net.ipv4.conf.all.forwarding=1']);
  const mac = (ns: string, dev: string) =>
    (JSON.parse(sh([IP, '-n', ns, '-j', 'link', 'show', 'dev', dev])) as { address: string }[])[0]!
      .address;
  for (const a of [CALLER.ip, CALLEE.ip])
    sh([
      IP,
      '-n',
      relay,
      'neigh',
      'replace',
      a,
      'lladdr',
      mac(gen, 'g0'),
      'dev',
      'r0',
      'nud',
      'permanent',
    ]);
  sh([
    IP,
    '-n',
    gen,
    'neigh',
    'replace',
    RELAY_IP,
    'lladdr',
    mac(relay, 'r0'),
    'dev',
    'g0',
    'nud',
    'permanent',
  ]);
  return { gen, relay };
}

/** A long-running JSON-lines child (tollgate's relay). */
function lineChild(argv: string[]) {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const lines: ((line: Record<string, unknown>) => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (text) => lines.shift()?.(JSON.parse(text)));
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`child: no answer in 120 s: ${stderr}`)),
        120_000,
      );
      lines.push((l) => {
        clearTimeout(timer);
        resolve(l);
      });
    });
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  return {
    child,
    next,
    ask: (msg: object) => {
      const answer = next();
      child.stdin.write(`${JSON.stringify(msg)}\n`);
      return answer;
    },
    stop: async () => {
      child.stdin.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

interface GenResult {
  streams: number;
  sent: number;
  received: number;
  sendErrors: number;
  lossyStreams: number;
  genCpuSeconds: number;
  drainSeconds: number;
}

function runGenerator(gen: string, rtpgen: string, ports: number[]): GenResult {
  const file = join(work, 'ports.txt');
  writeFileSync(file, `${ports.join('\n')}\n`);
  const out = inNs(gen, [
    rtpgen,
    CALLER.ip,
    String(CALLER.port),
    RELAY_IP,
    file,
    CALLEE.ip,
    String(CALLEE.port),
    String(SECONDS),
    String(SIZE),
  ]);
  return JSON.parse(out) as GenResult;
}

/** Machine-wide softirq time so far, ms (/proc/stat "cpu" line, field 7, USER_HZ ticks). */
function softirqMs(): number {
  const cpuLine = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  return Number(cpuLine[7]) * 10;
}

/** CPU time of every thread of a process, ns (/proc/PID/task/TID/schedstat, first field). */
function threadsCpuNs(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // thread gone
    }
  }
  return total;
}

function progStats(relay: string): { runTimeNs: number; runCnt: number } {
  const [link] = JSON.parse(sh([IP, '-n', relay, '-j', 'link', 'show', 'dev', 'r0'])) as {
    xdp?: { prog?: { id: number } };
  }[];
  const id = link?.xdp?.prog?.id;
  if (!id) throw new Error('no XDP program on r0');
  const info = JSON.parse(sh(['bpftool', '-j', 'prog', 'show', 'id', String(id)])) as {
    run_time_ns?: number;
    run_cnt?: number;
  };
  return { runTimeNs: info.run_time_ns ?? 0, runCnt: info.run_cnt ?? 0 };
}

interface Step {
  streams: number;
  lossPct: number;
  cpuNsPerSecond: number;
  softirqMs: number;
  gen: GenResult;
  generatorLimited: boolean;
}

function summarizeStep(n: number, gen: GenResult, cpuNs: number, softMs: number): Step {
  const expected = n * 50 * SECONDS;
  const lossPct = gen.sent > 0 ? (100 * (gen.sent - gen.received)) / gen.sent : 100;
  return {
    streams: n,
    lossPct,
    cpuNsPerSecond: cpuNs / SECONDS,
    softirqMs: softMs,
    gen,
    // The generator fell behind its schedule (did not send everything, or finished late).
    generatorLimited: gen.sent < expected || gen.drainSeconds > 1.5,
  };
}

function printStep(name: string, s: Step): void {
  const perStream = s.cpuNsPerSecond / s.streams;
  console.log(
    `${name.padEnd(9)} ${String(s.streams).padStart(6)} streams  sent ${String(s.gen.sent).padStart(8)}  loss ${s.lossPct.toFixed(4).padStart(8)}%  ` +
      `relay CPU ${(s.cpuNsPerSecond / 1e7).toFixed(2).padStart(6)}% of a core  ${(perStream / 1000).toFixed(2).padStart(7)} µs/s per stream  ` +
      `softirq(machine) ${s.softirqMs} ms  generator CPU ${s.gen.genCpuSeconds.toFixed(2)} s${s.generatorLimited ? '  [generator behind schedule]' : ''}`,
  );
}

async function benchTollgate(rtpgen: string): Promise<Step[]> {
  const { gen, relay } = topology('tg');
  const relayProc = lineChild([
    IP,
    'netns',
    'exec',
    relay,
    process.execPath,
    here('tollgate-relay.ts'),
    JSON.stringify({ ifname: 'r0', range: RANGE }),
  ]);
  scope.teardown(() => relayProc.stop());
  const ready = await relayProc.next();
  if (ready.mode !== 'xdp') throw new Error(`tollgate relay attached in ${String(ready.mode)}`);
  const steps: Step[] = [];
  for (const n of STEPS) {
    const { ports } = (await relayProc.ask({
      cmd: 'open',
      n,
      relayIp: RELAY_IP,
      caller: CALLER,
      callee: CALLEE,
    })) as {
      ports: number[];
    };
    const p0 = progStats(relay);
    const s0 = softirqMs();
    const result = runGenerator(gen, rtpgen, ports);
    const p1 = progStats(relay);
    const s1 = softirqMs();
    const closed = (await relayProc.ask({ cmd: 'close' })) as {
      forwarded: number;
      kernel: Record<string, number>;
    };
    const step = summarizeStep(n, result, p1.runTimeNs - p0.runTimeNs, s1 - s0);
    printStep('tollgate', step);
    if (closed.forwarded !== result.received)
      console.log(
        `  (kernel forwarded ${closed.forwarded} of ${result.received} received: some went up)`,
      );
    steps.push(step);
    if (step.lossPct >= LOSS_LIMIT * 100 || step.gen.sent < 0.9 * n * 50 * SECONDS) break;
  }
  await relayProc.stop();
  return steps;
}

async function benchRtpengine(rtpgen: string): Promise<Step[]> {
  const { gen, relay } = topology('re');
  const rtpengine = spawnRtpengine({
    address: RELAY_IP,
    ng: `${RELAY_IP}:2223`,
    ports: RANGE,
    netns: relay,
  });
  scope.teardown(() => rtpengine.stop());
  const pid = rtpengine.pid;
  const ng = (op: 'setup' | 'delete', n: number, base: number): number[] => {
    const out = inNs(gen, [
      process.execPath,
      here('ng-calls.ts'),
      JSON.stringify({ ng: `${RELAY_IP}:2223`, op, n, base, caller: CALLER, callee: CALLEE }),
    ]);
    return (JSON.parse(out) as { ports: number[] }).ports;
  };
  // Ready when it answers a ping-less offer: retry the first setup briefly.
  for (let i = 0; ; i++) {
    try {
      ng('setup', 1, 1_000_000);
      ng('delete', 1, 1_000_000);
      break;
    } catch (err) {
      if (i > 50 || rtpengine.exited())
        throw new Error(`rtpengine did not come up: ${rtpengine.log() || (err as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const steps: Step[] = [];
  let base = 0;
  for (const n of STEPS) {
    const ports = ng('setup', n, base);
    const c0 = threadsCpuNs(pid);
    const s0 = softirqMs();
    const result = runGenerator(gen, rtpgen, ports);
    const c1 = threadsCpuNs(pid);
    const s1 = softirqMs();
    // The calls are left in place (fresh call-ids next step): idle, they carry no media and
    // cost no CPU; deleting them right after a loaded step made rtpengine 10.5 stop answering.
    base += n;
    const step = summarizeStep(n, result, c1 - c0, s1 - s0);
    printStep('rtpengine', step);
    steps.push(step);
    if (step.lossPct >= LOSS_LIMIT * 100 || step.gen.sent < 0.9 * n * 50 * SECONDS) break;
  }
  return steps;
}

/**
 * The forward path's cost per packet in the kernel (BPF_PROG_TEST_RUN, repeated). A repeated
 * run hands the program the frame it left the time before, so each leg here is a fixed
 * point: its peer, new source and new destination are chosen so the rewritten frame is the
 * frame it received (same addresses and ports; every step of the rewrite still runs).
 */
async function forwardCost(): Promise<void> {
  const x = await relayRunNamespace(scope);
  const repeat = 1_000_000;
  const fixed = (port: number, self: string, next: string) => ({
    localPort: port,
    expectedPeer: { ip: self, port },
    forwardTo: { ip: next, port },
    forwardFrom: { ip: self, port },
  });
  const legs = [
    fixed(20000, '192.0.2.1', '192.0.2.2'),
    fixed(20010, '2001:db8:1::1', '2001:db8:1::2'),
  ];
  const rtp4 = fillChecksums(
    frame({ src: '192.0.2.1', dst: '192.0.2.2', sport: 20000, dport: 20000, payload: 172 }),
  );
  const rtp6 = fillChecksums(
    frame({ src: '2001:db8:1::1', dst: '2001:db8:1::2', sport: 20010, dport: 20010, payload: 172 }),
  );
  const other = fillChecksums(
    frame({ src: '198.51.100.99', sport: 4000, dport: 20000, payload: 172 }),
  );
  const { results } = await x.run({
    range: { min: 20000, max: 20999 },
    legs,
    runs: [
      { frame: rtp4, repeat, ingress: 'out0' },
      { frame: rtp4, repeat },
      { frame: rtp6, repeat, ingress: 'out0' },
      { frame: other, repeat },
    ],
  });
  const names = [
    'IPv4 rewrite + XDP_TX',
    'IPv4 rewrite + redirect',
    'IPv6 rewrite + XDP_TX',
    'another source: drop',
  ];
  console.log(`forward path, BPF_PROG_TEST_RUN x ${repeat} (FIB lookup included):`);
  for (const [i, r] of results.entries())
    console.log(
      `  ${names[i]!.padEnd(26)} ${String(r.durationNs).padStart(4)} ns/packet (${r.verdict})`,
    );
}

function best(steps: Step[]): Step | undefined {
  return steps.filter((s) => s.lossPct < LOSS_LIMIT * 100).at(-1);
}

async function main(): Promise<void> {
  const rtpgen = buildGenerator();
  execFileSync('make', ['-s', '-C', here('../../bpf/')]);
  const statsBefore = sh(['sysctl', '-n', 'kernel.bpf_stats_enabled']).trim();
  sh(['sysctl', '-q', '-w', 'kernel.bpf_stats_enabled=1']);
  scope.teardown(() => sh(['sysctl', '-q', '-w', `kernel.bpf_stats_enabled=${statsBefore}`]));

  console.log(
    `CPU: ${cpus()[0]?.model ?? '?'} × ${cpus().length}; ${SECONDS} s per step, ${SIZE}-byte datagrams, 50 pkt/s per stream`,
  );
  await forwardCost();
  const tg = await benchTollgate(rtpgen);
  const re = await benchRtpengine(rtpgen);
  const tgBest = best(tg);
  const reBest = best(re);
  console.log('');
  console.log(`tollgate (XDP)        max streams under 0.1% loss: ${tgBest?.streams ?? 0}`);
  console.log(`rtpengine (userspace) max streams under 0.1% loss: ${reBest?.streams ?? 0}`);
  // CPU per stream compared at the largest load both relayed cleanly (the same packets).
  const common = tg.filter(
    (s) =>
      s.lossPct < LOSS_LIMIT * 100 &&
      re.some((r) => r.streams === s.streams && r.lossPct < LOSS_LIMIT * 100),
  );
  const at = common.at(-1);
  if (at !== undefined) {
    const r = re.find((x) => x.streams === at.streams)!;
    const tgPer = at.cpuNsPerSecond / at.streams;
    const rePer = r.cpuNsPerSecond / r.streams;
    console.log(
      `at ${at.streams} streams: CPU per stream tollgate ${(tgPer / 1000).toFixed(3)} µs/s, rtpengine ${(rePer / 1000).toFixed(3)} µs/s`,
    );
    console.log(
      `streams per CPU core: tollgate ${Math.round(1e9 / tgPer)}, rtpengine ${Math.round(1e9 / rePer)}; ratio ${(rePer / tgPer).toFixed(1)}× (target ≥ 5×)`,
    );
  }
  const limited =
    [...tg, ...re].some((s) => s.generatorLimited) || tgBest?.streams === reBest?.streams;
  if (limited)
    console.log(
      'the generator (one process on this shared 2-core machine) is the ceiling: stream counts are bounded by it, so CPU per stream is the comparison',
    );
}

main()
  .catch((err) => {
    console.error((err as Error).stack ?? err);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
