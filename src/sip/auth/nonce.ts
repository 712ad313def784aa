// Nonces that carry their own expiry and are bound to this server, so no table of issued
// nonces is needed (a flood of unauthenticated requests cannot grow memory):
//
//   body  = base64url(issuedAt, 6 bytes, seconds) | base64url(random, 9 bytes)   20 characters
//   mac   = base64url(SHA-512/256(key | body | realm))[0..21]                     22 characters
//   nonce = body | mac                                                            42 characters
//
// The MAC is a keyed hash with the server key (as base64url text) in front. SHA-512/256 is
// SHA-512 with its own initial values, cut to 256 bits: half of the final state is never
// shown, so unlike SHA-256 it cannot be length-extended (nobody can compute the hash of
// key|body|realm|more from the hash of key|body|realm), which is what makes H(key | message)
// a MAC (as Ed25519 relies on SHA-512(secret | message) being a PRF). The key and body have
// fixed lengths, so key|body|realm is read one way only. We keep 132 bits of it. It is one
// crypto.hash() call on a string: HMAC would be two, on Buffers.
//
// A nonce is accepted only if the MAC checks (we made it, for this realm) and it is younger
// than its lifetime; an old one gets `stale=true` so the client retries without asking the
// user again (RFC 7616 §3.3). Nonce-count replay protection keeps the highest nc seen per
// nonce in a bounded table (NonceCounts); a nonce pushed out of it is answered with stale=true.
import { hash, randomFillSync } from 'node:crypto';
import { NonceCounts } from './nonce-counts.ts';

