// The ledger: balances, usage counters and CDRs, and the one rule about writing them — a
// balance or counter changes only in the transaction that stores the CDR (or the top-up)
// that changes it, so a kill -9 at any instant leaves money and records agreeing.
//
// In memory first: a call's end updates the account's balance at once (the next authorize
// sees it) and queues its CDR. The queue is written as asynchronous durable transactions
// (Store.commit, then Store.synced), each holding its CDRs and the state, as of its last
// CDR, of every balance and per-IP counter they touched; `acknowledged` counts the CDRs whose
// transaction is on disk. Transactions start at least COMMIT_INTERVAL_MS apart (a CDR after a
// quiet spell goes at once), so under load the CDRs of that time share one. A transaction
// holds at most MAX_TXN_WRITES records (store.ts says why): a busier spell is sealed into
// several batches, each a snapshot of the balances at its end; batches sealed while a
// transaction commits share the next one (as many as fit), so a busy ledger makes few, large
// transactions. They are written strictly in order, and a failed one is retried before any
// later one is written. So the store always holds a prefix of the calls: what a kill -9
// loses is the unwritten tail, its CDRs and their charges together, never one without the
// other.
//
// Day and month are UTC: day = days since the epoch, month = year × 12 + month index. At
// the first change of a new day the finished day's spend is folded into the highest daily
// spend (the dynamic limit learns at the day's end, never from the day it is judging); at a
// new month, an active month (any spend) raises the monthly limit by maxmonthlycreditinc.
import type { Logger } from '../../log.ts';
import type { BalanceRecord, CdrRecord } from '../../store/records.ts';
import { MAX_TXN_WRITES, type Store } from '../../store/store.ts';
import { BillingErrors } from './errors.ts';
import { add, formatMoney, type Micros, micros, parseMoney, sub } from './money.ts';

export const DAY_MS = 86_400_000;
/** Balances kept in memory; past this the least recently used clean ones are dropped. */
const BALANCE_CACHE = 200_000;
/** Per-IP cost windows kept (maxcostperip); the oldest are dropped first. */
const IP_WINDOWS = 65_536;
/**
 * The least time between the starts of two transactions of the write loop. Each commit costs
 * the same pages written and encrypted and one fdatasync however few CDRs it holds: at a
 * call's end per ~2 ms (bench:calls) a transaction each cost more CPU than the rest of the
 * CDR's work (~0.5 ms of CPU per commit, perf). Spaced, the CDRs of this time share one. A
 * CDR after a quiet spell is written at once; under load it waits up to this long more
 * before it is acknowledged.
 */
export const COMMIT_INTERVAL_MS = 50;
/** A credit above this is refused (a typo of a few zeros), in micro-units. */
export const MAX_CREDIT = 1_000_000_000 * 1_000_000;

export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

export function monthOf(ms: number): number {
  const d = new Date(ms);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
}

export function cdrKey(account: string, endedAt: number, callId: string): string {
  return `${account}\u0000${String(Math.max(0, Math.floor(endedAt))).padStart(15, '0')}\u0000${callId}`;
}

export function emptyBalance(now: number): BalanceRecord {
  return {
    creditMicros: 0,
    day: dayOf(now),
    spentDayMicros: 0,
    speechDaySeconds: 0,
    month: monthOf(now),
    spentMonthMicros: 0,
    speechMonthSeconds: 0,
    maxDailyMicros: 0,
    monthlyRaiseMicros: 0,
    updatedAt: now,
  };
}

/** What ending a call changes besides its CDR. */
export interface CallEffects {
  /** Charged to cdr.account (0 for a free or refused call). */
  cost: Micros;
  /** Seconds of speech for the caller's counters (its initiated calls). */
  callerSpeech: number;
  /** The SIP server (trunk) whose terminated-duration counters this call adds to. */
  trunkAccount?: string;
  trunkSpeech?: number;
  /** maxmonthlycreditinc of the account, applied at a month rollover. */
  monthlyIncrement: Micros;
}

interface IpWindow {
  windowStart: number;
  cost: number;
}

/**
 * One transaction's worth: CDRs and the balances and counters as they were right after the
 * last of them (the records are never changed in place, so these are snapshots).
 */
