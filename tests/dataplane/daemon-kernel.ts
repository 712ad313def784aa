// Shared by the daemon-in-a-namespace dataplane tests: what status and stats say, and
// whether a source's packets reach a socket or are dropped in the kernel, judged by the
// kernel's own counters (never by waiting a while and seeing nothing).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { RunningDaemon } from '../helpers/daemon.ts';
import { exec, type Teardownable } from '../helpers/netns.ts';
import { sendUdp, udpListener } from '../helpers/packets.ts';

const run = promisify(execFile);

export interface InterfaceState {
  name: string;
  mode: string;
  reason: string;
  up: boolean;
}

export interface Status {
  pid: number;
  dataplane: {
    mode: string;
    enforcing: boolean;
    reason: string;
    owner: { pid: number; dataDir: string } | null;
    interfaces: InterfaceState[];
    nftTables: string[] | null;
    restores: number;
  };
}

export interface Stats {
  dataplane: { mode: string; interfaces: string[]; counters: string[]; counted: string[] };
  drops: Record<string, number>;
  passed: number;
}

type Ctl = Pick<RunningDaemon, 'ctl'>;

export async function status(d: Ctl): Promise<Status> {
  const r = await d.ctl('status', '--json');
  if (r.code !== 0) throw new Error(`status failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Status;
}

export async function stats(d: Ctl): Promise<Stats> {
  const r = await d.ctl('stats', '--json');
  if (r.code !== 0) throw new Error(`stats failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Stats;
}

export function iface(s: Status, name: string): InterfaceState | undefined {
  return s.dataplane.interfaces.find((i) => i.name === name);
}

/** Polls `probe` until it returns a value; a generous deadline is only the safety net. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  deadlineMs = 90_000,
): Promise<T> {
  const end = Date.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Sends `count` datagrams from `from` (in fromNs) to to:port (a listener in toNs) and waits
 * until the daemon's banned counter has moved by all of them: then none can arrive later.
 * Returns how many reached the socket (0 when the kernel dropped them all).
 */
export async function bannedAndDropped(
  d: Ctl,
  path: { fromNs: string; from?: string; toNs: string; to: string; port: number },
  count = 20,
): Promise<{ dropped: number; delivered: number }> {
  const listener = await udpListener(path.toNs, { host: '0.0.0.0', port: path.port });
  try {
    const before = (await stats(d)).drops.banned ?? 0;
    const marker = `m${Math.random().toString(36).slice(2, 8)}`;
    await sendUdp(path.fromNs, {
      from: path.from,
      to: path.to,
      port: path.port,
      count,
      payload: marker,
    });
    const dropped = await until(`${count} banned drops`, async () => {
      const n = (await stats(d)).drops.banned - before;
      return n >= count ? n : undefined;
    });
    return {
      dropped,
      delivered: listener.received.filter((x) => x.text.startsWith(marker)).length,
    };
  } finally {
    await listener.close();
  }
}

/** Resolves once a datagram from fromNs reaches the listener (it is not dropped). */
export async function arrives(path: {
  fromNs: string;
  from?: string;
  toNs: string;
  to: string;
  port: number;
}): Promise<boolean> {
  const listener = await udpListener(path.toNs, { host: '0.0.0.0', port: path.port });
  try {
    const marker = `p${Math.random().toString(36).slice(2, 8)}`;
    await sendUdp(path.fromNs, {
      from: path.from,
      to: path.to,
      port: path.port,
      count: 3,
      payload: marker,
    });
    await listener.waitFor((x) => x.text.startsWith(marker), 30_000);
    return true;
  } finally {
    await listener.close();
  }
}

/** The id of the XDP program on ifname in ns (0 = none), as `ip -d link` shows it. */
export async function xdpProgId(ns: string, ifname: string): Promise<number> {
  const out = (await exec(ns, ['ip', '-d', 'link', 'show', ifname])).stdout;
  return Number(/prog\/xdp(?:generic)? id (\d+)/.exec(out)?.[1] ?? 0);
}

/** The handles of the tollgate tables in ns ("inet 12"): a table recreated differs. */
export async function tollgateTables(ns: string): Promise<string[]> {
  const out = (await exec(ns, ['/usr/sbin/nft', '-j', 'list', 'tables'])).stdout;
  const items = (
    JSON.parse(out) as {
      nftables: Array<{ table?: { family: string; name: string; handle: number } }>;
    }
  ).nftables;
  return items
    .flatMap((i) => (i.table?.name === 'tollgate' ? [`${i.table.family} ${i.table.handle}`] : []))
    .sort();
}

let extra = 0;

/** One more namespace (tgt-<pid>-x<n>, swept like the others), deleted at teardown. */
export async function extraNamespace(t: Teardownable): Promise<string> {
  const ns = `tgt-${process.pid}-x${extra++}`;
  await run('/usr/sbin/ip', ['netns', 'add', ns]);
  t.teardown(async () => {
    await run('/usr/sbin/ip', ['netns', 'delete', ns]).catch(() => {});
  });
  await run('/usr/sbin/ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  return ns;
}

/** `ip -n ns ARGS` */
export async function ipIn(ns: string, args: string[]): Promise<void> {
  await run('/usr/sbin/ip', ['-n', ns, ...args]);
}
