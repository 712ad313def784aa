// Nonces that carry their own expiry and are bound to this server, so no table of issued
// nonces is needed (a flood of unauthenticated requests cannot grow memory):
//
//   nonce = base64url( issuedAt(6 bytes, seconds) | random(9) | HMAC-SHA256(key, issuedAt|random|realm)[0..15] )
//
// A nonce is accepted only if the MAC checks (we made it, for this realm) and it is younger
// than its lifetime; an old one gets `stale=true` so the client retries without asking the
// user again (RFC 7616 §3.3). Nonce-count replay protection keeps the highest nc seen per
// nonce in a bounded map; a nonce pushed out of the map is answered with stale=true.
import { randomId } from '../../random.ts';
import { constantTimeEqual } from './digest.ts';
import { HmacSha256 } from './hmac.ts';

const TIME_BYTES = 6;
const RANDOM_BYTES = 9;
const BODY_BYTES = TIME_BYTES + RANDOM_BYTES;
/** 15 bytes are 5 whole groups of 3: 20 base64url characters, none shared with the MAC. */
const BODY_CHARS = 20;
/** 16 bytes: 22 characters, the last holding 2 bits of the MAC and 4 zero bits. */
const MAC_CHARS = 22;
const NONCE_CHARS = BODY_CHARS + MAC_CHARS;
/**
 * The only text a nonce can be. Every base64url character being valid and the count fixed,
 * the 20 body characters decode to one body; a variant of a real nonce in the 4 unused
 * bits of the last character fails the MAC comparison (ours has them zero), so each nonce
 * has a single spelling and the nonce-count tracker cannot be sidestepped with another.
 */
const NONCE_TEXT = /^[A-Za-z0-9_-]{42}$/;

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/**
 * Character 22 of the base64url of the full 32-byte MAC → character 22 of the base64url of
 * its first 16 bytes: keep its top 2 bits (bits 126-127 of the MAC), zero the 4 from byte 16.
 */
const LAST_MAC_CHAR: string[] = [];
for (let i = 0; i < 64; i++) LAST_MAC_CHAR[BASE64URL.charCodeAt(i)] = BASE64URL[i & 0b110000]!;

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
  readonly #hmac: HmacSha256;
  readonly #lifetimeMs: number;
  readonly #maxTracked: number;
  readonly #now: () => number;
  /** nonce → highest nc accepted; insertion order doubles as age for eviction. */
  readonly #counts = new Map<string, number>();
  /** Walks #counts oldest first, for eviction (see #oldest). */
  #cursor: MapIterator<string> = this.#counts.keys();
  /** Scratch for the body being issued or checked (single-threaded, never kept). */
  readonly #body = Buffer.alloc(BODY_BYTES);

  constructor(options: NonceOptions) {
    if (options.key.length < 16) throw new Error('nonce key must be at least 16 bytes');
    this.#hmac = new HmacSha256(options.key);
    this.#lifetimeMs = (options.lifetimeSeconds ?? 300) * 1000;
    this.#maxTracked = options.maxTracked ?? 200_000;
    this.#now = options.now ?? Date.now;
  }

  issue(realm: string): string {
    const body = this.#body;
    body.writeUIntBE(Math.floor(this.#now() / 1000), 0, TIME_BYTES);
    randomId(RANDOM_BYTES).copy(body, TIME_BYTES);
    return body.toString('base64url') + this.#mac(body, realm);
  }

  /**
   * Checks a nonce and its nonce-count (8 hex digits) from an Authorization header.
   * Call only after the digest response itself verified, so a guesser cannot burn counts.
   */
  check(nonce: string, realm: string, ncHex: string): NonceVerdict {
    const verdict = this.checkNonce(nonce, realm);
    return verdict === 'valid' ? this.count(nonce, ncHex) : verdict;
  }

  /**
   * The nonce-count part of `check`, for a nonce `checkNonce` just found valid (its MAC is
   * not computed a second time). Same rule: call only once the digest response verified.
   */
  count(nonce: string, ncHex: string): NonceVerdict {
    if (!/^[0-9a-fA-F]{8}$/.test(ncHex)) return 'invalid';
    const nc = Number.parseInt(ncHex, 16);
    const seen = this.#counts.get(nonce);
    if (seen === undefined) {
      // Unknown to the tracker: fine for its first use, otherwise we cannot rule out a replay.
      if (nc !== 1) return 'stale';
    } else if (nc <= seen) {
      return 'replay';
    } else {
      this.#counts.delete(nonce); // re-added below: last use is newest
    }
    this.#remember(nonce, nc);
    return 'valid';
  }

  /** MAC and age only (no nonce-count), e.g. to decide stale=true before checking a password. */
  checkNonce(nonce: string, realm: string): NonceVerdict {
    if (typeof nonce !== 'string' || nonce.length !== NONCE_CHARS || !NONCE_TEXT.test(nonce)) {
      return 'invalid';
    }
    const body = this.#body;
    body.write(nonce.slice(0, BODY_CHARS), 'base64url');
    if (!constantTimeEqual(nonce.slice(BODY_CHARS), this.#mac(body, realm))) return 'invalid';
    const issuedMs = body.readUIntBE(0, TIME_BYTES) * 1000;
    const age = this.#now() - issuedMs;
    if (age < -5000) return 'invalid'; // from the future: not ours, or a clock jump
    return age > this.#lifetimeMs ? 'stale' : 'valid';
  }

  get tracked(): number {
    return this.#counts.size;
  }

  /** Adds a nonce not in #counts (it goes last: newest). */
  #remember(nonce: string, nc: number): void {
    this.#counts.set(nonce, nc);
    while (this.#counts.size > this.#maxTracked) this.#counts.delete(this.#oldest());
  }

  /**
   * The first key in insertion order. A fresh `keys()` iterator would walk from the start of
   * the table over every slot evicted since it was last compacted (tens of thousands once
   * the tracker is full: microseconds per REGISTER); this one iterator resumes where it
   * stopped. A live Map iterator skips entries deleted before it reaches them and visits
   * those added later, so what it yields is always the oldest entry still present.
   */
  #oldest(): string {
    let next = this.#cursor.next();
    if (next.done) {
      this.#cursor = this.#counts.keys();
      next = this.#cursor.next();
    }
    return next.value!;
  }

  /** HMAC-SHA256(key, body | realm) cut to 16 bytes, as the nonce's 22 base64url characters. */
  #mac(body: Buffer, realm: string): string {
    const full = this.#hmac.base64url(body, realm);
    return full.slice(0, MAC_CHARS - 1) + LAST_MAC_CHAR[full.charCodeAt(MAC_CHARS - 1)]!;
  }
}
