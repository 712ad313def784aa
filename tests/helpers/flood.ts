// A UDP flood from thousands of random source addresses, sent with trafgen (netsniff-ng) out
// of one end of a tests/helpers/netns.ts link at the generator's full rate:
//
//   const flood = await startFlood(link, { dport: 5060, payload: sipOptionsPayload(link.b.v4) });
//   ...                                   // legitimate traffic runs meanwhile
//   const { sent } = await flood.stop();  // SIGINT; frames sent, from the veth's counter
//
// Every frame gets a fresh random source address in `sourceNet` (a /16: 65,536 sources, so
// each sends only a few packets a second even at a million packets a second, far under any
// per-source budget) and a random source port; the IPv4 and UDP checksums are recomputed by
// trafgen for each frame. The sources lie outside the link's /24, so they never collide with
// the client's fixed address; the receiver gets a route for them back over the veth
// (addReturnRoute), so replies leave through a normal send instead of failing with
// ENETUNREACH (side a, not forwarding, drops them).
//
// trafgen goes through the qdisc path (--qdisc-path), as in bench/dataplane/flood-cpu.ts:
// veth pushes back when the peer's XDP ring is full, which the direct path turns into an
// error that aborts trafgen; on the queue path the frame is dropped instead (and the client's
// requests on the same veth can be dropped too, as on a NIC whose ring is full: SIPp then
// retransmits, RFC 3261 §17.1.2.1).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { exec, type Link } from './netns.ts';

const run = promisify(execFile);
const IP = '/usr/sbin/ip';

export interface FloodOptions {
  dport: number;
  /** The UDP payload of every frame. */
  payload: Buffer;
  /**
   * The first two octets of the random sources' /16 (default '198.18', from the RFC 2544
   * benchmarking network: not private, so no trustlanip rule treats the flood as LAN).
   */
  sourcePrefix?: string;
  /** Upper bound on frames sent (trafgen --num); the flood normally ends with stop(). */
  maxPackets?: number;
  /** CPUs trafgen may use (default 1: the other core is left to the receiver). */
  cpus?: number;
  /**
   * One fixed source address instead of random ones: a single flooder, which the per-source
   * budget catches and the guard bans (sourcePrefix is then unused).
   */
  source?: string;
  /** Microseconds between frames (trafgen --gap; default 0, as fast as it can). */
  gapUs?: number;
}

export interface Flood {
  /** The random sources' network, e.g. '198.18.0.0/16'. */
  sourceNet: string;
  /** Stops trafgen (SIGINT) and resolves with how many frames crossed the veth. */
  stop(): Promise<FloodResult>;
}

export interface FloodResult {
  /** Frames side a's veth sent meanwhile (the kernel's count; other traffic on it included). */
  sent: number;
  /** How often trafgen gave up under backpressure and was started again. */
  restarts: number;
  /** The last trafgen run's output. */
  output: string;
}

