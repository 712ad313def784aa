// Address lists of the web layer's keys (allowedip, trustedip) as matchers, compiled once per
// list value: the settings view hands out the same array until the key changes, so a
// WeakMap keyed by it recompiles exactly when an operator edits the list.
import { type Cidr, canonicalIp, cidrContains, isLocalOnly, parseCidr } from '../../ip.ts';

const compiled = new WeakMap<readonly string[], readonly Cidr[]>();

function cidrsOf(list: readonly string[]): readonly Cidr[] {
  let cidrs = compiled.get(list);
  if (cidrs === undefined) {
    cidrs = list.map((c) => parseCidr(c)).filter((c): c is Cidr => c !== null);
    compiled.set(list, cidrs);
  }
  return cidrs;
}

export function inList(list: readonly string[], ip: string): boolean {
  if (list.length === 0) return false;
  for (const cidr of cidrsOf(list)) if (cidrContains(cidr, ip)) return true;
  return false;
}

/** The client's address as the socket saw it (never a header: trustProxy is off). */
export function sourceOf(remote: string | undefined): string {
  const raw = remote ?? '';
  // IPv4 peers of a dual-stack listener appear as ::ffff:a.b.c.d.
  const plain = raw.startsWith('::ffff:') && raw.includes('.') ? raw.slice(7) : raw;
  return canonicalIp(plain) ?? plain;
}

/** This machine talking to itself. */
export function isLoopback(ip: string): boolean {
  return isLocalOnly(ip) && ip !== '0.0.0.0' && ip !== '::';
}
