// The network interfaces of this namespace as the kernel lists them now (`ip -j -d address
// show`): every link, up or down, with its kind, its master (bridge/bond port) and its
// addresses. os.networkInterfaces() would leave out links without carrier, and XDP can be
// attached before a link comes up.
//
// Why polling and not `ip monitor link`: the reconcile loop (kernel-dataplane.ts) has to
// poll anyway, because nothing signals `nft flush ruleset` or an XDP detach by another
// process reliably; one `ip -j` per tick (~3 ms of CPU, measured) also sees links added,
// removed, enslaved, up and down, with no event stream to resynchronise after a lost event.
import { execFile } from 'node:child_process';
import { DataplaneErrors as E } from './errors.ts';

export interface LinkInfo {
  name: string;
  ifindex: number;
  loopback: boolean;
  up: boolean;
  /** rtnetlink kind: 'veth', 'bridge', 'bond', 'dummy', ... ('' for a plain NIC). */
  kind: string;
  /** The bridge or bond this link is a port of. */
  master: string | null;
  addresses: string[];
}

const IP = '/usr/sbin/ip';
const TIMEOUT_MS = 5_000;
/** ~1 KiB of JSON per link: 16 MiB is thousands of links. */
const MAX_OUTPUT = 16 * 1024 * 1024;

interface RawLink {
  ifindex?: number;
  ifname?: string;
  flags?: string[];
  master?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: Array<{ local?: string }>;
}

export function parseLinks(json: string): LinkInfo[] {
  const raw = JSON.parse(json) as RawLink[];
  if (!Array.isArray(raw)) throw new E.TG_DP_LINKS('not a JSON list');
  const out: LinkInfo[] = [];
  for (const l of raw) {
    if (typeof l.ifname !== 'string' || typeof l.ifindex !== 'number') continue;
    const flags = Array.isArray(l.flags) ? l.flags : [];
    out.push({
      name: l.ifname,
      ifindex: l.ifindex,
      loopback: flags.includes('LOOPBACK'),
      up: flags.includes('UP'),
      kind: l.linkinfo?.info_kind ?? '',
      master: typeof l.master === 'string' ? l.master : null,
      addresses: (l.addr_info ?? []).map((a) => a.local ?? '').filter(Boolean),
    });
  }
  return out;
}

export function readLinks(): Promise<LinkInfo[]> {
  return new Promise((resolve, reject) => {
    execFile(
      IP,
      ['-j', '-d', 'address', 'show'],
      { timeout: TIMEOUT_MS, maxBuffer: MAX_OUTPUT, env: { LANG: 'C' } },
      (err, stdout, stderr) => {
        if (err) return reject(new E.TG_DP_LINKS(String(stderr || err.message).trim()));
        try {
          resolve(parseLinks(stdout));
        } catch (e) {
          reject(e instanceof Error && 'code' in e ? e : new E.TG_DP_LINKS((e as Error).message));
        }
      },
    );
  });
}