/** A valid-looking SIP OPTIONS request (RFC 3261 §11), as scanners and floods send them. */
export function sipOptionsPayload(target: string, port = 5060): Buffer {
  const text = [
    `OPTIONS sip:100@${target}:${port} SIP/2.0`,
    'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-flood-1;rport',
    'Max-Forwards: 70',
    `To: <sip:100@${target}>`,
    'From: <sip:flood@192.0.2.10>;tag=flood1',
    'Call-ID: flood-1@192.0.2.10',
    'CSeq: 1 OPTIONS',
    'Contact: <sip:flood@192.0.2.10:5060>',
    'Accept: application/sdp',
    'User-Agent: load-generator',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  return Buffer.from(text, 'latin1');
}

async function macOf(ns: string, ifname: string): Promise<string> {
  const { stdout } = await exec(ns, [IP, '-j', 'link', 'show', 'dev', ifname]);
  return (JSON.parse(stdout) as { address: string }[])[0]!.address;
}

/** The trafgen packet description: one frame, random source address and port. */
export async function trafgenConfig(link: Link, o: FloodOptions): Promise<string> {
  const prefix = o.sourcePrefix ?? '198.18';
  const payload = [...o.payload].map((b) => `0x${b.toString(16).padStart(2, '0')}`);
  const lines: string[] = [];
  for (let i = 0; i < payload.length; i += 16)
    lines.push(`  ${payload.slice(i, i + 16).join(', ')}`);
  return (
    '{\n' +
    `  eth(da=${await macOf(link.b.ns, link.b.ifname)}, sa=${await macOf(link.a.ns, link.a.ifname)}, type=0x0800),\n` +
    // saddr[2:2]: the last two octets random per frame (trafgen recomputes the checksums).
    (o.source
      ? `  ipv4(saddr=${o.source}, daddr=${link.b.v4}, proto=17, ttl=64),\n`
      : `  ipv4(saddr=${prefix}.0.0, saddr[2:2]=drnd(), daddr=${link.b.v4}, proto=17, ttl=64),\n`) +
    `  udp(sport=drnd(1024, 65535), dport=${o.dport}),\n` +
    `${lines.join(',\n')}\n` +
    '}\n'
  );
}

/** A route on side b for the random sources back over the veth, so replies can be sent. */
export async function addReturnRoute(link: Link, sourceNet: string): Promise<void> {
  await run(IP, ['-n', link.b.ns, 'route', 'replace', sourceNet, 'via', link.a.v4]);
}

/** Frames the veth has sent (its kernel counter): what crossed to the other side. */
export async function txPackets(ns: string, ifname: string): Promise<number> {
  const { stdout } = await exec(ns, [IP, '-j', '-s', 'link', 'show', 'dev', ifname]);
  return (JSON.parse(stdout) as { stats64: { tx: { packets: number } } }[])[0]!.stats64.tx.packets;
}

function spawnTrafgen(link: Link, config: string, o: FloodOptions): ChildProcess {
  return spawn(
    IP,
    [
      'netns',
      'exec',
      link.a.ns,
      '/usr/sbin/trafgen',
      '--dev',
      link.a.ifname,
      '--conf',
      config,
      '--num',
      String(o.maxPackets ?? 200_000_000),
      '--cpus',
      String(o.cpus ?? 1),
      '--no-sock-mem',
      '--notouch-irq',
      '--qdisc-path',
      // sendto() per frame with no gap instead of the TX_RING: as fast here (~1M frames/s),
      // and trafgen skips a frame the veth refuses instead of giving up (see startFlood).
      '--gap',
      String(o.gapUs ?? 0),
    ],
    // Its own process group: trafgen forks its workers, and a worker can outlive the parent.
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
}

/** Signals trafgen's whole process group (the parent and its forked workers). */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Starts the flood; resolves once trafgen is sending. On its TX_RING path trafgen gives up
 * ("Flushing TX_RING failed") when the receiving veth pushes back (its XDP ring full, e.g.
 * while its softirq waits for ksoftirqd on a busy CPU); with --gap 0 it sends frame by frame
 * and skips refused frames instead. Should it still exit, it is started again until stop(),
 * as a real attacker would not stop. Frames sent are read from the veth's own counter, which
 * covers every run, not from trafgen's summary.
 */
export async function startFlood(link: Link, o: FloodOptions): Promise<Flood> {
  const prefix = o.sourcePrefix ?? '198.18';
  const sourceNet = o.source ? `${o.source}/32` : `${prefix}.0.0/16`;
  await addReturnRoute(link, sourceNet);
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-flood-'));
  const config = join(dir, 'flood.cfg');
  writeFileSync(config, await trafgenConfig(link, o));
  const txBefore = await txPackets(link.a.ns, link.a.ifname);

  let stopping = false;
  let restarts = 0;
  let output = '';
  let child: ChildProcess;
  let exited: Promise<void>;
  const launch = () => {
    output = '';
    child = spawnTrafgen(link, config, o);
    child.stdout!.on('data', (c) => (output += c));
    child.stderr!.on('data', (c) => (output += c));
    const self = child;
    exited = new Promise<void>((resolve) =>
      self.once('exit', () => {
        // A worker left behind would keep sending (and hold the pipes open): end the group.
        signalGroup(self, 'SIGKILL');
        resolve();
        // Backpressure made it give up: go again after a breath, unless stopped or broken.
        if (!stopping && output.includes('Running!') && restarts < 1000) {
          restarts++;
          setTimeout(() => {
            if (!stopping) launch();
          }, 5);
        }
      }),
    );
  };
  launch();
  // trafgen says "Running!" once its packet ring is set up and sending.
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (output.includes('Running!') || restarts > 0) {
        clearInterval(timer);
        resolve();
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        rmSync(dir, { recursive: true, force: true });
        reject(new Error(`trafgen exited with ${child.exitCode}: ${output}`));
      }
    }, 20);
  });
  let stopped: Promise<FloodResult> | undefined;
  return {
    sourceNet,
    stop: () => {
      stopped ??= (async () => {
        stopping = true;
        if (child.exitCode === null && child.signalCode === null) signalGroup(child, 'SIGINT');
        const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
        rmSync(dir, { recursive: true, force: true });
        const sent = (await txPackets(link.a.ns, link.a.ifname)) - txBefore;
        return { sent, restarts, output };
      })();
      return stopped;
    },
  };
}
