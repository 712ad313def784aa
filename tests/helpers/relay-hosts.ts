// Three hosts for media relay tests: a caller, tollgate in the middle, a callee, each in its
// own network namespace, joined by two veth pairs (caller - tollgate, tollgate - callee),
// IPv4 and IPv6 on both links. Tollgate's two veths are where the XDP program runs.
//
//   caller  veth0 ──── vcaller  TOLLGATE  vcallee ──── veth0  callee
//   .1 (+ .3, a third party)   .2      .2                     .1
//
// The caller and callee only ever talk to tollgate's address on their own link, as phones
// behind a relay do. Tollgate forwards (sysctl *.forwarding=1 in its namespace only):
// bpf_fib_lookup answers only for interfaces that forward. On the caller and callee ends,
// GRO is on (a veth accepts XDP-redirected frames only when its peer runs NAPI) and
// transmit checksum offload is off, so their datagrams carry full checksums as on a wire.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { canonicalIp } from '../../src/ip.ts';
import type { Teardownable } from './netns.ts';

const run = promisify(execFile);
const IP = '/usr/sbin/ip';

export interface Side {
  ns: string;
  ifname: string;
  v4: string;
  v6: string;
}

export interface RelayHosts {
  caller: Side;
  callee: Side;
  /** A third party on the caller's link (an attacker injecting RTP). */
  third: { ns: string; v4: string; v6: string };
  tollgate: { ns: string; toCaller: Side; toCallee: Side };
}

let counter = 0;

async function sh(argv: string[]): Promise<string> {
  try {
    const { stdout } = await run(argv[0]!, argv.slice(1), { timeout: 30_000 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`${argv.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

export async function relayHosts(t: Teardownable): Promise<RelayHosts> {
  const n = counter++;
  const base = `tgt-${process.pid}-r${n}`;
  const [nsC, nsT, nsE] = [`${base}-c`, `${base}-t`, `${base}-e`];
  const octet2 = 64 + (process.pid % 128);
  const v4 = (link: number, h: number) => `10.${octet2}.${(200 + n * 2 + link) % 256}.${h}`;
  const v6 = (link: number, h: number) =>
    canonicalIp(
      `fd01:${(process.pid & 0xffff).toString(16)}:${(n * 2 + link).toString(16)}::${h}`,
    ) ?? '';
  const cleanup = async () => {
    for (const ns of [nsC, nsT, nsE]) await run(IP, ['netns', 'delete', ns]).catch(() => {});
  };
  t.teardown(cleanup);
  try {
    for (const ns of [nsC, nsT, nsE]) {
      await sh([IP, 'netns', 'add', ns]);
      await sh([IP, '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    const links = [
      { link: 0, far: nsC, local: 'vcaller' },
      { link: 1, far: nsE, local: 'vcallee' },
    ];
    for (const { link, far, local } of links) {
      await sh([
        IP,
        '-n',
        nsT,
        'link',
        'add',
        local,
        'type',
        'veth',
        'peer',
        'name',
        'veth0',
        'netns',
        far,
      ]);
      for (const [ns, dev, h] of [
        [far, 'veth0', 1],
        [nsT, local, 2],
      ] as const) {
        await sh([IP, '-n', ns, 'addr', 'add', `${v4(link, h)}/24`, 'dev', dev]);
        await sh([IP, '-n', ns, 'addr', 'add', `${v6(link, h)}/64`, 'dev', dev, 'nodad']);
        await sh([IP, '-n', ns, 'link', 'set', dev, 'up']);
      }
      await sh([IP, 'netns', 'exec', far, 'ethtool', '-K', 'veth0', 'gro', 'on', 'tx', 'off']);
    }
    await sh([IP, '-n', nsC, 'addr', 'add', `${v4(0, 3)}/24`, 'dev', 'veth0']);
    await sh([IP, '-n', nsC, 'addr', 'add', `${v6(0, 3)}/64`, 'dev', 'veth0', 'nodad']);
    for (const key of ['net.ipv4.conf.all.forwarding=1', 'net.ipv6.conf.all.forwarding=1'])
      await sh([IP, 'netns', 'exec', nsT, 'sysctl', '-q', '-w', key]);
  } catch (err) {
    await cleanup();
    throw err;
  }
  const side = (ns: string, ifname: string, link: number, h: number): Side => ({
    ns,
    ifname,
    v4: v4(link, h),
    v6: v6(link, h),
  });
  return {
    caller: side(nsC, 'veth0', 0, 1),
    callee: side(nsE, 'veth0', 1, 1),
    third: { ns: nsC, v4: v4(0, 3), v6: v6(0, 3) },
    tollgate: {
      ns: nsT,
      toCaller: side(nsT, 'vcaller', 0, 2),
      toCallee: side(nsT, 'vcallee', 1, 2),
    },
  };
}

async function macOf(ns: string, ifname: string): Promise<string> {
  const out = await sh([IP, '-n', ns, '-j', 'link', 'show', 'dev', ifname]);
  const [info] = JSON.parse(out) as { address: string }[];
  if (!info?.address) throw new Error(`no MAC address for ${ifname} in ${ns}`);
  return info.address;
}

/**
 * Gives tollgate permanent neighbour entries for the caller and the callee (both families),
 * as a resolved ARP/ND cache would: the first relayed packet then has its next hop.
 */
export async function resolveNeighbours(h: RelayHosts): Promise<void> {
  for (const [peer, dev] of [
    [h.caller, 'vcaller'],
    [h.callee, 'vcallee'],
  ] as const) {
    const mac = await macOf(peer.ns, peer.ifname);
    for (const addr of [peer.v4, peer.v6])
      await sh([
        IP,
        '-n',
        h.tollgate.ns,
        'neigh',
        'replace',
        addr,
        'lladdr',
        mac,
        'dev',
        dev,
        'nud',
        'permanent',
      ]);
  }
}

/** Removes tollgate's neighbour entry for one address: the next packet there has no next hop. */
export async function forgetNeighbour(h: RelayHosts, address: string, dev: string): Promise<void> {
  await sh([IP, '-n', h.tollgate.ns, 'neigh', 'del', address, 'dev', dev]);
}
