// Nonces that carry their own expiry and are bound to this server, so no table of issued
// nonces is needed (a flood of unauthenticated requests cannot grow memory):
//
//   nonce = base64url( issuedAt(6 bytes, seconds) | random(9) | HMAC-SHA256(key, issuedAt|random|realm)[0..15] )
//
// A nonce is accepted only if the MAC checks (we made it, for this realm) and it is younger
// than its lifetime; an old one gets `stale=true` so the client retries without asking the
// user again (RFC 7616 §3.3). Nonce-count replay protection keeps the highest nc seen per
// nonce in a bounded map; a nonce pushed out of the map is answered with stale=true.
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { randomId } from '../../random.ts';

const TIME_BYTES = 6;
const RANDOM_BYTES = 9;
const MAC_BYTES = 16;
const NONCE_BYTES = TIME_BYTES + RANDOM_BYTES + MAC_BYTES;

export type NonceVerdict = 'valid' | 'stale' | 'invalid' | 'replay';

export interface NonceOptions {
  /** Server secret; keep it across restarts so nonces in flight stay valid. */
  key: Buffer;
  /** Seconds a nonce stays fresh. */
  lifetimeSeconds?: number;
  /** How many nonces' counters are remembered (memory bound). */
  maxTracked?: number;
  now?: () => number;
}

export class NonceManager {
  /** A KeyObject: with a Buffer, every HMAC would re-import the key (a third of the cost). */
  readonly #key: KeyObject;
  readonly #lifetimeMs: number;
  readonly #maxTracked: number;
  readonly #now: () => number;
  /** nonce → highest nc accepted; insertion order doubles as age for eviction. */
  readonly #counts = new Map<string, number>();

  constructor(options: NonceOptions) {
    if (options.key.length < 16) throw new Error('nonce key must be at least 16 bytes');
    this.#key = createSecretKey(options.key);
    this.#lifetimeMs = (options.lifetimeSeconds ?? 300) * 1000;
    this.#maxTracked = options.maxTracked ?? 200_000;
    this.#now = options.now ?? Date.now;
  }

  issue(realm: string): string {
    const body = Buffer.alloc(TIME_BYTES + RANDOM_BYTES);
    body.writeUIntBE(Math.floor(this.#now() / 1000), 0, TIME_BYTES);
    randomId(RANDOM_BYTES).copy(body, TIME_BYTES);
    return Buffer.concat([body, this.#mac(body, realm)]).toString('base64url');
  }

  /**
   * Checks a nonce and its nonce-count (8 hex digits) from an Authorization header.
   * Call only after the digest response itself verified, so a guesser cannot burn counts.
   */
  check(nonce: string, realm: string, ncHex: string): NonceVerdict {
    const verdict = this.checkNonce(nonce, realm);
    if (verdict !== 'valid') return verdict;
    if (!/^[0-9a-fA-F]{8}$/.test(ncHex)) return 'invalid';
    const nc = Number.parseInt(ncHex, 16);
    const seen = this.#counts.get(nonce);
    if (seen === undefined) {
      // Unknown to the tracker: fine for its first use, otherwise we cannot rule out a replay.
      if (nc !== 1) return 'stale';
    } else if (nc <= seen) {
      return 'replay';
    }
    this.#remember(nonce, nc);
    return 'valid';
  }

  /** MAC and age only (no nonce-count), e.g. to decide stale=true before checking a password. */
  checkNonce(nonce: string, realm: string): NonceVerdict {
    if (typeof nonce !== 'string' || nonce.length > 64) return 'invalid';
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== NONCE_BYTES || raw.toString('base64url') !== nonce) return 'invalid';
    const body = raw.subarray(0, TIME_BYTES + RANDOM_BYTES);
    if (!timingSafeEqual(raw.subarray(TIME_BYTES + RANDOM_BYTES), this.#mac(body, realm))) {
      return 'invalid';
    }
    const issuedMs = body.readUIntBE(0, TIME_BYTES) * 1000;
    const age = this.#now() - issuedMs;
    if (age < -5000) return 'invalid'; // from the future: not ours, or a clock jump
    return age > this.#lifetimeMs ? 'stale' : 'valid';
  }

  get tracked(): number {
    return this.#counts.size;
  }

  #remember(nonce: string, nc: number): void {
    this.#counts.delete(nonce);
    this.#counts.set(nonce, nc);
    while (this.#counts.size > this.#maxTracked) {
      this.#counts.delete(this.#counts.keys().next().value!);
    }
  }

  #mac(body: Buffer, realm: string): Buffer {
    return createHmac('sha256', this.#key)
      .update(body)
      .update(realm, 'utf8')
      .digest()
      .subarray(0, MAC_BYTES);
  }
}