interface Batch {
  cdrs: CdrRecord[];
  balances: Map<string, BalanceRecord>;
  ips: Map<string, IpWindow>;
  /** Committed (by the write loop or by flushSync, whichever came first). */
  written: boolean;
}

export class Ledger {
  readonly #store: Store;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #balances = new Map<string, BalanceRecord>();
  readonly #dirty = new Set<string>();
  readonly #ipCost = new Map<string, IpWindow>();
  readonly #dirtyIps = new Set<string>();
  #queue: CdrRecord[] = [];
  /** Batches sealed and not yet on disk, oldest first. */
  #sealed: Batch[] = [];
  #scheduled = false;
  /** The write loop (#pump) while it runs. */
  #pumping: Promise<void> | undefined;
  /** Resolves when the batches committed so far are synced and counted. */
  #synced: Promise<void> = Promise.resolve();
  #acknowledged = 0;
  #written = 0;
  #transactions = 0;
  #failures = 0;
  /** Per-IP cost window length (maxcallperperiod), ms. */
  ipPeriodMs = DAY_MS;
  /** Told after each batch is on disk: how many CDRs it held. */
  onAcknowledged: ((count: number) => void) | undefined;

  readonly #cacheSize: number;
  readonly #commitInterval: number;
  /** When the write loop last started a transaction (performance.now(), ms). */
  #lastCommit = -Infinity;
  /** The account #set last put at the newest end of #balances. */
  #newest: string | undefined;

  /**
   * `cacheSize`: balances kept in memory (the rest are read from the store when needed);
   * `commitInterval`: the least time between two transactions' starts, ms.
   */
  constructor(
    store: Store,
    log: Logger,
    now: () => number = Date.now,
    cacheSize = BALANCE_CACHE,
    commitInterval = COMMIT_INTERVAL_MS,
  ) {
    this.#store = store;
    this.#log = log;
    this.#now = now;
    this.#cacheSize = cacheSize;
    this.#commitInterval = commitInterval;
  }

  /** The account's balance, rolled over to `now`'s day and month (read-only: do not change). */
  balance(
    account: string,
    now = this.#now(),
    monthlyIncrement: Micros = 0 as Micros,
  ): BalanceRecord {
    let b = this.#balances.get(account);
    if (!b) {
      b =
        this.#unwritten((b) => b.balances, account) ??
        this.#store.tables.balances.get(account) ??
        emptyBalance(now);
      this.#remember(account, b);
    }
    if (b.day !== dayOf(now) || b.month !== monthOf(now)) {
      b = rollOver(b, now, monthlyIncrement);
      this.#balances.set(account, b);
      this.#dirty.add(account);
    }
    return b;
  }

  credit(account: string): Micros {
    return micros(this.balance(account).creditMicros);
  }

  /** Whether a balance record exists (an account that never had one reads as empty). */
  hasBalance(account: string): boolean {
    return (
      this.#balances.has(account) ||
      this.#unwritten((b) => b.balances, account) !== undefined ||
      this.#store.tables.balances.get(account) !== undefined
    );
  }

  /**
   * A call is over: its charge and speech go into the balances now, its CDR into the next
   * batch. The charge was bounded when the call was authorized (a prepaid account never goes
   * below zero: see policy.ts); here it is taken as given.
   */
  record(cdr: CdrRecord, effects: CallEffects): void {
    const now = cdr.endedAt;
    if (cdr.account !== '') {
      const b = { ...this.balance(cdr.account, now, effects.monthlyIncrement) };
      if (effects.cost > 0) {
        b.creditMicros = sub(micros(b.creditMicros), effects.cost);
        b.spentDayMicros = add(micros(b.spentDayMicros), effects.cost);
        b.spentMonthMicros = add(micros(b.spentMonthMicros), effects.cost);
      }
      b.speechDaySeconds += effects.callerSpeech;
      b.speechMonthSeconds += effects.callerSpeech;
      b.updatedAt = now;
      this.#set(cdr.account, b);
    }
    if (effects.trunkAccount && effects.trunkSpeech && effects.trunkSpeech > 0) {
      const t = { ...this.balance(effects.trunkAccount, now) };
      t.speechDaySeconds += effects.trunkSpeech;
      t.speechMonthSeconds += effects.trunkSpeech;
      t.updatedAt = now;
      this.#set(effects.trunkAccount, t);
    }
    if (effects.cost > 0 && cdr.sourceIp) this.#addIpCost(cdr.sourceIp, effects.cost, now);
    this.#queue.push(cdr);
    this.#sealIfFull();
    this.#schedule();
  }

