// Nonce verification for API calls (apidefneedlogin 3, the reference's "login with nonce
// verification"): a request carries X-Tollgate-Nonce: <unix ms>-<16..64 random characters>.
// A nonce is accepted once, and only within WINDOW_MS of the server's clock, so a captured
// request cannot be sent again: inside the window it is remembered, outside it is too old.
// Remembered nonces are bounded (MAX_REMEMBERED); when full of nonces still inside the
// window, new ones are refused rather than forgetting one that could then be replayed.

export const NONCE_HEADER = 'x-tollgate-nonce';
export const WINDOW_MS = 300_000;
export const MAX_REMEMBERED = 100_000;
const FORMAT = /^(\d{13})-([A-Za-z0-9_-]{16,64})$/;

export type NonceVerdict = { ok: true } | { ok: false; why: string };

export class NonceGuard {
  /** nonce → when it stops mattering (its timestamp + window); insertion order ≈ expiry. */
  readonly #seen = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  check(nonce: string | undefined): NonceVerdict {
    if (nonce === undefined || nonce === '') return { ok: false, why: `no ${NONCE_HEADER} header` };
    const m = FORMAT.exec(nonce);
    if (!m) return { ok: false, why: 'malformed (<unix ms>-<16..64 of A-Z a-z 0-9 _ ->)' };
    const now = this.#now();
    const at = Number(m[1]);
    if (Math.abs(now - at) > WINDOW_MS) return { ok: false, why: 'outside the 5 minute window' };
    this.#sweep(now);
    if (this.#seen.has(nonce)) return { ok: false, why: 'already used (replayed request)' };
    if (this.#seen.size >= MAX_REMEMBERED) return { ok: false, why: 'too many recent nonces' };
    this.#seen.set(nonce, at + WINDOW_MS);
    return { ok: true };
  }

  get size(): number {
    return this.#seen.size;
  }

  #sweep(now: number): void {
    for (const [nonce, until] of this.#seen) {
      if (until > now) break; // roughly ordered: stop at the first still inside the window
      this.#seen.delete(nonce);
    }
  }
}
