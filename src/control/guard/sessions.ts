// Session-level protection (reference: "Session level protection"): per dialog, keyed by
// Call-ID, the guard closes a session that receives too many messages, too many abnormally
// quick messages, a run of invalid messages, or repeated authentication failures. The
// thresholds are in config.ts (SESSION_DEFAULTS); like every guard threshold, reaching the
// value trips it (sessionmaxmsg 1000: the 1000th message closes the session).
//
// Memory: at most `capacity` sessions; the oldest-started is forgotten first (a session
// that old is either long finished without a call-end or is a call the timeouts will end).
//
// Every REGISTER and every in-dialog message lands here with its Call-ID, most of them new,
// so a session is a slot in fixed typed arrays (no object per Call-ID), and the start order
// is a linked list through the slots: forgetting the oldest is O(1) (a Map's keys().next()
// instead walks over every entry deleted from its front since the last rehash, tens of
// thousands per new Call-ID once the table is full).
//
// Finding a Call-ID's slot: a set-associative index (buckets of WAYS cells, about four cells
// per session, so a bucket is rarely full) looked up by a hash seeded at random per table, so
// nobody can aim Call-IDs at one bucket. A session whose bucket is full goes to an overflow
// Map instead, so which sessions are kept never depends on the index: only the oldest is
// forgotten. A new Call-ID costs one hash and one bucket scan, where a Map needed a lookup,
// an insert and the delete of the forgotten one, each a few cache misses in a large table.
import { getRandomValues } from 'node:crypto';
import { hashKey } from './counters.ts';
import { detach } from './detach.ts';

export type SessionVerdict =
  | undefined
  | 'sessionmaxmsg'
  | 'sessionmaxquickmsg'
  | 'sessionmaxinvalid'
  | 'sessionmaxauthfail';

export interface SessionLimits {
  sessionmaxmsg: number;
  sessionquickmsgms: number;
  sessionmaxquickmsg: number;
  sessionmaxinvalid: number;
  sessionmaxauthfail: number;
}

export type SessionSignal = 'message' | 'invalid' | 'auth-fail';

const NONE = -1;
/** Cells per index bucket. */
const WAYS = 8;
/** Index cells per session: a bucket then holds 2 on average, and 8 about once in 1000. */
const CELLS_PER_SESSION = 4;

// Memory is laid out for cache misses, which is what a table this size costs in a busy
// process: an index bucket is one 64-byte line of (hash, slot + 1) pairs, and a session's
// numbers are one record of 8 doubles, one line, per slot. (A new session reuses the slot of
// the one just forgotten, last touched `capacity` sessions ago: one array per field would
// cost one miss per field.)
const MESSAGES = 0;
const QUICK = 1;
const INVALID_RUN = 2;
const AUTH_FAILS = 3;
const LAST_AT = 4;
/** (index cell + 1) × 2 + closed: cell NONE (-1) when the session is in the overflow Map. */
const CELL_CLOSED = 5;
/** Start order: the slots started just before and just after this one (NONE at the ends). */
const OLDER = 6;
const NEWER = 7;
const STRIDE = 8;

export class SessionTracker {
  readonly #capacity: number;
  readonly #seed: number;
  readonly #bucketMask: number;
  /** Index cells, two int32 each: the Call-ID's hash, and slot + 1 (0 = empty). */
  readonly #cells: Int32Array;
  /** Sessions whose bucket was full: Call-ID → slot. */
  readonly #overflow = new Map<string, number>();
  readonly #callIds: (string | undefined)[];
  /** Per slot, STRIDE numbers (MESSAGES … NEWER). */
  readonly #records: Float64Array;
  /** The ends of the start order: #oldest is the next to forget. */
  #oldest = NONE;
  #newest = NONE;
  /** Slots not in use, as a stack. */
  readonly #free: Int32Array;
  #freeCount: number;
  /** The count behind the last verdict record() returned (the evidence of a close). */
  #lastCount = 0;

  /** `seed`: the index hash's seed, random unless a test needs to fill one bucket. */
  constructor(capacity = 65_536, seed = getRandomValues(new Uint32Array(1))[0]!) {
    const n = Math.max(1, Math.floor(capacity));
    this.#capacity = n;
    this.#seed = seed >>> 0;
    let buckets = 1;
    while (buckets * WAYS < n * CELLS_PER_SESSION) buckets *= 2;
    this.#bucketMask = buckets - 1;
    this.#cells = new Int32Array(buckets * WAYS * 2);
    this.#callIds = new Array(n).fill(undefined);
    this.#records = new Float64Array(n * STRIDE);
    this.#free = new Int32Array(n);
    for (let i = 0; i < n; i++) this.#free[i] = n - 1 - i;
    this.#freeCount = n;
  }

  get size(): number {
    return this.#capacity - this.#freeCount;
  }