  /** Notes the last refusal on the balance record (`tollgatectl users` shows it). */
  refused(account: string, refusal: NonNullable<BalanceRecord['lastRefusal']>): void {
    const b = { ...this.balance(account, refusal.at), lastRefusal: refusal };
    this.#set(account, b);
    this.#sealIfFull();
    this.#schedule();
  }

  /**
   * Adds `amount` (decimal text, exact; negative takes credit away) to the account's credit,
   * durably, together with every queued CDR: returns the new credit.
   */
  topUp(account: string, amount: string): Micros {
    const delta = parseMoney(amount, 'amount', { negative: true });
    const b = { ...this.balance(account) };
    const credit = add(micros(b.creditMicros), delta);
    if (credit > MAX_CREDIT)
      throw new BillingErrors.TG_BILLING_CREDIT_TOO_HIGH(
        account,
        formatMoney(MAX_CREDIT as Micros),
      );
    b.creditMicros = credit;
    b.updatedAt = this.#now();
    this.#set(account, b);
    this.flushSync();
    return credit;
  }

  /** Sets the credit to exactly `amount` (decimal text), durably; returns it. */
  setCredit(account: string, amount: string): Micros {
    const credit = parseMoney(amount, 'credit', { negative: true });
    if (credit > MAX_CREDIT)
      throw new BillingErrors.TG_BILLING_CREDIT_TOO_HIGH(
        account,
        formatMoney(MAX_CREDIT as Micros),
      );
    const b = { ...this.balance(account), creditMicros: credit, updatedAt: this.#now() };
    this.#set(account, b);
    this.flushSync();
    return credit;
  }

  /** An account deleted: its balance record goes (its CDRs stay: they are history). */
  forget(account: string): void {
    this.#balances.delete(account);
    this.#dirty.delete(account);
    this.flushSync(() => this.#store.tables.balances.remove(account));
  }

  /** Cost of calls from `ip` in its current maxcallperperiod window (maxcostperip). */
  ipCost(ip: string, now = this.#now()): Micros {
    const w = this.#ipWindow(ip, now);
    return micros(w?.cost ?? 0);
  }

  /** CDRs whose transaction is on disk, since start. */
  get acknowledged(): number {
    return this.#acknowledged;
  }

  /** Transactions the write loop has committed (several batches may share one). */
  get transactions(): number {
    return this.#transactions;
  }

  /** CDRs recorded and not yet on disk. */
  get pending(): number {
    let n = this.#queue.length;
    for (const b of this.#sealed) if (!b.written) n += b.cdrs.length;
    return n;
  }

  /**
   * Writes everything queued now, synchronously and durably (admin changes): each sealed batch
   * in its own transaction, in order, `extra` in the last one.
   */
  flushSync(extra?: () => void): void {
    this.#seal();
    const batches = this.#sealed.filter((b) => !b.written);
    if (batches.length === 0) batches.push(emptyBatch());
    // A batch the write loop has queued but lmdb-js has not run yet will find itself written
    // and skip its writes (#write).
    batches.forEach((batch, i) => {
      this.#store.durable(() => {
        this.#write([batch]);
        if (i === batches.length - 1) extra?.();
      });
      this.#markWritten(batch);
    });
    this.#sealed = [];
  }

  /**
   * Resolves when everything queued so far is on disk, or once a write has failed (then the
   * rest stays queued and is retried after a pause, as every write is).
   */
  async flush(): Promise<void> {
    this.#seal();
    this.#pump();
    await this.#pumping;
    await this.#synced;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  /** Writes a batch once the current one would exceed what one transaction may hold. */
  #sealIfFull(): void {
    // Each CDR may write its caller's and its trunk's balance and its IP's counter too.
    if (this.#queue.length + this.#dirty.size + this.#dirtyIps.size + 3 >= MAX_TXN_WRITES)
      this.#seal();
  }

  /** Whether anything was recorded since the last batch was sealed. */
  #unsealed(): boolean {
    return this.#queue.length > 0 || this.#dirty.size > 0 || this.#dirtyIps.size > 0;
  }

  /** Closes the current batch: its CDRs with the balances and counters as they are now. */
  #seal(): void {
    if (!this.#unsealed()) return;
    const cdrs = this.#queue;
    this.#queue = [];
    const balances = new Map<string, BalanceRecord>();
    for (const name of this.#dirty) {
      const b = this.#balances.get(name);
      if (b) balances.set(name, b);
    }
    this.#dirty.clear();
    const ips = new Map<string, IpWindow>();
    for (const ip of this.#dirtyIps) {
      const w = this.#ipCost.get(ip);
      if (w) ips.set(ip, w);
    }
    this.#dirtyIps.clear();
    this.#sealed.push({ cdrs, balances, ips, written: false });
  }

  /**
   * The write loop: the oldest sealed batches, as many as fit in one transaction together,
   * until none is left. Batches sealed while a transaction commits are written together in
   * the next one, so the number of commits and fsyncs follows the disk, not the event loop's
   * ticks: a busy ledger writes fewer, larger transactions. Transactions start at least
   * COMMIT_INTERVAL_MS apart: what is recorded meanwhile is sealed just before the next one
   * and shares it. The next transaction starts once this one is committed (so lmdb-js cannot
   * merge the two into one too large) while this one's fsync runs; its CDRs count as
   * acknowledged once synced. A transaction that fails stops the loop and is retried first
   * (after a pause), before anything later is written, so the store never holds a later
   * balance without the CDRs before it.
   */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = (async () => {
      for (;;) {
        // Batches already sealed (a full one, or by flush()) go at once; only recorded CDRs wait.
        const wait = this.#lastCommit + this.#commitInterval - performance.now();
        if (wait > 0 && this.#sealed.length === 0 && this.#unsealed())
          await new Promise((resolve) => setTimeout(resolve, wait));
        this.#seal();
        if (this.#sealed.length === 0) break;
        const group = this.#nextGroup();
        if (group.length > 0) {
          this.#lastCommit = performance.now();
          try {
            await this.#store.commit(() => this.#write(group));
          } catch (err) {
            this.#failures++;
            const cdrs = group.reduce((n, b) => n + b.cdrs.length, 0);
            this.#log.error({ err, cdrs }, 'CDR batch not written; retrying');
            setTimeout(() => this.#pump(), Math.min(5000, 100 * this.#failures)).unref();
            return;
          }
          this.#failures = 0;
          this.#transactions++;
          const synced = this.#store.synced();
          this.#synced = Promise.all([this.#synced, synced]).then(
            () => {
              for (const batch of group) this.#markWritten(batch);
            },
            (err: unknown) => this.#log.error({ err }, 'CDR batch committed but not synced'),
          );
        }
        // flushSync may have written (and dropped) some of them meanwhile.
        while (
          this.#sealed.length > 0 &&
          (this.#sealed[0]!.written || group.includes(this.#sealed[0]!))
        )
          this.#sealed.shift();
      }
    })().finally(() => {
      this.#pumping = undefined;
    });
  }

  /** The oldest unwritten batches whose records fit in one transaction together. */
  #nextGroup(): Batch[] {
    const group: Batch[] = [];
    let records = 0;
    for (const batch of this.#sealed) {
      if (batch.written) continue;
      const size = batch.cdrs.length + batch.balances.size + batch.ips.size;
      if (group.length > 0 && records + size > MAX_TXN_WRITES) break;
      group.push(batch);
      records += size;
    }
    return group;
  }

  /**
   * Puts batches, in order, in the current transaction: their CDRs, and each balance and
   * counter as the last of them left it. One already written (by flushSync, which may run
   * while the write loop waits for lmdb-js) is skipped: its older balances must not go over
   * the ones written since.
   */
  #write(batches: readonly Batch[]): void {
    const t = this.#store.tables;
    const balances = new Map<string, BalanceRecord>();
    const ips = new Map<string, IpWindow>();
    for (const batch of batches) {
      if (batch.written) continue;
      for (const cdr of batch.cdrs) t.cdrs.put(cdrKey(cdr.account, cdr.endedAt, cdr.callId), cdr);
      for (const [name, b] of batch.balances) balances.set(name, b);
      for (const [ip, w] of batch.ips) ips.set(ip, w);
    }
    for (const [name, b] of balances) t.balances.put(name, b);
    for (const [ip, w] of ips)
      t.counters.put(`ipcost:${ip}`, { count: w.cost, windowStart: w.windowStart });
  }

  #markWritten(batch: Batch): void {
    if (batch.written) return;
    batch.written = true;
    this.#done(batch.cdrs.length);
  }

