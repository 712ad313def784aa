// Bans: the record in LMDB is the truth; the dataplane (XDP maps, nftables sets) is a copy
// that is rebuilt from it at start (`restore`). Every change is written durably first and
// then pushed to the kernel, so a crash in between is repaired by the next restore.
//
// A ban names one address or a CIDR range (ban-target.ts). An address goes into the kernel's
// ban maps, which expire it by themselves; a range goes into the kernel's CIDR deny lists
// (what `firewall deny` uses: an LPM trie in XDP, an interval set in nftables), which have no
// clock, so `sweep` lifts an expired range (the daemon sweeps every minute).
//
// Two checks keep the list truthful and the operator in (fail2ban's `ignoreself`):
//   - a ban that covers this machine (its addresses, loopback) or the address of the SSH
//     session running the console is refused unless forced;
//   - a ban that an allow rule would let through (the kernel checks allow rules first) is
//     refused with that rule named: nothing is listed as banned that is not dropped.

import { networkInterfaces } from 'node:os';
import type { Dataplane } from '../dataplane/types.ts';
import type { Logger } from '../log.ts';
import type { BanRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import { type BanTarget, banTarget, covers, overlaps } from './ban-target.ts';
import { ControlErrors } from './errors.ts';

export interface BanRequest {
  /** Seconds; 0 = until lifted. */
  ttlSeconds: number;
  reason: string;
  origin: BanRecord['origin'];
  evidence?: Record<string, unknown>;
  /** Ban even what covers this machine or the console's SSH session. */
  force?: boolean;
  /** The address of the SSH session the request came from (SSH_CLIENT), kept out of bans. */
  sshClient?: string;
}

/** The kernel's static CIDR rules in force (firewall.ts staticRules). */
export interface StaticRuleSource {
  allow: readonly string[];
  deny: readonly string[];
}

/** Whether a stored ban is dropped in the kernel now, and if not, why. */
export interface Enforcement {
  enforced: boolean;
  why?: string;
}

export const MAX_REASON_LENGTH = 200;
/** Range bans live in the kernel's CIDR lists, rewritten whole in nftables on each change. */
export const MAX_RANGE_BANS = 1000;

const LOOPBACK = ['127.0.0.0/8', '::1', '0.0.0.0', '::'].map((t) => banTarget(t)!);

/** Expired bans named one per line by one sweep; past that, one line counts the rest. */
const LOGGED_PER_SWEEP = 100;

export class BanService {
  readonly #store: Store;
  readonly #dataplane: Dataplane;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #liftedListeners = new Set<(target: string) => void>();
  readonly #bannedListeners = new Set<(record: BanRecord) => void>();
  /** Counts every change of the stored bans, so a reader can tell its copy is stale. */
  #changes = 0;
  #rules: () => StaticRuleSource = () => ({ allow: [], deny: [] });
  #ownAddresses: () => string[] = hostAddresses;
  /** Kernel removals of expired ranges, one at a time, in order. */
  #sweeping: Promise<void> = Promise.resolve();

  constructor(store: Store, dataplane: Dataplane, log: Logger, now: () => number = Date.now) {
    this.#store = store;
    this.#dataplane = dataplane;
    this.#log = log;
    this.#now = now;
  }

  /** Where the static firewall rules come from (the daemon passes firewall.staticRules). */
  useStaticRules(rules: () => StaticRuleSource): void {
    this.#rules = rules;
  }

  /** This machine's addresses (default: every interface's); tests give their own. */
  useOwnAddresses(addresses: () => string[]): void {
    this.#ownAddresses = addresses;
  }

  /** Called after a ban is lifted ('all', an address or a range), e.g. so the guard forgets it too. */
  onLifted(listener: (target: string) => void): void {
    this.#liftedListeners.add(listener);
  }

  /** Called after a ban is stored and pushed to the dataplane (metrics count them per reason). */
  onBanned(listener: (record: BanRecord) => void): void {
    this.#bannedListeners.add(listener);
  }

  /** How many times the stored bans changed since start (ban, unban, sweep). */
  get changes(): number {
    return this.#changes;
  }

  /** Validates and canonicalises an address (not a range) given by an operator or the wire. */
  static address(text: string): string {
    const target = banTarget(text);
    if (target === null || target.range)
      throw new ControlErrors.TG_BAN_BAD_ADDRESS(String(text).slice(0, 80));
    return target.text;
  }

  /** Validates and canonicalises an address or CIDR range. */
  static target(text: string): BanTarget {
    const target = banTarget(text);
    if (target === null) throw new ControlErrors.TG_BAN_BAD_ADDRESS(String(text).slice(0, 80));
    return target;
  }

  async ban(text: string, request: BanRequest): Promise<BanRecord> {
    const target = BanService.target(text);
    if (!request.force) this.#refuseProtected(target, request.sshClient);
    const passedBy = this.#allowRuleOver(target);
    if (passedBy) throw new ControlErrors.TG_BAN_NOT_ENFORCED(target.text, passedBy);
    const bans = this.#store.tables.bans;
    if (target.range && bans.get(target.text) === undefined) {
      const ranges = this.list().filter((b) => b.ip.includes('/')).length;
      if (ranges >= MAX_RANGE_BANS) throw new ControlErrors.TG_BAN_TOO_MANY_RANGES(MAX_RANGE_BANS);
    }
    const now = this.#now();
    const record: BanRecord = {
      ip: target.text,
      reason: request.reason.slice(0, MAX_REASON_LENGTH),
      origin: request.origin,
      createdAt: now,
      expiresAt: request.ttlSeconds > 0 ? now + request.ttlSeconds * 1000 : 0,
      ...(request.evidence ? { evidence: request.evidence } : {}),
    };
    this.#store.durable(() => bans.put(target.text, record));
    this.#changes++;
    await this.#push(record, request.ttlSeconds);
    for (const listener of this.#bannedListeners) listener(record);
    this.#log.warn(
      {
        ip: target.text,
        reason: record.reason,
        origin: record.origin,
        ttl: request.ttlSeconds,
        ...(request.force ? { forced: true } : {}),
      },
      target.range ? 'range banned' : 'address banned',
    );
    return record;
  }

  /**
   * Lifts one ban (an address or a range, not found → TG_BAN_NOT_FOUND) or every ban ('all',
   * any case); returns how many.
   */
  async unban(text: string): Promise<number> {
    const bans = this.#store.tables.bans;
    if (text.toLowerCase() === 'all') {
      const records = [...bans.getRange()].map((e) => e.value);
      this.#store.durable(() => {
        for (const r of records) bans.remove(r.ip);
      });
      this.#changes++;
      await this.#dataplane.unban('all');
      for (const r of records) if (r.ip.includes('/')) await this.#liftRange(r.ip);
      for (const listener of this.#liftedListeners) listener('all');
      this.#log.warn({ count: records.length }, 'all bans lifted');
      return records.length;
    }
    const target = BanService.target(text);
    const existing = bans.get(target.text);
    if (existing === undefined || this.#expired(existing)) {
      const range = target.range ? undefined : this.#rangeCovering(target);
      if (range) throw new ControlErrors.TG_BAN_INSIDE_RANGE(target.text, range);
      throw new ControlErrors.TG_BAN_NOT_FOUND(target.text);
    }
    this.#store.durable(() => bans.remove(target.text));
    this.#changes++;
    if (target.range) await this.#liftRange(target.text);
    else await this.#dataplane.unban(target.text);
    for (const listener of this.#liftedListeners) listener(target.text);
    this.#log.warn({ ip: target.text }, 'ban lifted');
    return 1;
  }

  /** Bans in force, newest first. */
  list(): BanRecord[] {
    const out: BanRecord[] = [];
    for (const { value } of this.#store.tables.bans.getRange()) {
      if (!this.#expired(value)) out.push(value);
    }
    return out.sort((a, b) => b.createdAt - a.createdAt);
  }

  /** The ban on exactly this address or range, if one is in force. */
  get(text: string): BanRecord | undefined {
    const record = this.#store.tables.bans.get(BanService.target(text).text);
    return record && !this.#expired(record) ? record : undefined;
  }

  /**
   * Whether the kernel drops what this ban names: not without a kernel dataplane, and not
   * where an allow rule made after the ban lets it through first.
   */
  enforcement(record: BanRecord): Enforcement {
    const target = banTarget(record.ip);
    const passedBy = target && this.#allowRuleOver(target);
    if (passedBy) return { enforced: false, why: passedBy };
    if (this.#dataplane.mode === 'off') {
      return { enforced: false, why: 'no kernel dataplane (mode off; see "status")' };
    }
    return { enforced: true };
  }

  /** Pushes every ban in force into the dataplane and forgets expired ones. */
  async restore(): Promise<number> {
    this.sweep();
    await this.#sweeping;
    const bans = this.list();
    const now = this.#now();
    for (const ban of bans) {
      const ttl = ban.expiresAt === 0 ? 0 : Math.max(1, Math.ceil((ban.expiresAt - now) / 1000));
      await this.#push(ban, ttl);
    }
    if (bans.length > 0) this.#log.info({ count: bans.length }, 'bans restored into the dataplane');
    return bans.length;
  }

  /**
   * Deletes expired records. The kernel expires its copies of address bans by itself; expired
   * ranges are taken out of its CIDR lists here (in the background, in order).
   */
  sweep(): number {
    const expired: BanRecord[] = [];
    for (const { value } of this.#store.tables.bans.getRange()) {
      if (this.#expired(value)) expired.push(value);
    }
    if (expired.length === 0) return 0;
    this.#store.durable(() => {
      for (const ban of expired) this.#store.tables.bans.remove(ban.ip);
    });
    this.#changes++;
    // Every ban that ends is logged; after an attack of many addresses, one line
    // counts the rest rather than thousands of lines at once.
    for (const ban of expired.slice(0, LOGGED_PER_SWEEP)) {
      this.#log.info({ ip: ban.ip, reason: ban.reason, origin: ban.origin }, 'ban expired');
    }
    if (expired.length > LOGGED_PER_SWEEP)
      this.#log.info({ count: expired.length - LOGGED_PER_SWEEP }, 'more bans expired');
    for (const r of expired.filter((b) => b.ip.includes('/'))) {
      this.#sweeping = this.#sweeping
        .then(() => this.#liftRange(r.ip))
        .catch((err: Error) =>
          this.#log.error({ ip: r.ip, err }, 'expired range still in the kernel'),
        );
    }
    return expired.length;
  }

  /** Range bans are ours only while no static deny rule names the same range. */
  async #liftRange(cidr: string): Promise<void> {
    if (this.#rules().deny.some((d) => banTarget(d)?.text === cidr)) return;
    await this.#dataplane.removeCidr(cidr);
  }

  async #push(record: BanRecord, ttlSeconds: number): Promise<void> {
    if (record.ip.includes('/')) await this.#dataplane.denyCidr(record.ip);
    else await this.#dataplane.ban(record.ip, ttlSeconds, record.reason);
  }

  /** Whether target is one of the range bans this service holds (firewall.ts keeps them). */
  holdsRange(cidr: string): boolean {
    const target = banTarget(cidr);
    return target?.range === true && this.get(target.text) !== undefined;
  }

  #refuseProtected(target: BanTarget, sshClient: string | undefined): void {
    for (const loop of LOOPBACK) {
      if (overlaps(target, loop)) {
        throw new ControlErrors.TG_BAN_PROTECTED(
          target.text,
          `it covers ${loop.text}, this machine's loopback`,
        );
      }
    }
    for (const own of this.#ownAddresses()) {
      const address = banTarget(own);
      if (address && overlaps(target, address)) {
        throw new ControlErrors.TG_BAN_PROTECTED(
          target.text,
          `it covers ${address.text}, an address of this machine`,
        );
      }
    }
    const ssh = sshClient === undefined ? null : banTarget(sshClient);
    if (ssh && !ssh.range && overlaps(target, ssh)) {
      throw new ControlErrors.TG_BAN_PROTECTED(
        target.text,
        `it covers ${ssh.text}, the address of the SSH session running this console`,
      );
    }
  }

  /** The allow rule that lets (part of) target through before any ban, described; or null. */
  #allowRuleOver(target: BanTarget): string | null {
    for (const rule of this.#rules().allow) {
      const allow = banTarget(rule);
      if (allow && overlaps(allow, target)) {
        const part = covers(allow, target) ? 'it' : 'part of it';
        return `the allow rule ${allow.text} (trustedip) passes ${part} before any ban; remove the rule first ("firewall del ${rule}")`;
      }
    }
    return null;
  }

  #rangeCovering(target: BanTarget): string | undefined {
    for (const record of this.list()) {
      if (!record.ip.includes('/')) continue;
      const range = banTarget(record.ip);
      if (range && overlaps(range, target)) return range.text;
    }
    return undefined;
  }

  #expired(record: BanRecord): boolean {
    return record.expiresAt !== 0 && record.expiresAt <= this.#now();
  }
}

/** Every address on this machine's interfaces (what a ban could lock out), loopback aside. */
function hostAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((a) => !a.internal)
    .map((a) => a.address.replace(/%.*$/, ''));
}
