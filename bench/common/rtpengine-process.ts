// Runs Debian's rtpengine (userspace forwarding, --table=-1: no kernel module) in the
// foreground for a benchmark that owns it, on one address with its own port range, and a
// stop() that leaves nothing behind. bench/calls puts it behind kamailio (kamailio's
// rtpengine module talks to it over the ng protocol) so that kamailio relays the calls'
// media as tollgate does; bench/media drives it directly.
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { cpus } from 'node:os';

export interface RtpengineSpawn {
  /** The address it relays media on (--interface). */
  address: string;
  /** Where it listens for ng commands, `ADDRESS:PORT`. */
  ng: string;
  ports: { min: number; max: number };
  /** Run inside this network namespace (`ip netns exec` execs rtpengine). */
  netns?: string;
}

export interface RtpengineProcess {
  pid: number;
  /** What rtpengine has written to stderr (its log, the last 20,000 characters). */
  log(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

export function spawnRtpengine(o: RtpengineSpawn): RtpengineProcess {
  const argv = [
    'rtpengine',
    ...['--foreground', '--log-stderr', '--log-level=4', '--config-file=none'],
    `--interface=${o.address}`,
    `--listen-ng=${o.ng}`,
    '--table=-1',
    `--port-min=${o.ports.min}`,
    `--port-max=${o.ports.max}`,
    `--num-threads=${Math.max(2, cpus().length)}`,
  ];
  const [command, ...args] = o.netns ? ['/usr/sbin/ip', 'netns', 'exec', o.netns, ...argv] : argv;
  const child: ChildProcess = spawn(command!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (child.pid === undefined) throw new Error('rtpengine did not start (is it installed?)');
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-20_000);
  });
  const closed = new Promise<void>((r) => child.once('close', () => r()));
  return {
    pid: child.pid,
    log: () => stderr,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      await closed;
      clearTimeout(kill);
    },
  };
}

/**
 * Resolves when rtpengine answers an ng `ping` at `ng` (`ADDRESS:PORT`, reachable from here);
 * rejects after `ms`.
 */
export async function waitForNg(ng: string, ms: number): Promise<void> {
  const reply = await ngRequest(ng, 'd7:command4:pinge', ms);
  if (!reply.includes('4:pong')) throw new Error(`rtpengine at ${ng}: ping answered ${reply}`);
}

/** Sessions rtpengine has managed since it started, and those open now. */
export async function ngSessions(ng: string): Promise<{ managed: number; open: number }> {
  const reply = await ngRequest(ng, 'd7:command10:statisticse', 5000);
  const count = (key: string) => {
    const m = new RegExp(`${key.length}:${key}i(\\d+)e`).exec(reply);
    if (m === null) throw new Error(`rtpengine statistics without ${key}: ${reply.slice(0, 200)}`);
    return Number(m[1]);
  };
  return { managed: count('managedsessions'), open: count('sessionsown') };
}

/**
 * One ng command (a bencoded dict) and its reply's dict, as text. UDP: the command is sent
 * again every 200 ms under a fresh cookie until a reply comes or `ms` have passed.
 */
async function ngRequest(ng: string, command: string, ms: number): Promise<string> {
  const [address, port] = splitHostPort(ng);
  const socket = createSocket('udp4');
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<string>((resolve, reject) => {
      const deadline = Date.now() + ms;
      socket.on('message', (m) => {
        const text = m.toString('latin1');
        resolve(text.slice(text.indexOf(' ') + 1));
      });
      socket.on('error', reject);
      let n = 0;
      const send = () => {
        if (Date.now() > deadline) return reject(new Error(`rtpengine at ${ng}: no answer`));
        socket.send(`bench-${process.pid}-${Date.now()}-${n++} ${command}`, port, address);
        timer = setTimeout(send, 200);
      };
      send();
    });
  } finally {
    clearTimeout(timer);
    socket.close();
  }
}

function splitHostPort(hostPort: string): [string, number] {
  const at = hostPort.lastIndexOf(':');
  return [hostPort.slice(0, at), Number(hostPort.slice(at + 1))];
}
