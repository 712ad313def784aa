// Windowed counters keyed by a source (an IP, "ip:port", "ip\nuser", a call-id), with a hard
// memory cap that holds under a flood from a million distinct addresses.
//
// Window: a fixed window per key that opens at the key's first event and lasts `periodMs`;
// the next event after that opens a new window at count 1. This is what the reference's
// "N within PERIOD" keys describe and what the store's CounterRecord {count, windowStart}
// persists. A source that paces itself across a window edge can send at most twice the
// limit in one period; the limits are generous (39000 / 3 min) and the kernel's per-source
// budget (kernel-policy.ts) caps bursts, so the simpler, explainable window wins over a
// sliding estimate.
//
// Memory: a set-associative table (fixed arrays, `ways` slots per bucket, the key's hash
// picks the bucket). A new key takes a free slot, else a slot whose window has expired,
// else the slot with the lowest count (ties: the one seen longest ago). Why this instead of
//   - an LRU/FIFO map: a million one-packet sources push a heavy hitter out of an LRU in
//     exactly `capacity` events, so an attacker hides its flood behind random spoofed
//     sources; here one-packet sources only displace each other (count 1 loses to count 2+).
//   - a count-min sketch for the tail: it never forgets a key but overestimates, and the
//     overestimate (≈ events / width per row) reaches the small thresholds
//     (blockscanning_treshold 10, maxfailedauthenabledipport 50) under exactly the flood we
//     worry about, banning innocent addresses. An undercount (evicted light key) costs only
//     a late ban; an overcount costs a legitimate customer.
// A key is lost only when all `ways` keys of its bucket are heavier, i.e. when more than
// `capacity` sources are heavier at once; then the kernel's per-source budget still applies.
//
// Every operation is O(ways) with no allocation: typed arrays for numbers, one array of key
// strings (references to strings the caller already made; addPair makes its "a\nb" key only
// when the pair is new, as a copy that does not pin the message the user was cut from), and
// an array of a per-window "first" value (the evidence of the first message seen), set only
// when a window opens. A caller that counts one key in several tables hashes it once
// (addHashed, deleteHashed).
import { detach } from './detach.ts';
import { GuardErrors } from './errors.ts';

export const MIN_CAPACITY = 8;
export const MAX_CAPACITY = 1 << 24;
const DEFAULT_WAYS = 8;

