// What a ban names: one address or a CIDR range, IPv4 or IPv6, in one canonical spelling so
// that "203.0.113.9/24", "203.0.113.0/24" and "203.000.113.0/24" are one record, and a /32
// (or /128) is the single address it stands for (cscli and fail2ban accept both forms).
//
//   banTarget('203.0.113.9/24') → { text: '203.0.113.0/24', family: 4, prefix: 24, range: true,
//                                   first: 0xcb007100n, last: 0xcb0071ffn }
//   banTarget('2001:DB8::1')    → { text: '2001:db8::1', family: 6, prefix: 128, range: false, … }
import { isIP } from 'node:net';
import { canonicalIp } from '../ip.ts';

export interface BanTarget {
  /** Canonical text: an address, or network/prefix with the host bits cleared. */
  text: string;
  family: 4 | 6;
  prefix: number;
  /** True for a range wider than one address. */
  range: boolean;
  first: bigint;
  last: bigint;
}

/** Parses an address or CIDR range; null when it is neither. */
export function banTarget(input: string): BanTarget | null {
  if (typeof input !== 'string' || input.length > 64) return null;
  const slash = input.indexOf('/');
  const address = canonicalIp(slash < 0 ? input : input.slice(0, slash));
  if (address === null) return null;
  const family = isIP(address) as 4 | 6;
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const text = input.slice(slash + 1);
    if (!/^\d{1,3}$/.test(text) || Number(text) > bits) return null;
    prefix = Number(text);
  }
  const hostBits = BigInt(bits - prefix);
  const first = (toBigInt(address, family) >> hostBits) << hostBits;
  const last = first | ((1n << hostBits) - 1n);
  if (prefix === bits) return { text: address, family, prefix, range: false, first, last };
  return {
    text: `${fromBigInt(first, family)}/${prefix}`,
    family,
    prefix,
    range: true,
    first,
    last,
  };
}

/** Whether the two share at least one address. */
export function overlaps(a: BanTarget, b: BanTarget): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

/** Whether a covers every address of b. */
export function covers(a: BanTarget, b: BanTarget): boolean {
  return a.family === b.family && a.first <= b.first && b.last <= a.last;
}

function toBigInt(address: string, family: 4 | 6): bigint {
  if (family === 4) return address.split('.').reduce((n, o) => (n << 8n) | BigInt(o), 0n);
  // canonicalIp gives RFC 5952 text; an embedded dotted quad (::ffff:… is already folded to
  // IPv4 there) can still appear in forms like 64:ff9b::1.2.3.4.
  let text = address;
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [, a, b, c, d] = quad.map(Number) as number[];
    text = `${text.slice(0, quad.index)}${((a! << 8) | b!).toString(16)}:${((c! << 8) | d!).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((n, g) => (n << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

function fromBigInt(value: bigint, family: 4 | 6): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => Number((value >> s) & 255n)).join('.');
  }
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((value >> s) & 0xffffn).toString(16));
  return canonicalIp(groups.join(':')) ?? groups.join(':');
}
