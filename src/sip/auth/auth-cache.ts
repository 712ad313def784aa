// What tollgate remembers of earlier digest checks, per account and source address, and
// what it lets that memory save (the reference's "cache device login information for a time
// so it will not ask again for authorization for every REGISTER or INVITE"):
//
//   cacheregistrations 0  nothing: a nonce answers one request. A second request on it (a
//                         higher nonce-count, or an RFC 2069 answer sent again) gets a fresh
//                         401/407 with stale=true, so every REGISTER and INVITE is challenged.
//                      1  a nonce answers requests for its lifetime with a growing
//                         nonce-count (RFC 7616 §3.4), so a phone skips the challenge round
//                         trip. Nothing else is kept: each request is still checked against
//                         the account's current HA1, so a password change applies at once.
//                      2  as 1, and a failure (wrong password, unknown user) is kept for
//                         FAILURE_HOLD_MS per account and source IP: requests from there for
//                         that account are refused (403) without a digest check, until it
//                         runs out or the account's password changes. The reference's "the
//                         user enters the correct credential but will be still blocked".
//   authfastusers      an account whose requests authenticate faster than a phone's
//                      (FAST_REQUESTS within FAST_WINDOW_MS, from whatever addresses: spreading
//                      them over several does not help) is never served on a reused nonce:
//                      each of its requests is challenged afresh (stale=true), which costs a
//                      flooder a round trip per request and a phone nothing.
//
// Both tables are bounded (oldest out). The rates are kept per account (only accounts that
// authenticated are counted), the failures per account and source IP.

/** How long cacheregistrations 2 remembers a failure. */
export const FAILURE_HOLD_MS = 30_000;
/** More authenticated requests than this within FAST_WINDOW_MS is faster than a phone. */
export const FAST_REQUESTS = 10;
/** A phone registers once a minute at most and calls a few times a minute. */
export const FAST_WINDOW_MS = 10_000;
/** Entries per table; past it the oldest is forgotten. */
export const AUTH_MEMORY = 65_536;

interface Failure {
  until: number;
  /** The account's HA1 when it failed (undefined: no such account): a change drops it. */
  ha1: string | undefined;
}

interface Rate {
  /** Start of the current window, and requests in it and in the one before. */
  windowStart: number;
  count: number;
  previous: number;
}

export class AuthMemory {
  readonly #now: () => number;
  readonly #failures = new Map<string, Failure>();
  readonly #rates = new Map<string, Rate>();

  constructor(now: () => number) {
    this.#now = now;
  }

  /**
   * cacheregistrations 2: whether `user` at `ip` failed within FAILURE_HOLD_MS, with the
   * HA1 it still has (`ha1`; undefined for an unknown account).
   */
  failedRecently(user: string, ip: string, ha1: string | undefined): boolean {
    if (this.#failures.size === 0) return false;
    const key = `${user}\n${ip}`;
    const held = this.#failures.get(key);
    if (held === undefined) return false;
    if (this.#now() < held.until && held.ha1 === ha1) return true;
    this.#failures.delete(key); // run out, or the password changed since
    return false;
  }

  /** cacheregistrations 2: `user` at `ip` just failed; `ha1` is what it was checked against. */
  failed(user: string, ip: string, ha1: string | undefined): void {
    remember(this.#failures, `${user}\n${ip}`, { until: this.#now() + FAILURE_HOLD_MS, ha1 });
  }

  /**
   * authfastusers: counts one authenticated request of `user`; true when the account is
   * faster than a phone. Keyed by the account alone: its name string is hashed once, where a
   * key built per request would cost a concatenation and a hash each time (4× measured).
   */
  fast(user: string): boolean {
    const now = this.#now();
    let rate = this.#rates.get(user);
    if (rate === undefined) {
      rate = { windowStart: now, count: 0, previous: 0 };
      remember(this.#rates, user, rate);
    } else if (now - rate.windowStart >= FAST_WINDOW_MS) {
      // The window before counts only if it was the one just ended.
      rate.previous = now - rate.windowStart < 2 * FAST_WINDOW_MS ? rate.count : 0;
      rate.windowStart = now;
      rate.count = 0;
    }
    rate.count++;
    return rate.count > FAST_REQUESTS || rate.previous > FAST_REQUESTS;
  }

  /** Forgets everything (cacheregistrations changed: nothing kept under the old rule). */
  clear(): void {
    this.#failures.clear();
  }

  get size(): { failures: number; rates: number } {
    return { failures: this.#failures.size, rates: this.#rates.size };
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > AUTH_MEMORY) map.delete(map.keys().next().value!);
}
