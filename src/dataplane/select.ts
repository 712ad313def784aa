// Chooses and opens the kernel dataplane the daemon runs with (config `dataplanemode`):
//   xdp / xdp-generic  XDP guard on the chosen interfaces, with nftables as the second layer
//                      (the same bans, plus per-source TCP connection limits)
//   nft                nftables alone (no XDP: old kernel, no libbpf, or no interface to attach to)
//   off                nothing in the kernel (not root; development)
// `auto` tries them in that order and says why it settled where it did.
import { execFileSync } from 'node:child_process';
import type { Logger } from '../log.ts';
import { NftDataplane } from './nft.ts';
import { OffDataplane } from './off.ts';
import type { Dataplane, DataplaneMode, DataplaneStats, DropReason, FloodEvent } from './types.ts';
import { type GuardConfig, XdpDataplane, XdpGuard } from './xdp.ts';

export interface DataplaneSetup {
  mode: 'auto' | DataplaneMode;
  /** Interfaces to guard; empty = derived from the SIP listen address. */
  interfaces: readonly string[];
  sipAddress: string;
  sipTcpPorts: readonly number[];
  maxConnPerSource: number;
  guard: Partial<GuardConfig>;
  log: Logger;
}

export interface OpenedDataplane {
  dataplane: Dataplane;
  /** Why this mode: shown by `tollgatectl status`. */
  reason: string;
}

/**
 * Interfaces that can carry traffic to the SIP address: every non-loopback interface for a
 * wildcard address, the interfaces holding it otherwise, none for a loopback address.
 */
export function interfacesFor(sipAddress: string): string[] {
  const wildcard = sipAddress === '0.0.0.0' || sipAddress === '::';
  const out: string[] = [];
  for (const link of listLinks()) {
    if (link.loopback) continue;
    if (wildcard || link.addresses.includes(sipAddress)) out.push(link.name);
  }
  return out.sort();
}

interface LinkInfo {
  name: string;
  loopback: boolean;
  addresses: string[];
}

/**
 * Every interface with its addresses, up or not (`ip -j address`): os.networkInterfaces()
 * leaves out links without carrier, and XDP can be attached before the link comes up.
 */
function listLinks(): LinkInfo[] {
  const raw = JSON.parse(
    execFileSync('ip', ['-j', 'address', 'show'], { encoding: 'utf8' }),
  ) as Array<{
    ifname: string;
    flags?: string[];
    addr_info?: Array<{ local?: string }>;
  }>;
  return raw.map((l) => ({
    name: l.ifname,
    loopback: l.flags?.includes('LOOPBACK') ?? false,
    addresses: (l.addr_info ?? []).map((a) => a.local ?? '').filter(Boolean),
  }));
}

export async function openDataplane(setup: DataplaneSetup): Promise<OpenedDataplane> {
  const { log } = setup;
  if (setup.mode === 'off') return off('dataplanemode is off');
  if (process.getuid?.() !== 0)
    return off('not running as root: the kernel dataplane needs CAP_BPF and CAP_NET_ADMIN');

  const interfaces =
    setup.interfaces.length > 0 ? [...setup.interfaces] : interfacesFor(setup.sipAddress);
  const wantXdp = setup.mode === 'auto' || setup.mode === 'xdp' || setup.mode === 'xdp-generic';
  let why = '';
  if (wantXdp && interfaces.length === 0) {
    why = `no interface carries ${setup.sipAddress} (loopback only), so there is nothing to attach XDP to`;
  } else if (wantXdp) {
    try {
      const xdp = openXdp(setup, interfaces);
      const nft = await openNft(setup, interfaces);
      const layered = new LayeredDataplane(xdp, nft);
      return {
        dataplane: layered,
        reason: `XDP (${xdp.mode}) on ${interfaces.join(', ')}, nftables as second layer`,
      };
    } catch (err) {
      why = `XDP unavailable: ${(err as Error).message}`;
      if (setup.mode !== 'auto')
        log.warn({ err }, 'XDP could not be used; falling back to nftables');
    }
  }
  try {
    const nft = await openNft(setup, interfaces);
    const reason = why ? `nftables only (${why})` : 'nftables only (dataplanemode is nft)';
    return { dataplane: nft, reason };
  } catch (err) {
    return off(`${why ? `${why}; ` : ''}nftables unavailable: ${(err as Error).message}`);
  }

  function off(reason: string): OpenedDataplane {
    log.warn({ reason }, 'no kernel dataplane: bans are enforced nowhere but in the store');
    return { dataplane: new OffDataplane(reason), reason };
  }
}