const TIME_CHARS = 8; // 6 bytes
const RANDOM_CHARS = 12; // 9 bytes
/** 15 bytes are 5 whole groups of 3 bytes: 20 characters, each holding 6 bits of the body. */
const BODY_CHARS = 20;
/** 132 bits of the MAC, every bit of every character used. */
const MAC_CHARS = 22;
const NONCE_CHARS = BODY_CHARS + MAC_CHARS;

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** char code → its 6-bit value, -1 for anything that is not base64url. */
const SEXTET = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) SEXTET[BASE64URL.charCodeAt(i)] = i;

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
  /** The server key as text: the MAC's secret prefix. */
  readonly #keyText: string;
  readonly #lifetimeMs: number;
  readonly #now: () => number;
  /** nonce → highest nc accepted, keyed by a fingerprint of the nonce's MAC. */
  readonly #counts: NonceCounts;
  /** The issuedAt characters of the second last issued in (they change once a second). */
  #timeSecond = -1;
  #timeText = '';

  constructor(options: NonceOptions) {
    if (options.key.length < 16) throw new Error('nonce key must be at least 16 bytes');
    this.#keyText = options.key.toString('base64url');
    this.#lifetimeMs = (options.lifetimeSeconds ?? 300) * 1000;
    this.#counts = new NonceCounts(options.maxTracked ?? 200_000);
    this.#now = options.now ?? Date.now;
  }

  issue(realm: string): string {
    const body = this.#issuedAt() + randomText();
    return body + this.#mac(body, realm).slice(0, MAC_CHARS);
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
    const nc = parseNc(ncHex);
    if (nc < 0 || typeof nonce !== 'string' || nonce.length !== NONCE_CHARS) return 'invalid';
    // The tracker knows a nonce by 90 bits of its MAC (characters 0-14 of it) rather than by
    // its text. Those bits are already uniformly random (a keyed hash's output) and, as the
    // MAC verified, chosen by us, not by the client: read as three 30-bit words they need
    // no hashing. Two tracked nonces share them with probability about n²/2^91: with the
    // tracker full (n = 200,000) a fresh nonce matches one of the others with probability
    // 200,000/2^90 ≈ 1.6e-22, so never at any registration rate. Even then a match would
    // only make a fresh nonce look used (nc=1 → 'replay': the phone is challenged again);
    // letting a used (nonce, nc) through would take that nonce's own entry to have been
    // evicted first (see NonceCounts), as an entry is never lost otherwise.
    const word0 = macWord(nonce, 0);
    const word1 = macWord(nonce, 5);
    const word2 = macWord(nonce, 10);
    if ((word0 | word1 | word2) < 0) return 'invalid';
    return this.#counts.count(word0, word1, word2, nc);
  }

  /** MAC and age only (no nonce-count), e.g. to decide stale=true before checking a password. */
  checkNonce(nonce: string, realm: string): NonceVerdict {
    if (typeof nonce !== 'string' || nonce.length !== NONCE_CHARS) return 'invalid';
    // Only base64url characters: the body then decodes one way, and as every bit of the MAC
    // characters is compared, each nonce has a single spelling (the nonce-count tracker is
    // keyed by MAC characters and cannot be sidestepped with another spelling of the nonce).
    let issued = 0;
    let bad = 0;
    for (let i = 0; i < NONCE_CHARS; i++) {
      const code = nonce.charCodeAt(i);
      const sextet = code < 128 ? SEXTET[code]! : -1;
      bad |= sextet;
      if (i < TIME_CHARS) issued = issued * 64 + sextet;
    }
    if (bad < 0) return 'invalid';
    if (!macMatches(nonce, this.#mac(nonce.slice(0, BODY_CHARS), realm))) return 'invalid';
    const age = this.#now() - issued * 1000;
    if (age < -5000) return 'invalid'; // from the future: not ours, or a clock jump
    return age > this.#lifetimeMs ? 'stale' : 'valid';
  }

  get tracked(): number {
    return this.#counts.size;
  }

  /** The whole keyed hash of a body for a realm, base64url (its first 22 characters are the MAC). */
  #mac(body: string, realm: string): string {
    return hash('sha512-256', this.#keyText + body + realm, 'base64url');
  }

  /** issuedAt, 6 bytes of seconds since the epoch, as 8 base64url characters. */
  #issuedAt(): string {
    const second = Math.floor(this.#now() / 1000);
    if (second !== this.#timeSecond) {
      let text = '';
      for (let i = TIME_CHARS - 1, v = second; i >= 0; i--, v = Math.floor(v / 64)) {
        text = BASE64URL[v % 64] + text;
      }
      this.#timeText = text;
      this.#timeSecond = second;
    }
    return this.#timeText;
  }
}

/**
 * Whether the nonce's MAC characters equal the first 22 of `mac`, in a time that does not
 * depend on where they differ (no early exit: a guesser learns nothing from the timing).
 */
function macMatches(nonce: string, mac: string): boolean {
  let diff = 0;
  for (let i = 0; i < MAC_CHARS; i++) {
    diff |= nonce.charCodeAt(BODY_CHARS + i) ^ mac.charCodeAt(i);
  }
  return diff === 0;
}

// The random part of nonces, drawn from the CSPRNG 3 KiB at a time (as src/random.ts does
// for other identifiers) and encoded once: a nonce takes the next 12 characters (72 bits),
// never handed out again.
const RANDOM_POOL = Buffer.alloc(3072);
let randomPoolText = '';
let randomPoolAt = 0;

function randomText(): string {
  if (randomPoolAt + RANDOM_CHARS > randomPoolText.length) {
    randomFillSync(RANDOM_POOL);
    randomPoolText = RANDOM_POOL.toString('base64url'); // 3072 bytes: 4096 characters
    randomPoolAt = 0;
  }
  const text = randomPoolText.slice(randomPoolAt, randomPoolAt + RANDOM_CHARS); // a copy
  randomPoolAt += RANDOM_CHARS;
  return text;
}

/** MAC characters `from`..`from + 4` of a nonce as 30 bits, -1 if one is not base64url. */
function macWord(nonce: string, from: number): number {
  let word = 0;
  let bad = 0;
  for (let i = BODY_CHARS + from; i < BODY_CHARS + from + 5; i++) {
    const code = nonce.charCodeAt(i);
    const sextet = code < 128 ? SEXTET[code]! : -1;
    bad |= sextet;
    word = (word << 6) | (sextet & 63);
  }
  return bad < 0 ? -1 : word;
}

/** A nonce-count: exactly 8 hex digits (RFC 7616 §3.4), as a number; -1 if it is not one. */
function parseNc(text: string): number {
  if (text.length !== 8) return -1;
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const c = text.charCodeAt(i);
    const lower = c | 0x20; // A-F to a-f (and a-f stay): nothing else lands in a-f
    let digit = -1;
    if (c >= 0x30 && c <= 0x39) digit = c - 0x30;
    else if (lower >= 0x61 && lower <= 0x66) digit = lower - 0x57;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}
