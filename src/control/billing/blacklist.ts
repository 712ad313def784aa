// Number blacklists (the reference's fixed, dynamic and smart blacklist modules): dialled
// numbers a call may not go to.
//
//   fixed     set by the operator, until removed ("4490*" blocks a prefix, "4490123" one number)
//   dynamic   the same with an expiry (`blacklist add N --ttl 7d`)
//   smart     learned from call statistics: a number that `smartblacklist` calls or more
//             within an hour reached from two sources or more, with under 20% of them
//             answered, is blocked for a day (the shape of a toll-fraud or wangiri run).
//             0 = off. What tripped it is kept as the reason.
//
// Stored in LMDB `blacklist` (`kind:number`), held in memory: exact numbers in a Map, prefixes
// by length, so a check is a handful of Map reads.
import type { Logger } from '../../log.ts';
import type { BlacklistRecord } from '../../store/records.ts';
import type { Store } from '../../store/store.ts';
import { normalizeNumber } from './tariffs.ts';

const ENTRY = /^\+?[0-9A-Za-z#*._-]{1,32}$/;
const MAX_ENTRIES = 100_000;
const SMART_WINDOW_MS = 3_600_000;
const SMART_TTL_MS = 86_400_000;
const SMART_ASR = 0.2;
const SMART_TRACKED = 50_000;

export interface Blocked {
  kind: BlacklistRecord['kind'];
  entry: string;
  reason: string;
}

interface NumberStats {
  windowStart: number;
  calls: number;
  answered: number;
  sources: Set<string>;
}

export class Blacklist {
  readonly #store: Store;
  readonly #log: Logger;
  readonly #entries = new Map<string, BlacklistRecord>();
  readonly #stats = new Map<string, NumberStats>();
  #prefixLengths: number[] = [];

  constructor(store: Store, log: Logger) {
    this.#store = store;
    this.#log = log;
    for (const { value } of store.tables.blacklist.getRange())
      this.#entries.set(value.number, value);
    this.#reindex();
  }

  /** The entry blocking `dialled` at `now`, or undefined. */
  check(dialled: string, now: number): Blocked | undefined {
    if (this.#entries.size === 0) return undefined;
    const number = normalizeNumber(dialled);
    const exact = this.#live(this.#entries.get(number), now);
    if (exact) return exact;
    for (const len of this.#prefixLengths) {
      if (len > number.length) continue;
      const hit = this.#live(this.#entries.get(`${number.slice(0, len)}*`), now);
      if (hit) return hit;
    }
    return undefined;
  }

  /** Adds a fixed entry (ttlSeconds 0) or a dynamic one; returns the record stored. */
  add(entry: string, ttlSeconds: number, reason: string, kind?: 'smart'): BlacklistRecord {
    const number = normalizeEntry(entry);
    if (!number) throw new RangeError(`not a number or prefix*: "${entry.slice(0, 40)}"`);
    if (this.#entries.size >= MAX_ENTRIES && !this.#entries.has(number))
      throw new RangeError(`the blacklist is full (${MAX_ENTRIES} entries)`);
    const now = Date.now();
    const record: BlacklistRecord = {
      number,
      kind: kind ?? (ttlSeconds > 0 ? 'dynamic' : 'fixed'),
      reason: reason.slice(0, 200),
      createdAt: now,
      expiresAt: ttlSeconds > 0 ? now + ttlSeconds * 1000 : 0,
    };
    this.#store.durable(() => this.#store.tables.blacklist.put(number, record));
    this.#entries.set(number, record);
    this.#reindex();
    this.#log.warn({ number, kind: record.kind, reason: record.reason }, 'number blacklisted');
    return record;
  }

  remove(entry: string): boolean {
    const number = normalizeEntry(entry);
    if (!number || !this.#entries.has(number)) return false;
    this.#store.durable(() => this.#store.tables.blacklist.remove(number));
    this.#entries.delete(number);
    this.#reindex();
    return true;
  }

  list(now = Date.now()): BlacklistRecord[] {
    return [...this.#entries.values()].filter((r) => r.expiresAt === 0 || r.expiresAt > now);
  }

  /**
   * A call to `dialled` ended (answered or not): the smart blacklist's statistics. Returns
   * the entry it added, if this call tipped the number over `threshold` (0 = off).
   */
  observe(
    dialled: string,
    source: string,
    answered: boolean,
    now: number,
    threshold: number,
  ): BlacklistRecord | undefined {
    if (threshold <= 0) return undefined;
    const number = normalizeNumber(dialled);
    let s = this.#stats.get(number);
    if (!s || now - s.windowStart >= SMART_WINDOW_MS) {
      s = { windowStart: now, calls: 0, answered: 0, sources: new Set() };
      this.#stats.delete(number);
      this.#stats.set(number, s);
      if (this.#stats.size > SMART_TRACKED) this.#stats.delete(this.#stats.keys().next().value!);
    }
    s.calls++;
    if (answered) s.answered++;
    if (s.sources.size < 16) s.sources.add(source);
    if (s.calls < threshold || s.sources.size < 2 || s.answered / s.calls >= SMART_ASR)
      return undefined;
    if (this.check(number, now)) return undefined;
    this.#stats.delete(number);
    const reason = `smart: ${s.calls} calls in ${Math.round((now - s.windowStart) / 1000)}s from ${s.sources.size} sources, ${s.answered} answered`;
    try {
      const record = this.add(number, SMART_TTL_MS / 1000, reason, 'smart');
      return record;
    } catch (err) {
      this.#log.error({ err, number }, 'could not store a smart blacklist entry');
      return undefined;
    }
  }

  #live(record: BlacklistRecord | undefined, now: number): Blocked | undefined {
    if (!record) return undefined;
    if (record.expiresAt !== 0 && record.expiresAt <= now) return undefined;
    return { kind: record.kind, entry: record.number, reason: record.reason };
  }

  #reindex(): void {
    const lengths = new Set<number>();
    for (const key of this.#entries.keys()) if (key.endsWith('*')) lengths.add(key.length - 1);
    this.#prefixLengths = [...lengths].sort((a, b) => b - a);
  }
}

/** "+4490*" → "4490*", "004412" → "4412"; undefined when malformed. */
function normalizeEntry(entry: string): string | undefined {
  const text = entry.trim();
  if (!ENTRY.test(text)) return undefined;
  const prefix = text.endsWith('*');
  const body = normalizeNumber(prefix ? text.slice(0, -1) : text);
  if (body.includes('*')) return undefined;
  return prefix ? `${body}*` : body;
}
