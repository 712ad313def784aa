// Runs Debian's rtpengine (userspace forwarding, --table=-1: no kernel module) in the
// foreground for a benchmark that owns it, on one address with its own port range, and a
// stop() that leaves nothing behind. bench/calls puts it behind kamailio (kamailio's
// rtpengine module talks to it over the ng protocol) so that kamailio relays the calls'
// media as tollgate does; bench/media drives it directly.
import { type ChildProcess, spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { type Bencode, NgClient } from './ng.ts';

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
  const client = new NgClient(ng);
  try {
    const reply = await client.request({ command: 'ping' }, ms, 200);
    if (reply.result !== 'pong')
      throw new Error(`rtpengine at ${ng}: ping answered ${JSON.stringify(reply)}`);
  } finally {
    client.close();
  }
}

/** Sessions rtpengine has managed (and ended) since it started, and those open now. */
export async function ngSessions(ng: string): Promise<{ managed: number; open: number }> {
  const client = new NgClient(ng);
  try {
    const reply = await client.request({ command: 'statistics' }, 5000, 200);
    const stats = reply.statistics as Record<string, Record<string, Bencode>> | undefined;
    const managed = stats?.totalstatistics?.managedsessions;
    const open = stats?.currentstatistics?.sessionsown;
    if (typeof managed !== 'number' || typeof open !== 'number')
      throw new Error(`rtpengine statistics without session counts: ${JSON.stringify(reply)}`);
    return { managed, open };
  } finally {
    client.close();
  }
}
