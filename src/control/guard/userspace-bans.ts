// Bans the guard enforces itself, in userspace: whole addresses (with enablefirewall 2 that
// is where bans are enforced; the kernel has its own copy from BanService at higher levels)
// and IP:port pairs (maxfailedauthenabledipport: the kernel bans whole addresses only, so a
// NAT neighbour's ban on one port lives here alone). Bounded: the oldest are forgotten first.
import type { GuardDecision } from './events.ts';

const DROP_BANNED: GuardDecision = Object.freeze({ action: 'drop', rule: 'banned', scope: 'ip' });
const DROP_PORT_BANNED: GuardDecision = Object.freeze({
  action: 'drop',
  rule: 'banned',
  scope: 'ip:port',
});

/** A bounded map of bans: key → expiry ms (insertion order = age). */
class ExpiringSet {
  readonly #map = new Map<string, number>();
  readonly #capacity: number;
  constructor(capacity: number) {
    this.#capacity = capacity;
  }
  add(key: string, expiresAt: number): void {
    this.#map.delete(key);
    this.#map.set(key, expiresAt);
    if (this.#map.size > this.#capacity) {
      const oldest = this.#map.keys().next().value;
      if (oldest !== undefined) this.#map.delete(oldest);
    }
  }
  has(key: string, now: number): boolean {
    const expires = this.#map.get(key);
    if (expires === undefined) return false;
    if (now < expires) return true;
    this.#map.delete(key);
    return false;
  }
  delete(key: string): boolean {
    return this.#map.delete(key);
  }
  keys(): IterableIterator<string> {
    return this.#map.keys();
  }
  clear(): void {
    this.#map.clear();
  }
  get size(): number {
    return this.#map.size;
  }
}

export class UserspaceBans {
  readonly #ips: ExpiringSet;
  readonly #ports: ExpiringSet;
  /** ip → when its last IP:port ban expires, so the common path skips the "ip:port" lookup. */
  readonly #portBannedIps = new Map<string, number>();

  constructor(capacity: number) {
    this.#ips = new ExpiringSet(capacity);
    this.#ports = new ExpiringSet(capacity);
  }

  banIp(ip: string, expiresAt: number): void {
    this.#ips.add(ip, expiresAt);
  }

  banPort(ip: string, port: number, expiresAt: number): void {
    this.#ports.add(`${ip}:${port}`, expiresAt);
    this.#portBannedIps.set(ip, expiresAt);
  }

  /** The drop decision for a banned ip or ip:port, or undefined. */
  decision(ip: string, port: number, now: number): GuardDecision | undefined {
    if (this.#ips.size > 0 && this.#ips.has(ip, now)) return DROP_BANNED;
    if (this.#portBannedIps.size > 0) {
      const until = this.#portBannedIps.get(ip);
      if (until === undefined) return undefined;
      if (now >= until) {
        this.#portBannedIps.delete(ip);
        return undefined;
      }
      if (this.#ports.has(`${ip}:${port}`, now)) return DROP_PORT_BANNED;
    }
    return undefined;
  }

  /**
   * Lifts the bans of one address, its IP:port bans included ('all': every ban); returns the
   * "ip:port" keys lifted, so their counters can be forgotten too.
   */
  forget(target: string): string[] {
    if (target === 'all') {
      const keys = [...this.#ports.keys()];
      this.#ips.clear();
      this.#ports.clear();
      this.#portBannedIps.clear();
      return keys;
    }
    this.#ips.delete(target);
    const prefix = `${target}:`;
    const lifted: string[] = [];
    for (const key of [...this.#ports.keys()]) {
      if (key.startsWith(prefix) && key.lastIndexOf(':') === prefix.length - 1) {
        this.#ports.delete(key);
        lifted.push(key);
      }
    }
    this.#portBannedIps.delete(target);
    return lifted;
  }

  get ipCount(): number {
    return this.#ips.size;
  }

  get portCount(): number {
    return this.#ports.size;
  }
}