function openXdp(setup: DataplaneSetup, interfaces: string[]): XdpDataplane {
  const guard = XdpGuard.load({ logger: setup.log });
  try {
    guard.configure(setup.guard);
    const attachMode =
      setup.mode === 'xdp' ? 'native' : setup.mode === 'xdp-generic' ? 'generic' : 'auto';
    for (const ifname of interfaces) guard.attach(ifname, attachMode);
    return new XdpDataplane(guard);
  } catch (err) {
    guard.close();
    throw err;
  }
}

async function openNft(setup: DataplaneSetup, interfaces: string[]): Promise<NftDataplane> {
  const nft = new NftDataplane();
  // netdev ingress hooks only where we guard specific interfaces; loopback-only listening
  // uses the inet table (it sees every interface, lo included).
  await nft.init({
    interfaces,
    sipTcpPorts: setup.sipTcpPorts,
    maxConnPerSource: setup.maxConnPerSource,
  });
  return nft;
}

/**
 * XDP first, nftables behind it: every policy change goes to both, so if XDP is detached
 * (or misses a path such as locally generated traffic) nftables still holds the line.
 * Drops are summed: a packet XDP dropped never reaches nftables, so nothing counts twice.
 */
export class LayeredDataplane implements Dataplane {
  readonly xdp: XdpDataplane;
  readonly nft: NftDataplane;

  constructor(xdp: XdpDataplane, nft: NftDataplane) {
    this.xdp = xdp;
    this.nft = nft;
  }

  get mode(): DataplaneMode {
    return this.xdp.mode;
  }

  async ban(ip: string, ttlSeconds: number, reason: string): Promise<void> {
    await this.xdp.ban(ip, ttlSeconds);
    await this.nft.ban(ip, ttlSeconds, reason);
  }
  async unban(ipOrAll: string): Promise<void> {
    await this.xdp.unban(ipOrAll);
    await this.nft.unban(ipOrAll);
  }
  async allowCidr(cidr: string): Promise<void> {
    await this.xdp.allowCidr(cidr);
    await this.nft.allowCidr(cidr);
  }
  async denyCidr(cidr: string): Promise<void> {
    await this.xdp.denyCidr(cidr);
    await this.nft.denyCidr(cidr);
  }
  async removeCidr(cidr: string): Promise<void> {
    await this.xdp.removeCidr(cidr);
    await this.nft.removeCidr(cidr);
  }
  async trust(ip: string, ttlSeconds: number): Promise<void> {
    await this.xdp.trust(ip, ttlSeconds);
    await this.nft.trust(ip, ttlSeconds);
  }
  async untrust(ip: string): Promise<void> {
    await this.xdp.untrust(ip);
    await this.nft.untrust(ip);
  }
  /** Media filtering is XDP's alone (see NftDataplane.openMedia). */
  async openMedia(port: number, peer: { ip: string; port: number }): Promise<void> {
    await this.xdp.openMedia(port, peer);
  }
  async closeMedia(port: number): Promise<void> {
    await this.xdp.closeMedia(port);
  }
  async stats(): Promise<DataplaneStats> {
    const [x, n] = [await this.xdp.stats(), await this.nft.stats()];
    const drops = { ...x.drops };
    for (const reason of Object.keys(drops) as DropReason[]) drops[reason] += n.drops[reason];
    return { mode: x.mode, interfaces: x.interfaces, drops, passed: x.passed };
  }
  onFlood(listener: (event: FloodEvent) => void): () => void {
    return this.xdp.onFlood(listener);
  }
  async close(): Promise<void> {
    await this.xdp.close();
    await this.nft.close();
  }
}
