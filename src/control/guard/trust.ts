// Which sources the guard never bans automatically (reference: "IP Spoofing" and the
// checklist's trust keys). Trust is IP based and so only as good as ingress filtering; the
// reference's allowtrustedip says how far it is honoured:
//
//   0 no         nothing is trusted by address (only this machine's loopback, which the
//                ban service refuses to ban anyway)
//   1 my ip only this machine's own addresses (loopback, sipaddress)
//   2 private    a trust source counts only for private (LAN) addresses
//   3 yes        every trust source below (default)
//   4 everywhere as 3 (the extra scope, the admin console, is not the guard's business)
//
// Trust sources: `trustedip` (CIDRs), `trustlanip` (RFC 1918 / RFC 4193 / link-local
// sources), `trustauthip` (an address a user authenticated from), `treatusersasknownip` (an
// address a user registered from). `trustsubnet` widens each trusted address to its subnet
// (/24 for IPv4, /64 for IPv6). Dynamic trust lasts `ttlMs` (reenabledosblocked) and is
// capped at `capacity` addresses (oldest forgotten first), so it cannot grow without bound.
import { isIP } from 'node:net';
import { isLocalOnly, parseCidr } from '../../ip.ts';

export interface TrustConfig {
  allowtrustedip: number;
  trustedip: readonly string[];
  trustlanip: boolean;
  trustsubnet: boolean;
  trustauthip: boolean;
  treatusersasknownip: boolean;
  /** This machine's addresses besides loopback (sipaddress when it is not a wildcard). */
  ownAddresses: readonly string[];
}

export type TrustReason =
  | 'local'
  | 'own-address'
  | 'trustedip'
  | 'trustlanip'
  | 'trustauthip'
  | 'treatusersasknownip';

/** TrustPolicy.staticTrust: a static reason, or what is left to the clock. */
export type StaticTrust =
  | Exclude<TrustReason, 'trustauthip' | 'treatusersasknownip'>
  | 'never'
  | 'dynamic';