export interface CounterOptions {
  /** Window length in milliseconds. */
  periodMs: number;
  /** Most keys held at once; rounded up to a power of two ≥ ways. */
  capacity: number;
  /** Slots per bucket (default 8): more ways, fewer unlucky evictions, slower lookups. */
  ways?: number;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** The character between the two parts of a pair key ("ip\nuser"). */
const PAIR_SEPARATOR = 10;

/** FNV-1a step over the UTF-16 code units of `text`, from state `h`. */
function fnv(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h;
}

/** Final avalanche (murmur3 fmix32) so the low bits used as the bucket index depend on
 * every character, not mostly on the last ones. */
function avalanche(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * 32-bit FNV-1a over UTF-16 code units: no allocation, spreads dotted quads well. A table
 * whose keys a sender picks freely (Call-IDs) passes a random `seed` so that nobody can
 * compute colliding keys in advance.
 */
export function hashKey(key: string, seed = 0): number {
  return avalanche(fnv(FNV_OFFSET ^ seed, key));
}

/** hashKey(`${a}\n${b}`) without making that string. */
export function hashPair(a: string, b: string): number {
  const h = Math.imul(fnv(FNV_OFFSET, a) ^ PAIR_SEPARATOR, FNV_PRIME);
  return avalanche(fnv(h, b));
}

/** Whether `key` is `${a}\n${b}`, without making that string. */
function isPair(key: string, a: string, b: string): boolean {
  return (
    key.length === a.length + 1 + b.length &&
    key.charCodeAt(a.length) === PAIR_SEPARATOR &&
    key.startsWith(a) &&
    key.endsWith(b)
  );
}

export class WindowedCounters<First = never> {
  readonly capacity: number;
  readonly ways: number;
  #periodMs: number;
  readonly #bucketMask: number;
  readonly #keys: (string | undefined)[];
  /** Each slot's full hash: compared before the string, so a miss costs no string compare. */
  readonly #hashes: Uint32Array;
  readonly #counts: Float64Array;
  readonly #starts: Float64Array;
  readonly #lastSeen: Float64Array;
  /** 1 once the current window has tripped its threshold (see tripOnce). */
  readonly #tripped: Uint8Array;
  readonly #firsts: (First | undefined)[];
  #size = 0;
  #evictions = 0;
  /** Slot touched by the last add(), for tripOnce()/first() without hashing again. */
  #last = -1;

  constructor(options: CounterOptions) {
    const ways = options.ways ?? DEFAULT_WAYS;
    const { capacity } = options;
    if (!Number.isInteger(capacity) || capacity < MIN_CAPACITY || capacity > MAX_CAPACITY)
      throw new GuardErrors.TG_GUARD_BAD_CAPACITY(MIN_CAPACITY, MAX_CAPACITY, capacity);
    if (!Number.isInteger(ways) || ways < 1 || ways > 64)
      throw new GuardErrors.TG_GUARD_BAD_CAPACITY(1, 64, `ways=${ways}`);
    let buckets = 1;
    while (buckets * ways < capacity) buckets *= 2;
    this.ways = ways;
    this.capacity = buckets * ways;
    this.#bucketMask = buckets - 1;
    this.#periodMs = WindowedCounters.#checkPeriod(options.periodMs);
    this.#keys = new Array(this.capacity).fill(undefined);
    this.#hashes = new Uint32Array(this.capacity);
    this.#counts = new Float64Array(this.capacity);
    this.#starts = new Float64Array(this.capacity);
    this.#lastSeen = new Float64Array(this.capacity);
    this.#tripped = new Uint8Array(this.capacity);
    this.#firsts = new Array(this.capacity).fill(undefined);
  }

  static #checkPeriod(ms: number): number {
    if (!(typeof ms === 'number' && Number.isFinite(ms) && ms > 0))
      throw new GuardErrors.TG_GUARD_BAD_PERIOD(ms);
    return ms;
  }

  get periodMs(): number {
    return this.#periodMs;
  }

  /** A live config change: running windows keep their start and are judged by the new length. */
  set periodMs(ms: number) {
    this.#periodMs = WindowedCounters.#checkPeriod(ms);
  }

  /** Keys held (including ones whose window has expired but were not yet reused). */
  get size(): number {
    return this.#size;
  }

  /** How many keys were pushed out while their window was still running. */
  get evictions(): number {
    return this.#evictions;
  }

  #find(key: string, hash: number): number {
    const base = (hash & this.#bucketMask) * this.ways;
    for (let i = base; i < base + this.ways; i++)
      if (this.#hashes[i] === hash && this.#keys[i] === key) return i;
    return -1;
  }

  #findPair(a: string, b: string, hash: number): number {
    const base = (hash & this.#bucketMask) * this.ways;
    for (let i = base; i < base + this.ways; i++) {
      if (this.#hashes[i] !== hash) continue;
      const key = this.#keys[i];
      if (key !== undefined && isPair(key, a, b)) return i;
    }
    return -1;
  }

  #expired(slot: number, now: number): boolean {
    return now - this.#starts[slot]! >= this.#periodMs;
  }

  /** The slot a new key takes: free, else expired, else the lightest (oldest on ties). */
  #victim(base: number, now: number): number {
    let best = base;
    for (let i = base; i < base + this.ways; i++) {
      if (this.#keys[i] === undefined) return i;
      if (this.#expired(i, now)) return i;
      const lighter = this.#counts[i]! < this.#counts[best]!;
      const tieOlder =
        this.#counts[i] === this.#counts[best] && this.#lastSeen[i]! < this.#lastSeen[best]!;
      if (lighter || tieOlder) best = i;
    }
    this.#evictions++;
    return best;
  }

  /**
   * Counts `by` for `key` at time `now` (ms) and returns the count in the key's current
   * window.
   */
  add(key: string, now: number, by = 1): number {
    return this.addHashed(key, hashKey(key), now, by);
  }

  /** add() for a caller that already has hashKey(key) (one hash per event for all tables). */
  addHashed(key: string, hash: number, now: number, by = 1): number {
    const slot = this.#find(key, hash);
    return this.#count(slot < 0 ? this.#claim(key, hash, now) : slot, slot < 0, now, by);
  }

  /**
   * add() for the key `${a}\n${b}` (an address and a user): the key string is made only
   * when the pair is new, not for every event.
   */
  addPair(a: string, b: string, now: number, by = 1): number {
    const hash = hashPair(a, b);
    const slot = this.#findPair(a, b, hash);
    return this.#count(
      slot < 0 ? this.#claim(detach(`${a}\n${b}`), hash, now) : slot,
      slot < 0,
      now,
      by,
    );
  }

  /** A slot for a new key (see #victim). */
  #claim(key: string, hash: number, now: number): number {
    const slot = this.#victim((hash & this.#bucketMask) * this.ways, now);
    if (this.#keys[slot] === undefined) this.#size++;
    this.#keys[slot] = key;
    this.#hashes[slot] = hash;
    return slot;
  }

  #count(slot: number, fresh: boolean, now: number, by: number): number {
    if (fresh || this.#expired(slot, now)) this.#open(slot, now, by);
    else this.#counts[slot]! += by;
    this.#lastSeen[slot] = now;
    this.#last = slot;
    return this.#counts[slot]!;
  }

  #open(slot: number, now: number, by: number): void {
    this.#counts[slot] = by;
    this.#starts[slot] = now;
    this.#tripped[slot] = 0;
    this.#firsts[slot] = undefined;
  }

  /**
   * Marks the window of the key touched by the last add() as tripped; true the first time
   * only, so a threshold fires once per window even when a live change lowers it below a
   * count already reached.
   */
  tripOnce(): boolean {
    const slot = this.#last;
    if (slot < 0 || this.#tripped[slot] === 1) return false;
    this.#tripped[slot] = 1;
    return true;
  }

  /** Window start (ms) of the key touched by the last add(). */
  lastStart(): number {
    return this.#last < 0 ? 0 : this.#starts[this.#last]!;
  }

  /** The value remembered for the window of the key touched by the last add(). */
  lastFirst(): First | undefined {
    return this.#last < 0 ? undefined : this.#firsts[this.#last];
  }

  /**
   * Remembers `value` for the window of the key touched by the last add() (callers set it
   * only when add() returned the amount it added, i.e. the window just opened, so the cost
   * of making the value is paid once per window, not per event).
   */
  setFirst(value: First | undefined): void {
    if (this.#last >= 0) this.#firsts[this.#last] = value;
  }

  /** The count in the key's running window (0 if none), without counting. */
  get(key: string, now: number): number {
    const slot = this.#find(key, hashKey(key));
    if (slot < 0 || this.#expired(slot, now)) return 0;
    return this.#counts[slot]!;
  }

  /** Window start (ms) of the key's running window, or undefined. */
  windowStart(key: string, now: number): number | undefined {
    const slot = this.#find(key, hashKey(key));
    if (slot < 0 || this.#expired(slot, now)) return undefined;
    return this.#starts[slot];
  }

  /** Forgets one key (a successful auth resets "subsequent failures"; a lifted ban). */
  delete(key: string): boolean {
    return this.deleteHashed(key, hashKey(key));
  }

  /** delete() for a caller that already has hashKey(key). */
  deleteHashed(key: string, hash: number): boolean {
    if (this.#size === 0) return false;
    const slot = this.#find(key, hash);
    if (slot < 0) return false;
    this.#keys[slot] = undefined;
    this.#firsts[slot] = undefined;
    this.#counts[slot] = 0;
    this.#size--;
    if (this.#last === slot) this.#last = -1;
    return true;
  }

  /** Forgets every key (the periodic reset of reenabledosblocked, `delbanned,all`). */
  clear(): void {
    this.#keys.fill(undefined);
    this.#firsts.fill(undefined);
    this.#counts.fill(0);
    this.#tripped.fill(0);
    this.#size = 0;
    this.#last = -1;
  }
}
