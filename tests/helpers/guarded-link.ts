// A receiving host and a sending host for end-to-end dataplane tests, on top of
// tests/helpers/netns.ts: side b listens for UDP on the SIP port (v4 and v6), side a sends
// from its own addresses plus a "control" address per family that is never banned.
//
// Counting what got through without sleeping: delivered() sends N datagrams from a source,
// then one marker from the control address, and waits for the marker. Both take the same
// path through the same queues, so once the marker is in, whatever the source's datagrams
// were going to do, they have done (dropped, or delivered before the marker).
//
// Side a knows b's MAC address statically (a permanent neighbour entry): a banned source
// never has to resolve it (its ARP would pass, but its IPv6 neighbour solicitation comes
// from the banned address and would be dropped), so the kernel counters see exactly the
// datagrams a test sends and nothing else from that address.
import { createLink, exec, type Link, type Teardownable } from './netns.ts';
import { sendUdp, type UdpListener, udpListener } from './packets.ts';

export const SIP_PORT = 5060;

export interface GuardedLink {
  link: Link;
  /** Extra source addresses on side a, never banned: the positive control. */
  controlV4: string;
  controlV6: string;
  listenerV4: UdpListener;
  listenerV6: UdpListener;
}

async function macOf(ns: string, ifname: string): Promise<string> {
  const { stdout } = await exec(ns, ['/usr/sbin/ip', '-j', 'link', 'show', 'dev', ifname]);
  const [info] = JSON.parse(stdout) as { address: string }[];
  if (!info?.address) throw new Error(`no MAC address for ${ifname} in ${ns}`);
  return info.address;
}

export async function guardedLink(t: Teardownable): Promise<GuardedLink> {
  const link = await createLink(t);
  const controlV4 = link.hostV4(3);
  const controlV6 = link.hostV6(3);
  await link.addAddress(link.a, controlV4);
  await link.addAddress(link.a, controlV6);
  const mac = await macOf(link.b.ns, link.b.ifname);
  for (const address of [link.b.v4, link.b.v6]) {
    await exec(link.a.ns, [
      '/usr/sbin/ip',
      'neigh',
      'replace',
      address,
      'lladdr',
      mac,
      'dev',
      link.a.ifname,
      'nud',
      'permanent',
    ]);
  }
  const listenerV4 = await udpListener(link.b.ns, { host: link.b.v4, port: SIP_PORT });
  t.teardown(() => listenerV4.close());
  const listenerV6 = await udpListener(link.b.ns, { host: link.b.v6, port: SIP_PORT });
  t.teardown(() => listenerV6.close());
  return { link, controlV4, controlV6, listenerV4, listenerV6 };
}

/** How many of `count` datagrams from `from` (an address on side a) reached b's listener. */
export async function delivered(g: GuardedLink, from: string, count = 5): Promise<number> {
  const v6 = from.includes(':');
  const to = v6 ? g.link.b.v6 : g.link.b.v4;
  const listener = v6 ? g.listenerV6 : g.listenerV4;
  const control = v6 ? g.controlV6 : g.controlV4;
  const tag = `m${Math.random().toString(36).slice(2)}`;
  const before = listener.received.filter((d) => d.from === from).length;
  await sendUdp(g.link.a.ns, { from, to, port: SIP_PORT, count, payload: 'probe' });
  await sendUdp(g.link.a.ns, { from: control, to, port: SIP_PORT, payload: tag });
  await listener.waitFor((d) => d.text.startsWith(tag));
  return listener.received.filter((d) => d.from === from).length - before;
}

/** Polls `probe` every intervalMs until it returns true or timeoutMs passes; returns the last. */
export async function eventually(
  probe: () => Promise<boolean>,
  { timeoutMs = 20_000, intervalMs = 200 } = {},
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