/** IPv4 dotted quad → unsigned 32-bit integer without allocating; -1 if not one. */
export function ipv4ToInt(ip: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      part = part * 10 + (c - 48);
      if (part > 255) return -1;
      digits++;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/** IPv6 text → 128-bit BigInt (slow path: only for IPv6 sources against IPv6 rules). */
function ipv6ToBigInt(ip: string): bigint | null {
  if (isIP(ip) !== 6) return null;
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipv4ToInt(v4[1]!);
    text = `${text.slice(0, v4.index)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? 0 : 8 - headParts.length - tailParts.length;
  const groups = [...headParts, ...new Array(zeros).fill('0'), ...tailParts];
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(Number.parseInt(g, 16) || 0);
  return value;
}

/** Private, unique-local and link-local ranges (RFC 1918, RFC 3927, RFC 4193, RFC 4291). */
export function isPrivateIp(ip: string): boolean {
  const n = ipv4ToInt(ip);
  return n >= 0 ? isPrivateV4(n) : isPrivateV6(ip);
}

/** isPrivateIp for an IPv4 address already turned into its integer. */
function isPrivateV4(n: number): boolean {
  const a = n >>> 24;
  const b = (n >>> 16) & 255;
  return (
    a === 10 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 169 && b === 254)
  );
}

function isPrivateV6(ip: string): boolean {
  // IPv6 in canonical (lower-case) form; the first hextet must be 4 digits: fc00::/7 is
  // fc00–fdff, fe80::/10 is fe80–febf ("fc::1" is 0x00fc, not unique-local).
  if (ip.indexOf(':') !== 4 || ip.charCodeAt(0) !== 0x66 /* f */) return false;
  const second = ip.charCodeAt(1);
  if (second === 0x63 /* c */ || second === 0x64 /* d */) return true;
  const third = ip.charCodeAt(2);
  return (
    second === 0x65 /* e */ &&
    (third === 0x38 || third === 0x39 || third === 0x61 || third === 0x62)
  );
}

interface V4Rule {
  net: number;
  mask: number;
}
interface V6Rule {
  net: bigint;
  mask: bigint;
}

function v4Mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}
function v6Mask(prefix: number): bigint {
  return prefix === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - prefix)) - 1n);
}

/** The subnet an address belongs to when trustsubnet is on: "10.1.2." or a /64 key. */
function subnetKey(ip: string): string {
  const n = ipv4ToInt(ip);
  if (n >= 0) return ip.slice(0, ip.lastIndexOf('.') + 1);
  const value = ipv6ToBigInt(ip);
  return value === null ? ip : `v6:${(value >> 64n).toString(16)}`;
}

export class TrustPolicy {
  readonly #config: TrustConfig;
  readonly #v4: V4Rule[] = [];
  readonly #v6: V6Rule[] = [];
  readonly #own: Set<string>;
  /** Dynamic trust: address (or subnet key) → expiry ms. Insertion order = age. */
  readonly #dynamic = new Map<string, number>();
  readonly #capacity: number;
  readonly #ttlMs: number;

  constructor(config: TrustConfig, ttlMs: number, capacity = 65_536) {
    this.#config = config;
    this.#ttlMs = ttlMs;
    this.#capacity = capacity;
    this.#own = new Set(config.ownAddresses);
    for (const text of config.trustedip) {
      const cidr = parseCidr(text);
      if (cidr === null) continue; // the schema validated it; skip defensively
      if (cidr.family === 4) {
        const prefix = config.trustsubnet ? Math.min(cidr.prefix, 24) : cidr.prefix;
        const mask = v4Mask(prefix);
        this.#v4.push({ net: (ipv4ToInt(cidr.address) & mask) >>> 0, mask });
      } else {
        const prefix = config.trustsubnet ? Math.min(cidr.prefix, 64) : cidr.prefix;
        const mask = v6Mask(prefix);
        this.#v6.push({ net: (ipv6ToBigInt(cidr.address) ?? 0n) & mask, mask });
      }
    }
  }

  /** Why `ip` is trusted at `now`, or undefined. Cheap for IPv4: integer compares. */
  reason(ip: string, now: number): TrustReason | undefined {
    return this.reasonGiven(this.staticTrust(ip), ip, now);
  }

  /**
   * The part of reason() that depends on the configuration only: a reason, 'never' (the
   * allowtrustedip level rules out any trust for the address) or 'dynamic' (only trust
   * from an authentication or registration can apply). A caller may remember it per
   * address for as long as it uses this policy.
   */
  staticTrust(ip: string): StaticTrust {
    if (isLocalOnly(ip)) return 'local';
    const level = this.#config.allowtrustedip;
    if (level <= 0) return 'never';
    if (this.#own.size > 0 && this.#own.has(ip)) return 'own-address';
    if (level === 1) return 'never';
    // Parsed once for the private-range and static-rule checks below (-1: not IPv4).
    const n = ipv4ToInt(ip);
    const isPrivate = n >= 0 ? isPrivateV4(n) : isPrivateV6(ip);
    if (level === 2 && !isPrivate) return 'never';
    if (this.#config.trustlanip && isPrivate) return 'trustlanip';
    if (this.#matchesStatic(ip, n)) return 'trustedip';
    return 'dynamic';
  }

  /** reason(), given staticTrust(ip). */
  reasonGiven(trust: StaticTrust, ip: string, now: number): TrustReason | undefined {
    if (trust === 'never') return undefined;
    if (trust !== 'dynamic') return trust;
    return this.#dynamic.size > 0 ? this.#dynamicReason(ip, now) : undefined;
  }

  /** `n` is ipv4ToInt(ip). */
  #matchesStatic(ip: string, n: number): boolean {
    if (n >= 0) {
      for (const rule of this.#v4) if ((n & rule.mask) >>> 0 === rule.net) return true;
      return false;
    }
    if (this.#v6.length === 0) return false;
    const value = ipv6ToBigInt(ip);
    if (value === null) return false;
    for (const rule of this.#v6) if ((value & rule.mask) === rule.net) return true;
    return false;
  }

  #dynamicKey(ip: string): string {
    return this.#config.trustsubnet ? subnetKey(ip) : ip;
  }

  #dynamicReason(ip: string, now: number): TrustReason | undefined {
    const key = this.#dynamicKey(ip);
    const expires = this.#dynamic.get(key);
    if (expires === undefined) return undefined;
    if (now >= expires) {
      this.#dynamic.delete(key);
      return undefined;
    }
    return this.#config.trustauthip ? 'trustauthip' : 'treatusersasknownip';
  }

  /**
   * A user authenticated from `ip` (method: the request's method). Trusts the address when
   * trustauthip is on, or when treatusersasknownip is on and it was a REGISTER.
   */
  authenticated(ip: string, method: string | undefined, now: number): boolean {
    const byAuth = this.#config.trustauthip;
    const byRegister = this.#config.treatusersasknownip && method === 'REGISTER';
    if (!byAuth && !byRegister) return false;
    if (this.#config.allowtrustedip < 2) return false;
    if (this.#config.allowtrustedip === 2 && !isPrivateIp(ip)) return false;
    const key = this.#dynamicKey(ip);
    this.#dynamic.delete(key); // re-insert at the young end
    this.#dynamic.set(key, now + this.#ttlMs);
    if (this.#dynamic.size > this.#capacity) {
      const oldest = this.#dynamic.keys().next().value;
      if (oldest !== undefined) this.#dynamic.delete(oldest);
    }
    return true;
  }

  /** Forgets dynamic trust (all of it, or one address). */
  forget(ip?: string): void {
    if (ip === undefined) this.#dynamic.clear();
    else this.#dynamic.delete(this.#dynamicKey(ip));
  }

  get dynamicSize(): number {
    return this.#dynamic.size;
  }
}
