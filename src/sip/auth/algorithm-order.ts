// Which digest algorithms a challenge offers, and in which order (RFC 8760 §2.4: one
// WWW-/Proxy-Authenticate per algorithm, the server's preference first; a client "MUST use
// the topmost header field that it supports"). Real phones do not all follow that rule:
//
//   Linphone 5.1 (belle-sip)  walks the list and stops at the first algorithm it does not
//                             know ("unsupported algo SHA-512-256"): SHA-256 must come
//                             before SHA-512-256, which few clients implement.
//   baresip 1.0 (libre 1.x)   walks every challenge and gives up ("Register: Function not
//                             implemented") as soon as one is not MD5, wherever it stands
//                             (libre's sip/auth.c answers ENOSYS to any other algorithm):
//                             it registers only when MD5 is the only challenge.
//
// So with useshadigestauh=1 (SHA and MD5 both allowed) the order is SHA-256, SHA-512-256,
// MD5: a phone that can do SHA-256 uses it. A phone that can only do MD5 still registers:
//   - a known client of the second kind (by its User-Agent) is offered MD5 alone at once;
//   - any other phone that leaves a SHA-first challenge unanswered and comes back asking
//     again (from the same address, for the same account, at least GIVE_UP_MS later: a
//     phone that can answer does so within milliseconds) is offered MD5 alone from then on
//     (alone, not first: a client that chokes on any SHA challenge then works too).
// Only useshadigestauh=1 does this: at 2 MD5 is never offered, at 0 nothing else is.
// The fallback is per account and source address, bounded, and only ever chooses among the
// algorithms the operator allowed, so a forged request can at worst make a phone use MD5
// while MD5 is allowed (and `audit` lists the accounts that do).
import type { DigestAlgorithm } from '../../crypto/digest.ts';

export const MD5_ONLY: readonly DigestAlgorithm[] = Object.freeze(['MD5']);
export const SHA_FIRST: readonly DigestAlgorithm[] = Object.freeze([
  'SHA-256',
  'SHA-512-256',
  'MD5',
]);
export const SHA_ONLY: readonly DigestAlgorithm[] = Object.freeze(['SHA-256', 'SHA-512-256']);

/** useshadigestauh → what is allowed, in the order offered to a phone with no known quirk. */
export function allowedAlgorithms(level: number): readonly DigestAlgorithm[] {
  return level === 1 ? SHA_FIRST : level === 2 ? SHA_ONLY : MD5_ONLY;
}

/**
 * User-Agents of clients that answer only when MD5 is the only challenge. baresip before
 * 3.x is built on libre 1.x/2.x, whose digest code knows MD5 alone and fails on any other
 * challenge in the list. Matched on the start of the header ("baresip v1.0.0 (x86_64/linux)").
 */
const MD5_ONLY_CLIENTS: readonly RegExp[] = [/^baresip v?[0-2]\./i];

export function knownMd5OnlyClient(userAgent: string | undefined): boolean {
  if (userAgent === undefined) return false;
  for (const pattern of MD5_ONLY_CLIENTS) if (pattern.test(userAgent)) return true;
  return false;
}

/** A phone that answers a challenge does it at once; one that comes back later gave up. */
export const GIVE_UP_MS = 2_000;
/** A SHA-first challenge older than this says nothing about the phone's next request. */
const PENDING_MS = 3_600_000;
/** How long a phone that gave up stays on MD5 alone before SHA is tried again (upgrades). */
export const MD5_ONLY_MS = 86_400_000;
/** Pairs (account, source address) remembered; the oldest are forgotten first. */
export const ORDER_MEMORY = 10_000;

type Memory = { state: 'pending' | 'md5-only'; at: number };

/** The per-(account, address) part: SHA-first challenges left unanswered, and their outcome. */
export class AlgorithmOrder {
  readonly #memory = new Map<string, Memory>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** The algorithms to offer `user` at `ip`, in order, for useshadigestauh=`level`. */
  choose(
    level: number,
    user: string | undefined,
    ip: string,
    userAgent: string | undefined,
  ): readonly DigestAlgorithm[] {
    if (level !== 1) return allowedAlgorithms(level);
    if (knownMd5OnlyClient(userAgent)) return MD5_ONLY;
    if (user === undefined) return SHA_FIRST;
    const key = `${user}\n${ip}`;
    const held = this.#memory.get(key);
    const now = this.#now();
    if (held?.state === 'md5-only' && now - held.at < MD5_ONLY_MS) return MD5_ONLY;
    if (held?.state === 'pending' && now - held.at >= GIVE_UP_MS && now - held.at < PENDING_MS) {
      this.#remember(key, { state: 'md5-only', at: now });
      return MD5_ONLY;
    }
    this.#remember(key, { state: 'pending', at: now });
    return SHA_FIRST;
  }

  /**
   * `user` at `ip` answered with `algorithm`. A SHA answer, or any answer to a SHA-first
   * challenge, shows the phone copes with SHA first: it gets SHA first again. An MD5
   * answer to an MD5-only challenge keeps it on MD5 alone (for MD5_ONLY_MS from the fall-back).
   */
  answered(user: string, ip: string, algorithm: DigestAlgorithm): void {
    if (this.#memory.size === 0) return;
    const key = `${user}\n${ip}`;
    const held = this.#memory.get(key);
    if (held === undefined) return;
    if (held.state === 'pending' || algorithm !== 'MD5') this.#memory.delete(key);
  }

  get size(): number {
    return this.#memory.size;
  }

  #remember(key: string, memory: Memory): void {
    this.#memory.delete(key);
    this.#memory.set(key, memory);
    if (this.#memory.size > ORDER_MEMORY) {
      this.#memory.delete(this.#memory.keys().next().value!);
    }
  }
}
