// Test hosts built from real network namespaces: two namespaces joined by a veth pair, so a
// test can put the real kernel dataplane on one side and send real packets from the other
// without touching the machine's own interfaces or ruleset.
//
//   const link = await createLink(t);          // teardown registered on t
//   await exec(link.b.ns, ['/usr/sbin/nft', 'list', 'ruleset']);
//   link.a.v4 → '10.77.3.1'   link.b.v4 → '10.77.3.2'   (both on veth0, /24)
//   link.a.v6 → 'fd00:4d2:3::1'                          (nodad: usable at once)
//
// Names: tgt-<pid>-<n>-a / -b. The pid lets sweepStaleNamespaces() remove what a crashed
// run left behind without touching namespaces of a test process that is still running.
// Each pair is its own isolated network, so addresses could even repeat across tests; they
// are made unique per process anyway (10.<pid-derived>.<n>.0/24) so a failing test's
// output never shows two tests with the same addresses.
//
// bpffs: `ip netns exec` enters a fresh mount namespace and remounts /sys for the target
// netns, so /sys/fs/bpf is not mounted there, and every `ip netns exec` call gets its own
// mount namespace. A test that pins maps inside a namespace mounts bpffs in the same call:
//   await exec(ns, withBpffs([process.execPath, 'loader.ts']));
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { canonicalIp } from '../../src/ip.ts';

const run = promisify(execFile);
const IP = '/usr/sbin/ip';
const PREFIX = 'tgt-';
const NETNS_DIR = '/run/netns';

export interface LinkEnd {
  ns: string;
  /** The veth interface inside ns (the same name on both sides: each lives in its own ns). */
  ifname: string;
  v4: string;
  v6: string;
}

export interface Link {
  a: LinkEnd;
  b: LinkEnd;
  /** e.g. '10.77.3.0/24'; further addresses in it can be added with addAddress. */
  subnetV4: string;
  subnetV6: string;
  /** The nth free address of the subnet (n ≥ 3; 1 and 2 are a and b). */
  hostV4(n: number): string;
  hostV6(n: number): string;
  /** Adds an address to one end's veth (e.g. a second source on side a). */
  addAddress(end: LinkEnd, address: string): Promise<void>;
  cleanup(): Promise<void>;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** Anything with ava's `teardown` (kept structural so helpers do not import ava). */
export interface Teardownable {
  teardown(fn: () => unknown): void;
}

let counter = 0;
const created = new Set<string>();

/** Runs argv inside ns (no shell); rejects with stderr in the message on a non-zero exit. */
export async function exec(
  ns: string,
  argv: readonly string[],
  options: { timeoutMs?: number } = {},
): Promise<ExecResult> {
  try {
    const { stdout, stderr } = await run(IP, ['netns', 'exec', ns, ...argv], {
      timeout: options.timeoutMs ?? 30_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout, stderr };
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`in ${ns}: ${argv.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

/** Wraps argv so it runs with bpffs mounted at /sys/fs/bpf (inside the same exec call). */
export function withBpffs(argv: readonly string[]): string[] {
  return ['/bin/sh', '-c', 'mount -t bpf bpf /sys/fs/bpf && exec "$@"', 'sh', ...argv];
}

async function ip(args: string[]): Promise<void> {
  try {
    await run(IP, args, { timeout: 30_000 });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`ip ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

async function deleteNamespace(ns: string): Promise<void> {
  try {
    await run(IP, ['netns', 'delete', ns], { timeout: 30_000 });
  } catch {
    // already gone
  }
  created.delete(ns);
}

/**
 * Two namespaces joined by a veth pair, addresses v4 and v6 on both ends, links up.
 * With `t`, the namespaces are removed in t.teardown, which ava runs even when the test fails.
 */
export async function createLink(t?: Teardownable): Promise<Link> {
  const n = counter++;
  const base = `${PREFIX}${process.pid}-${n}`;
  const nsA = `${base}-a`;
  const nsB = `${base}-b`;
  // 10.<64..191>.<n>.0/24 and fd00:<pid>:<n>::/64
  const octet2 = 64 + (process.pid % 128);
  const octet3 = n % 256;
  const v6Net = `fd00:${(process.pid & 0xffff).toString(16)}:${n.toString(16)}`;
  const hostV4 = (h: number) => `10.${octet2}.${octet3}.${h}`;
  // Canonical (RFC 5952) text, so it compares equal to what sockets and nft report.
  const hostV6 = (h: number) => canonicalIp(`${v6Net}::${h.toString(16)}`) ?? '';
  const ifname = 'veth0';

  const cleanup = async () => {
    await deleteNamespace(nsA);
    await deleteNamespace(nsB);
  };
  t?.teardown(cleanup);

  created.add(nsA);
  created.add(nsB);
  try {
    await ip(['netns', 'add', nsA]);
    await ip(['netns', 'add', nsB]);
    // Created inside A with the peer moved straight into B: no name ever exists in the
    // host namespace, so parallel tests cannot collide on interface names.
    await ip([
      '-n',
      nsA,
      'link',
      'add',
      ifname,
      'type',
      'veth',
      'peer',
      'name',
      ifname,
      'netns',
      nsB,
    ]);
    for (const [ns, h] of [
      [nsA, 1],
      [nsB, 2],
    ] as const) {
      await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      await ip(['-n', ns, 'addr', 'add', `${hostV4(h)}/24`, 'dev', ifname]);
      // nodad: a tentative address cannot be bound, and DAD would make tests wait ~2 s.
      await ip(['-n', ns, 'addr', 'add', `${hostV6(h)}/64`, 'dev', ifname, 'nodad']);
      await ip(['-n', ns, 'link', 'set', ifname, 'up']);
    }
  } catch (err) {
    await cleanup();
    throw err;
  }

  const link: Link = {
    a: { ns: nsA, ifname, v4: hostV4(1), v6: hostV6(1) },
    b: { ns: nsB, ifname, v4: hostV4(2), v6: hostV6(2) },
    subnetV4: `${hostV4(0)}/24`,
    subnetV6: `${canonicalIp(`${v6Net}::`)}/64`,
    hostV4,
    hostV6,
    addAddress: async (end, address) => {
      const plen = address.includes(':') ? 64 : 24;
      const extra = address.includes(':') ? ['nodad'] : [];
      await ip(['-n', end.ns, 'addr', 'add', `${address}/${plen}`, 'dev', end.ifname, ...extra]);
    },
    cleanup,
  };
  return link;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes tgt-<pid>-* namespaces whose process is gone (a crashed or killed earlier run).
 * Namespaces of live processes are left alone, so parallel test files do not fight.
 */
export async function sweepStaleNamespaces(): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
  const stale = names.filter((name) => {
    const match = /^tgt-(\d+)-/.exec(name);
    return match !== null && Number(match[1]) !== process.pid && !isAlive(Number(match[1]));
  });
  for (const ns of stale) await deleteNamespace(ns);
  return stale;
}

// Last resort when a worker exits without running teardowns (uncaught error, process.exit):
// synchronous, because nothing asynchronous runs in an 'exit' handler.
process.once('exit', () => {
  for (const ns of created) {
    try {
      execFileSync(IP, ['netns', 'delete', ns], { stdio: 'ignore', timeout: 5_000 });
    } catch {
      // already gone
    }
  }
});
