// What the kernel should hold, kept in memory so it can be put back: policy calls made
// before the kernel is touched at start are replayed when it is (daemon start order), and
// when the nftables ruleset vanishes (`nft flush ruleset`, a reloaded firewall) it is
// rebuilt from here. Bans and trusted sources keep their absolute expiry, so a replay
// gives each the time it has left, not its original ttl.
//
// Bounded: at most MAX_ENTRIES bans and as many trusted sources (the XDP maps are smaller
// still); expired entries are dropped on replay and by prune().
import { DataplaneErrors as E } from './errors.ts';
import { parseCidr, parseIp } from './nft-address.ts';

export const MAX_ENTRIES = 1 << 20;

export interface ReplayBan {
  ip: string;
  ttlSeconds: number;
  reason: string;
}

export class DesiredState {
  /** ip → expiry in ms since epoch (0 = until lifted) and reason. */
  readonly #bans = new Map<string, { expiresAt: number; reason: string }>();
  readonly #trusted = new Map<string, number>();
  readonly #allow = new Set<string>();
  readonly #deny = new Set<string>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  ban(ip: string, ttlSeconds: number, reason: string): void {
    const key = parseIp(ip).text;
    if (!this.#bans.has(key) && this.#bans.size >= MAX_ENTRIES) this.prune();
    if (!this.#bans.has(key) && this.#bans.size >= MAX_ENTRIES)
      throw new E.TG_DP_MAP_FULL('bans (desired state)', MAX_ENTRIES);
    this.#bans.set(key, { expiresAt: this.#expiry(ttlSeconds), reason });
  }

  unban(ipOrAll: string): void {
    if (ipOrAll === 'all') this.#bans.clear();
    else this.#bans.delete(parseIp(ipOrAll).text);
  }

  trust(ip: string, ttlSeconds: number): void {
    const key = parseIp(ip).text;
    if (!this.#trusted.has(key) && this.#trusted.size >= MAX_ENTRIES) this.prune();
    if (!this.#trusted.has(key) && this.#trusted.size >= MAX_ENTRIES)
      throw new E.TG_DP_MAP_FULL('trusted sources (desired state)', MAX_ENTRIES);
    this.#trusted.set(key, this.#expiry(ttlSeconds));
  }

  untrust(ip: string): void {
    this.#trusted.delete(parseIp(ip).text);
  }

  allowCidr(cidr: string): void {
    this.#allow.add(parseCidr(cidr).text);
  }

  denyCidr(cidr: string): void {
    this.#deny.add(parseCidr(cidr).text);
  }

  removeCidr(cidr: string): void {
    const key = parseCidr(cidr).text;
    this.#allow.delete(key);
    this.#deny.delete(key);
  }

  /** Bans still in force, each with the whole seconds it has left (0 = until lifted). */
  bans(): ReplayBan[] {
    this.prune();
    return [...this.#bans].map(([ip, b]) => ({
      ip,
      ttlSeconds: this.#left(b.expiresAt),
      reason: b.reason,
    }));
  }

  trusted(): { ip: string; ttlSeconds: number }[] {
    this.prune();
    return [...this.#trusted].map(([ip, expiresAt]) => ({ ip, ttlSeconds: this.#left(expiresAt) }));
  }

  cidrs(): { allow: string[]; deny: string[] } {
    return { allow: [...this.#allow], deny: [...this.#deny] };
  }

  /** Forgets what has expired. */
  prune(): void {
    const now = this.#now();
    for (const [ip, b] of this.#bans)
      if (b.expiresAt !== 0 && b.expiresAt <= now) this.#bans.delete(ip);
    for (const [ip, at] of this.#trusted) if (at !== 0 && at <= now) this.#trusted.delete(ip);
  }

  #expiry(ttlSeconds: number): number {
    return ttlSeconds === 0 ? 0 : this.#now() + ttlSeconds * 1000;
  }

  #left(expiresAt: number): number {
    return expiresAt === 0 ? 0 : Math.max(1, Math.ceil((expiresAt - this.#now()) / 1000));
  }
}