  #done(count: number): void {
    this.#failures = 0;
    this.#acknowledged += count;
    this.#written += count;
    if (count > 0) this.onAcknowledged?.(count);
  }

  /**
   * The newest value of `key` in a batch not committed yet. The caches may let a value go
   * once its batch is sealed (it is no longer dirty), and the store does not hold it until
   * the batch commits: reading the store then would give the value before that batch.
   */
  #unwritten<V>(pick: (batch: Batch) => Map<string, V>, key: string): V | undefined {
    for (let i = this.#sealed.length - 1; i >= 0; i--) {
      const batch = this.#sealed[i]!;
      const value = batch.written ? undefined : pick(batch).get(key);
      if (value !== undefined) return value;
    }
    return undefined;
  }

  #set(account: string, b: BalanceRecord): void {
    // Moved to the newest end (the cache drops the oldest first), unless it is there already:
    // the delete would shrink and regrow a small Map's table on every call of one account.
    if (account !== this.#newest) this.#balances.delete(account);
    // Dirty first: #remember never lets a dirty balance go, and this one must not be the
    // one it lets go (it would be lost, not written).
    this.#dirty.add(account);
    this.#remember(account, b);
  }

  /** Sets `account`'s balance; a new one goes at the newest end. */
  #remember(account: string, b: BalanceRecord): void {
    if (!this.#balances.has(account)) this.#newest = account;
    this.#balances.set(account, b);
    if (this.#balances.size <= this.#cacheSize) return;
    for (const name of this.#balances.keys()) {
      if (this.#dirty.has(name)) continue;
      this.#balances.delete(name);
      break;
    }
  }

  #ipWindow(ip: string, now: number): IpWindow | undefined {
    let w = this.#ipCost.get(ip);
    if (!w) {
      const stored = this.#store.tables.counters.get(`ipcost:${ip}`);
      w =
        this.#unwritten((b) => b.ips, ip) ??
        (stored && { windowStart: stored.windowStart, cost: stored.count });
      if (!w) return undefined;
      this.#ipCost.set(ip, w);
    }
    if (now - w.windowStart >= this.ipPeriodMs) {
      w = { windowStart: now, cost: 0 };
      this.#ipCost.set(ip, w);
    }
    return w;
  }

  #addIpCost(ip: string, cost: Micros, now: number): void {
    const w = this.#ipWindow(ip, now) ?? { windowStart: now, cost: 0 };
    const next = { windowStart: w.windowStart, cost: add(micros(w.cost), cost) };
    this.#ipCost.delete(ip);
    this.#ipCost.set(ip, next);
    this.#dirtyIps.add(ip);
    if (this.#ipCost.size > IP_WINDOWS) {
      const oldest = this.#ipCost.keys().next().value!;
      if (!this.#dirtyIps.has(oldest)) this.#ipCost.delete(oldest);
    }
  }
}

function emptyBatch(): Batch {
  return { cdrs: [], balances: new Map(), ips: new Map(), written: false };
}

/** The balance moved to `now`'s day and month (see the top of the file). */
export function rollOver(b: BalanceRecord, now: number, monthlyIncrement: Micros): BalanceRecord {
  const day = dayOf(now);
  const month = monthOf(now);
  const out = { ...b };
  if (b.day !== day) {
    // The finished day (if it was later than any seen) becomes the dynamic limit's base.
    if (day > b.day) out.maxDailyMicros = Math.max(b.maxDailyMicros, b.spentDayMicros);
    out.day = day;
    out.spentDayMicros = 0;
    out.speechDaySeconds = 0;
  }
  if (b.month !== month) {
    if (month > b.month && b.spentMonthMicros > 0)
      out.monthlyRaiseMicros = add(micros(b.monthlyRaiseMicros), monthlyIncrement);
    out.month = month;
    out.spentMonthMicros = 0;
    out.speechMonthSeconds = 0;
  }
  return out;
}