  /** The slot of `callId` (hash `hash`, as int32), or NONE. */
  #find(callId: string, hash: number): number {
    const cells = this.#cells;
    const base = (hash & this.#bucketMask) * WAYS * 2;
    for (let i = base; i < base + WAYS * 2; i += 2) {
      if (cells[i] !== hash) continue;
      const slot = cells[i + 1]! - 1;
      if (slot !== NONE && this.#callIds[slot] === callId) return slot;
    }
    if (this.#overflow.size === 0) return NONE;
    return this.#overflow.get(callId) ?? NONE;
  }

  #slot(callId: string, now: number): number {
    const hash = hashKey(callId, this.#seed) | 0;
    const found = this.#find(callId, hash);
    if (found !== NONE) return found;
    if (this.#freeCount === 0) this.#release(this.#oldest);
    const slot = this.#free[--this.#freeCount]!;
    // The slot outlives the message by up to `capacity` Call-IDs: keep only the Call-ID.
    const kept = detach(callId);
    this.#callIds[slot] = kept;
    const r = this.#records;
    const at = slot * STRIDE;
    r[at + MESSAGES] = 0;
    r[at + QUICK] = 0;
    r[at + INVALID_RUN] = 0;
    r[at + AUTH_FAILS] = 0;
    r[at + LAST_AT] = now;
    r[at + OLDER] = this.#newest;
    r[at + NEWER] = NONE;
    if (this.#newest === NONE) this.#oldest = slot;
    else r[this.#newest * STRIDE + NEWER] = slot;
    this.#newest = slot;
    this.#index(kept, hash, slot);
    return slot;
  }

  /** Files a new session under its hash (and sets it open, not closed). */
  #index(callId: string, hash: number, slot: number): void {
    const cells = this.#cells;
    const base = (hash & this.#bucketMask) * WAYS * 2;
    let cell = NONE;
    for (let i = base; i < base + WAYS * 2; i += 2) {
      if (cells[i + 1] === 0) {
        cells[i] = hash;
        cells[i + 1] = slot + 1;
        cell = i;
        break;
      }
    }
    if (cell === NONE) this.#overflow.set(callId, slot);
    this.#records[slot * STRIDE + CELL_CLOSED] = (cell + 1) * 2;
  }

  /** Forgets the session in `slot` and returns the slot to the free stack. */
  #release(slot: number): void {
    const r = this.#records;
    const older = r[slot * STRIDE + OLDER]!;
    const newer = r[slot * STRIDE + NEWER]!;
    if (older === NONE) this.#oldest = newer;
    else r[older * STRIDE + NEWER] = newer;
    if (newer === NONE) this.#newest = older;
    else r[newer * STRIDE + OLDER] = older;
    const cell = Math.floor(r[slot * STRIDE + CELL_CLOSED]! / 2) - 1;
    if (cell === NONE) this.#overflow.delete(this.#callIds[slot]!);
    else this.#cells[cell + 1] = 0;
    this.#callIds[slot] = undefined;
    this.#free[this.#freeCount++] = slot;
  }

  /**
   * Records one signal for the session and says whether it must be closed now. A closed
   * session answers its verdict once; later messages of it are the SIP layer's to refuse.
   */
  record(
    callId: string,
    signal: SessionSignal,
    now: number,
    limits: SessionLimits,
  ): SessionVerdict {
    const r = this.#records;
    const at = this.#slot(callId, now) * STRIDE;
    const cellClosed = r[at + CELL_CLOSED]!;
    if (cellClosed % 2 === 1) return undefined;
    let verdict: SessionVerdict;
    let count = 0;
    if (signal === 'message') {
      const messages = r[at + MESSAGES]! + 1;
      if (messages > 1 && now - r[at + LAST_AT]! < limits.sessionquickmsgms) r[at + QUICK]!++;
      r[at + MESSAGES] = messages;
      r[at + INVALID_RUN] = 0;
      r[at + LAST_AT] = now;
      const quick = r[at + QUICK]!;
      if (limits.sessionmaxmsg > 0 && messages >= limits.sessionmaxmsg) {
        verdict = 'sessionmaxmsg';
        count = messages;
      } else if (limits.sessionmaxquickmsg > 0 && quick >= limits.sessionmaxquickmsg) {
        verdict = 'sessionmaxquickmsg';
        count = quick;
      }
    } else if (signal === 'invalid') {
      const run = r[at + INVALID_RUN]! + 1;
      r[at + INVALID_RUN] = run;
      r[at + LAST_AT] = now;
      if (limits.sessionmaxinvalid > 0 && run >= limits.sessionmaxinvalid) {
        verdict = 'sessionmaxinvalid';
        count = run;
      }
    } else {
      const fails = r[at + AUTH_FAILS]! + 1;
      r[at + AUTH_FAILS] = fails;
      if (limits.sessionmaxauthfail > 0 && fails >= limits.sessionmaxauthfail) {
        verdict = 'sessionmaxauthfail';
        count = fails;
      }
    }
    if (verdict !== undefined) {
      r[at + CELL_CLOSED] = cellClosed + 1;
      this.#lastCount = count;
    }
    return verdict;
  }

  /** The count that tripped the verdict record() returned last (evidence of a close). */
  get lastCount(): number {
    return this.#lastCount;
  }

  /** The dialog ended (call-end): forget it. */
  end(callId: string): void {
    const slot = this.#find(callId, hashKey(callId, this.#seed) | 0);
    if (slot !== NONE) this.#release(slot);
  }

  /** Sessions held in the overflow Map (their index bucket was full). */
  get overflowed(): number {
    return this.#overflow.size;
  }

  clear(): void {
    while (this.#oldest !== NONE) this.#release(this.#oldest);
  }
}
