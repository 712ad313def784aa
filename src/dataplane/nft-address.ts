// Address and prefix parsing for the nftables driver. Nothing reaches nft as text unless it
// went through here first: node:net isIP decides what is an address, and this module turns
// it into a number so prefixes can be masked and overlapping prefixes merged (an nft
// interval set refuses overlapping elements, RFC 4632 §3.1 nesting is allowed by us).
//
//   parseIp('::ffff:10.0.0.1')  → { family: 4, text: '10.0.0.1', value: 167772161n }
//   parseCidr('10.1.2.3/8')     → { family: 4, text: '10.0.0.0/8', first: 10.0.0.0, last: 10.255.255.255 }
import { isIP } from 'node:net';
import { canonicalIp } from '../ip.ts';
import { NftErrors } from './nft-errors.ts';

export type IpFamily = 4 | 6;

export interface ParsedIp {
  family: IpFamily;
  /** Canonical text: dotted quad, or RFC 5952 compressed IPv6. */
  text: string;
  value: bigint;
}

export interface ParsedCidr {
  family: IpFamily;
  /** Canonical text with host bits cleared, e.g. "10.0.0.0/8". */
  text: string;
  prefixLength: number;
  first: bigint;
  last: bigint;
}

/** Longest textual IPv6 address with an embedded IPv4 tail is 45 characters; keep margin. */
const MAX_ADDRESS_TEXT = 64;

const bitsOf = (family: IpFamily): number => (family === 4 ? 32 : 128);

function v4ToBigInt(text: string): bigint {
  let value = 0n;
  for (const part of text.split('.')) value = (value << 8n) | BigInt(Number(part));
  return value;
}

/** From canonical text (canonicalIp never leaves a dotted IPv4 tail). */
function v6ToBigInt(body: string): bigint {
  const [head, rest] = body.split('::') as [string, string | undefined];
  const toGroups = (part: string | undefined): number[] =>
    part === undefined || part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16));
  const headGroups = toGroups(head);
  const restGroups = toGroups(rest);
  const zeros = rest === undefined ? 0 : 8 - headGroups.length - restGroups.length;
  let value = 0n;
  for (const g of [...headGroups, ...new Array<number>(zeros).fill(0), ...restGroups]) {
    value = (value << 16n) | BigInt(g);
  }
  return value;
}

function v4Text(value: bigint): string {
  const parts: number[] = [];
  for (let shift = 24n; shift >= 0n; shift -= 8n) parts.push(Number((value >> shift) & 0xffn));
  return parts.join('.');
}

/** RFC 5952 text via src/ip.ts, so every area spells an address the same way. */
function v6Text(value: bigint): string {
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n)
    groups.push(((value >> shift) & 0xffffn).toString(16));
  return canonicalIp(groups.join(':'))!;
}

export function ipText(family: IpFamily, value: bigint): string {
  return family === 4 ? v4Text(value) : v6Text(value);
}

/**
 * Validates and canonicalises an address. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, what a
 * dual-stack socket reports for an IPv4 peer) become plain IPv4, because that is what the
 * packet carries on the wire. Zone indexes ("fe80::1%eth0") are refused: a set element has none.
 */
export function parseIp(input: unknown): ParsedIp {
  const text =
    typeof input === 'string' && input.length <= MAX_ADDRESS_TEXT && !input.includes('%')
      ? canonicalIp(input)
      : null;
  if (text === null) throw new NftErrors.TG_NFT_BAD_IP(String(input).slice(0, MAX_ADDRESS_TEXT));
  return isIP(text) === 4
    ? { family: 4, text, value: v4ToBigInt(text) }
    : { family: 6, text, value: v6ToBigInt(text) };
}

/**
 * Validates a prefix "addr/len" (a bare address is a host prefix). Host bits are cleared, as
 * ip(8) and iptables do, so "192.168.1.10/24" means 192.168.1.0/24.
 */
export function parseCidr(input: unknown): ParsedCidr {
  if (typeof input !== 'string' || input.length > MAX_ADDRESS_TEXT + 4) {
    throw new NftErrors.TG_NFT_BAD_CIDR(String(input).slice(0, MAX_ADDRESS_TEXT), 'too long');
  }
  const slash = input.indexOf('/');
  const addressPart = slash < 0 ? input : input.slice(0, slash);
  let ip: ParsedIp;
  try {
    ip = parseIp(addressPart);
  } catch {
    throw new NftErrors.TG_NFT_BAD_CIDR(input, `"${addressPart}" is not an address`);
  }
  // A v4-mapped v6 prefix would need its length shifted; refuse rather than guess.
  if (ip.family === 4 && isIP(addressPart) === 6) {
    throw new NftErrors.TG_NFT_BAD_CIDR(input, 'write IPv4-mapped prefixes as IPv4');
  }
  const bits = bitsOf(ip.family);
  let prefixLength = bits;
  if (slash >= 0) {
    const lengthText = input.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(lengthText) || Number(lengthText) > bits) {
      throw new NftErrors.TG_NFT_BAD_CIDR(input, `prefix length must be 0..${bits}`);
    }
    prefixLength = Number(lengthText);
  }
  const hostBits = BigInt(bits - prefixLength);
  const hostMask = (1n << hostBits) - 1n;
  const first = ip.value & ~hostMask & ((1n << BigInt(bits)) - 1n);
  const last = first | hostMask;
  return {
    family: ip.family,
    text: `${ipText(ip.family, first)}/${prefixLength}`,
    prefixLength,
    first,
    last,
  };
}

export interface AddressRange {
  first: bigint;
  last: bigint;
}

/** Union of prefixes as sorted, disjoint, non-adjacent ranges (what an interval set accepts). */
export function mergeRanges(cidrs: Iterable<ParsedCidr>): AddressRange[] {
  const sorted = [...cidrs]
    .map((c) => ({ first: c.first, last: c.last }))
    .sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const merged: AddressRange[] = [];
  for (const range of sorted) {
    const previous = merged.at(-1);
    if (previous !== undefined && range.first <= previous.last + 1n) {
      if (range.last > previous.last) previous.last = range.last;
    } else {
      merged.push({ ...range });
    }
  }
  return merged;
}
