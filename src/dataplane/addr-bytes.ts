// Addresses as the XDP maps store them: network byte order, IPv4 either as 4 bytes (v4-only
// maps) or IPv4-mapped in 16 bytes (::ffff:a.b.c.d, RFC 4291 section 2.5.5.2) for maps
// shared by both families. Input is canonicalised first (src/ip.ts), so "::ffff:10.0.0.1"
// and "10.0.0.1" are one host here too.
import { canonicalIp, parseCidr } from '../ip.ts';
import { DataplaneErrors as E } from './errors.ts';

export interface AddrBytes {
  family: 4 | 6;
  /** 4 bytes for IPv4, 16 for IPv6. */
  bytes: Uint8Array;
  /** Always 16 bytes: IPv4-mapped for IPv4. */
  mapped: Uint8Array;
  /** Canonical text. */
  text: string;
}

/** A canonical dotted quad's 4 bytes (one pass: a relay leg checks several per call). */
function v4Bytes(text: string): Uint8Array {
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      out[part++] = value;
      value = 0;
    } else value = value * 10 + (c - 0x30);
  }
  out[part] = value;
  return out;
}

function v6Bytes(text: string): Uint8Array {
  const out = new Uint8Array(16);
  let head = text;
  let tail = '';
  const gap = text.indexOf('::');
  if (gap >= 0) {
    head = text.slice(0, gap);
    tail = text.slice(gap + 2);
  }
  const words = (part: string): number[] => {
    if (part === '') return [];
    const groups = part.split(':');
    const last = groups[groups.length - 1]!;
    const result: number[] = [];
    for (const g of groups.slice(0, -1)) result.push(Number.parseInt(g, 16));
    if (last.includes('.')) {
      const b = v4Bytes(last);
      result.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
    } else {
      result.push(Number.parseInt(last, 16));
    }
    return result;
  };
  const front = words(head);
  const back = words(tail);
  const all = [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  all.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}

export function mappedV4(v4: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(v4, 12);
  return out;
}

/** Parses an IPv4 or IPv6 address; throws TG_DP_BAD_ADDRESS. */
export function addrBytes(ip: string): AddrBytes {
  const text = canonicalIp(ip);
  if (text === null) throw new E.TG_DP_BAD_ADDRESS(ip);
  if (text.includes(':')) {
    const bytes = v6Bytes(text);
    return { family: 6, bytes, mapped: bytes, text };
  }
  const bytes = v4Bytes(text);
  return { family: 4, bytes, mapped: mappedV4(bytes), text };
}

/** Text of a 16-byte map address (IPv4-mapped shown as IPv4). */
export function addrText(mapped: Uint8Array): string {
  const isMapped =
    mapped.subarray(0, 10).every((b) => b === 0) && mapped[10] === 0xff && mapped[11] === 0xff;
  if (isMapped) return Array.from(mapped.subarray(12, 16)).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((mapped[i]! << 8) | mapped[i + 1]!).toString(16));
  return canonicalIp(groups.join(':')) ?? groups.join(':');
}

export interface CidrBytes {
  family: 4 | 6;
  prefix: number;
  /** Address with host bits cleared (the LPM trie ignores them, the key should not carry them). */
  bytes: Uint8Array;
  text: string;
}

/** Parses "10.0.0.0/8" or "2001:db8::/32" (bare address = host route); throws TG_DP_BAD_CIDR. */
export function cidrBytes(cidr: string): CidrBytes {
  const parsed = parseCidr(cidr);
  if (parsed === null) throw new E.TG_DP_BAD_CIDR(cidr);
  const bytes = parsed.family === 4 ? v4Bytes(parsed.address) : v6Bytes(parsed.address);
  for (let bit = parsed.prefix; bit < bytes.length * 8; bit++) {
    bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  }
  const base = parsed.family === 4 ? Array.from(bytes).join('.') : addrText(bytes);
  return { family: parsed.family, prefix: parsed.prefix, bytes, text: `${base}/${parsed.prefix}` };
}
