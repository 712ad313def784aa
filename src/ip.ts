// Address helpers shared by every area. Addresses from the network or an operator are
// normalised once, here, so that "2001:DB8::0:1", "2001:db8::1" and "::ffff:10.0.0.1" vs
// "10.0.0.1" cannot dodge a ban or create two records for one host.
import { isIP } from 'node:net';

/** The canonical text of an IPv4 or IPv6 address, or null if it is not one. */
export function canonicalIp(text: string): string | null {
  if (typeof text !== 'string' || text.length > 64) return null;
  // Every datagram's source comes through here, and it is nearly always already canonical.
  if (isCanonicalIpv4(text)) return text;
  const family = isIP(text);
  if (family === 4) return text.split('.').map(Number).join('.');
  if (family !== 6) return null;
  // WHATWG URL serialises IPv6 in RFC 5952 form (lower case, longest zero run compressed).
  const host = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped) {
    const hi = Number.parseInt(mapped[1]!, 16);
    const lo = Number.parseInt(mapped[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return host;
}

/**
 * Dotted-quad IPv4 exactly as it is canonically written: four decimal octets 0-255 without
 * leading zeros. A scan, no allocation; anything else takes the general path above.
 */
function isCanonicalIpv4(text: string): boolean {
  const n = text.length;
  if (n < 7 || n > 15) return false;
  let dots = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || ++dots > 3) return false;
      digits = 0;
      value = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && value === 0) return false; // a leading zero
      value = value * 10 + (c - 0x30);
      if (++digits > 3 || value > 255) return false;
    } else return false;
  }
  return dots === 3 && digits > 0;
}

export interface Cidr {
  address: string;
  prefix: number;
  family: 4 | 6;
}

/** Parses "10.0.0.0/8" or "2001:db8::/32" (a bare address is a host route), or null. */
export function parseCidr(text: string): Cidr | null {
  if (typeof text !== 'string') return null;
  const slash = text.indexOf('/');
  const address = canonicalIp(slash < 0 ? text : text.slice(0, slash));
  if (address === null) return null;
  const family = isIP(address) as 4 | 6;
  const max = family === 4 ? 32 : 128;
  if (slash < 0) return { address, prefix: max, family };
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  if (prefix > max) return null;
  return { address, prefix, family };
}

/** Loopback and unspecified addresses: banning them would only lock out the appliance itself. */
export function isLocalOnly(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip === '0.0.0.0' || ip === '::';
}

/** Whether ip (canonical) lies inside cidr. */
export function cidrContains(cidr: Cidr, ip: string): boolean {
  const family = isIP(ip);
  if (family !== cidr.family) return false;
  const bits = (text: string) =>
    family === 4
      ? text
          .split('.')
          .map((o) => Number(o).toString(2).padStart(8, '0'))
          .join('')
      : expandV6(text);
  return bits(ip).slice(0, cidr.prefix) === bits(cidr.address).slice(0, cidr.prefix);
}

function expandV6(text: string): string {
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => Number.parseInt(g, 16).toString(2).padStart(16, '0')).join('');
}
