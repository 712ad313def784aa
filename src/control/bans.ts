// Bans: the record in LMDB is the truth; the dataplane (XDP maps, nftables sets) is a copy
// that is rebuilt from it at start (`restore`). Every change is written durably first and
// then pushed to the kernel, so a crash in between is repaired by the next restore.

import type { Dataplane } from '../dataplane/types.ts';
import { canonicalIp, isLocalOnly } from '../ip.ts';
import type { Logger } from '../log.ts';
import type { BanRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import { ControlErrors } from './errors.ts';

export interface BanRequest {
  /** Seconds; 0 = until lifted. */
  ttlSeconds: number;
  reason: string;
  origin: BanRecord['origin'];
  evidence?: Record<string, unknown>;
}

export const MAX_REASON_LENGTH = 200;

/** Expired bans named one per line by one sweep; past that, one line counts the rest. */
const LOGGED_PER_SWEEP = 100;

export class BanService {
  readonly #store: Store;
  readonly #dataplane: Dataplane;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #liftedListeners = new Set<(target: string) => void>();

  constructor(store: Store, dataplane: Dataplane, log: Logger, now: () => number = Date.now) {
    this.#store = store;
    this.#dataplane = dataplane;
    this.#log = log;
    this.#now = now;
  }

  /** Called after a ban is lifted ('all' or an address), e.g. so the guard forgets it too. */
  onLifted(listener: (target: string) => void): void {
    this.#liftedListeners.add(listener);
  }

  /** Validates and canonicalises an address given by an operator or seen on the wire. */
  static address(text: string): string {
    const ip = canonicalIp(text);
    if (ip === null) throw new ControlErrors.TG_BAN_BAD_ADDRESS(String(text).slice(0, 80));
    return ip;
  }

  async ban(text: string, request: BanRequest): Promise<BanRecord> {
    const ip = BanService.address(text);
    if (isLocalOnly(ip)) throw new ControlErrors.TG_BAN_PROTECTED(ip, 'it is this machine');
    const now = this.#now();
    const record: BanRecord = {
      ip,
      reason: request.reason.slice(0, MAX_REASON_LENGTH),
      origin: request.origin,
      createdAt: now,
      expiresAt: request.ttlSeconds > 0 ? now + request.ttlSeconds * 1000 : 0,
      ...(request.evidence ? { evidence: request.evidence } : {}),
    };
    this.#store.durable(() => this.#store.tables.bans.put(ip, record));
    await this.#dataplane.ban(ip, request.ttlSeconds, record.reason);
    this.#log.warn(
      { ip, reason: record.reason, origin: record.origin, ttl: request.ttlSeconds },
      'address banned',
    );
    return record;
  }

  /** Lifts one ban (not found → TG_BAN_NOT_FOUND) or every ban ('all'); returns how many. */
  async unban(target: string): Promise<number> {
    const bans = this.#store.tables.bans;
    if (target === 'all') {
      const ips = [...bans.getKeys()] as string[];
      this.#store.durable(() => {
        for (const ip of ips) bans.remove(ip);
      });
      await this.#dataplane.unban('all');
      for (const listener of this.#liftedListeners) listener('all');
      this.#log.warn({ count: ips.length }, 'all bans lifted');
      return ips.length;
    }
    const ip = BanService.address(target);
    const existing = bans.get(ip);
    if (existing === undefined || this.#expired(existing))
      throw new ControlErrors.TG_BAN_NOT_FOUND(ip);
    this.#store.durable(() => bans.remove(ip));
    await this.#dataplane.unban(ip);
    for (const listener of this.#liftedListeners) listener(ip);
    this.#log.warn({ ip }, 'ban lifted');
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

  get(text: string): BanRecord | undefined {
    const record = this.#store.tables.bans.get(BanService.address(text));
    return record && !this.#expired(record) ? record : undefined;
  }

  /** Pushes every ban in force into the dataplane and forgets expired ones. */
  async restore(): Promise<number> {
    this.sweep();
    const bans = this.list();
    const now = this.#now();
    for (const ban of bans) {
      const ttl = ban.expiresAt === 0 ? 0 : Math.max(1, Math.ceil((ban.expiresAt - now) / 1000));
      await this.#dataplane.ban(ban.ip, ttl, ban.reason);
    }
    if (bans.length > 0) this.#log.info({ count: bans.length }, 'bans restored into the dataplane');
    return bans.length;
  }

  /** Deletes expired records (the kernel expires its copies by itself). */
  sweep(): number {
    const expired: BanRecord[] = [];
    for (const { value } of this.#store.tables.bans.getRange()) {
      if (this.#expired(value)) expired.push(value);
    }
    if (expired.length > 0) {
      this.#store.durable(() => {
        for (const ban of expired) this.#store.tables.bans.remove(ban.ip);
      });
      // Every ban that ends is logged; after an attack of many addresses, one line
      // counts the rest rather than thousands of lines at once.
      for (const ban of expired.slice(0, LOGGED_PER_SWEEP)) {
        this.#log.info({ ip: ban.ip, reason: ban.reason, origin: ban.origin }, 'ban expired');
      }
      if (expired.length > LOGGED_PER_SWEEP)
        this.#log.info({ count: expired.length - LOGGED_PER_SWEEP }, 'more bans expired');
    }
    return expired.length;
  }

  #expired(record: BanRecord): boolean {
    return record.expiresAt !== 0 && record.expiresAt <= this.#now();
  }
}
