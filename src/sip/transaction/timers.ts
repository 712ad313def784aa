// Every transaction timer, derived from T1/T2/T4 in this one place (RFC 3261 §17.1.1.1 and
// Table 4 in Appendix A; RFC 6026 §8.4 and §8.7 add Timers L and M). Nothing else in the
// transaction layer holds a duration.
//
// On a reliable transport (TCP, TLS) the network does the retransmitting, so the timers that
// only wait out retransmissions (D, I, J, K) are 0 and the retransmission timers (A, E, G)
// are not started at all. The timeouts (B, F, H, L, M) are the same on every transport.
//
// Worked example with the defaults (T1 = 500 ms, T2 = 4 s, T4 = 5 s) on UDP: a REGISTER
// (non-INVITE) is sent at 0 and retransmitted when Timer E fires at 0.5, 1.5, 3.5, 7.5,
// 11.5, 15.5 … s (E doubles up to T2), until Timer F (64·T1 = 32 s) gives up with a 408.

/** The three base values, milliseconds (RFC 3261 §17.1.1.1). */
export interface BaseTimers {
  /** RTT estimate. */
  readonly t1: number;
  /** Longest interval between retransmissions of non-INVITE requests and INVITE responses. */
  readonly t2: number;
  /** Longest time a message stays in the network. */
  readonly t4: number;
}

export const DEFAULT_BASE_TIMERS: BaseTimers = Object.freeze({ t1: 500, t2: 4000, t4: 5000 });

/** Milliseconds for each timer on one kind of transport. */
export interface TimerValues {
  /** A: first INVITE retransmission interval, doubling each time (§17.1.1.2). Unreliable only. */
  readonly A: number;
  /** B: INVITE client transaction timeout, 64·T1 (§17.1.1.2). */
  readonly B: number;
  /**
   * C: how long an INVITE may stay unanswered without a provisional, "greater than 3 minutes"
   * (§16.6 step 11). Used by both sides as the bound on a silent INVITE, reset by every 1xx.
   */
  readonly C: number;
  /** D: client waits for 3xx-6xx retransmissions, ≥ 32 s unreliable, 0 reliable (§17.1.1.2). */
  readonly D: number;
  /** E: first non-INVITE retransmission interval, doubling up to T2 (§17.1.2.2). Unreliable only. */
  readonly E: number;
  /** F: non-INVITE client transaction timeout, 64·T1 (§17.1.2.2). */
  readonly F: number;
  /** G: first INVITE final-response retransmission interval, doubling up to T2 (§17.2.1). */
  readonly G: number;
  /** H: server waits for the ACK of a 3xx-6xx, 64·T1 (§17.2.1). */
  readonly H: number;
  /** I: server waits for ACK retransmissions, T4 unreliable, 0 reliable (§17.2.1). */
  readonly I: number;
  /** J: server waits for non-INVITE request retransmissions, 64·T1 unreliable, 0 reliable (§17.2.2). */
  readonly J: number;
  /** K: client waits for non-INVITE response retransmissions, T4 unreliable, 0 reliable (§17.1.2.2). */
  readonly K: number;
  /** L: server waits for INVITE retransmissions after a 2xx, 64·T1 (RFC 6026 §8.7). */
  readonly L: number;
  /** M: client waits for 2xx retransmissions and forked 2xx, 64·T1 (RFC 6026 §8.4). */
  readonly M: number;
  /** Ceiling of the doubling of E and G (§17.1.2.2, §17.2.1). */
  readonly T2: number;
  /** §17.2.1: a server INVITE transaction sends 100 Trying if the TU has not answered in 200 ms. */
  readonly trying: number;
}

/** RFC 3261 §17.1.1.2: Timer D is "at least 32 seconds" on unreliable transports, whatever T1. */
const TIMER_D_UNRELIABLE = 32_000;
/** RFC 3261 §16.6 step 11: Timer C is "greater than 3 minutes"; fixed, not derived from T1. */
const TIMER_C = 181_000;
/** RFC 3261 §17.2.1: the 100 Trying deadline is a fixed 200 ms, not derived from T1. */
const TRYING_DELAY = 200;

/** All timers for one transport kind. Throws RangeError for non-positive or unordered bases. */
export function deriveTimers(base: BaseTimers, reliable: boolean): TimerValues {
  const { t1, t2, t4 } = base;
  for (const [name, v] of Object.entries(base)) {
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`timer ${name} must be > 0, got ${v}`);
  }
  if (t2 < t1) throw new RangeError(`T2 (${t2}) must not be below T1 (${t1})`);
  const waitOut = (unreliable: number) => (reliable ? 0 : unreliable);
  return Object.freeze({
    A: t1,
    B: 64 * t1,
    C: TIMER_C,
    D: waitOut(Math.max(TIMER_D_UNRELIABLE, 64 * t1)),
    E: t1,
    F: 64 * t1,
    G: t1,
    H: 64 * t1,
    I: waitOut(t4),
    J: waitOut(64 * t1),
    K: waitOut(t4),
    L: 64 * t1,
    M: 64 * t1,
    T2: t2,
    trying: TRYING_DELAY,
  });
}

/** The next retransmission interval: doubled, capped at T2 when `capped` (E and G; A is not). */
export function backoff(current: number, t2: number, capped: boolean): number {
  return capped ? Math.min(2 * current, t2) : 2 * current;
}
