// Auto ban of callers with bad call statistics (the reference's "Caller banning", a Fail2Ban
// for calls). Per caller — the paying account, and the source address — over 10 minutes:
// at least MIN_CALLS call attempts of which under 10% were answered is the statistic of a
// dialler or a fraud run, not of a person. What happens then is `autoban`:
//   0  nothing
//   1  the caller is rejected for BLOCK_MS (its calls are refused with rule "autoban")
//   2  as 1, and its source address is banned (the ban service puts it in the kernel)
export const CALLER_WINDOW_MS = 600_000;
export const MIN_CALLS = 30;
export const MIN_ASR = 0.1;
export const BLOCK_MS = 3_600_000;
const TRACKED = 65_536;

interface Stats {
  windowStart: number;
  calls: number;
  answered: number;
}

export interface BadCaller {
  caller: string;
  calls: number;
  answered: number;
  windowSeconds: number;
}

export class CallerStats {
  readonly #stats = new Map<string, Stats>();
  readonly #blocked = new Map<string, { until: number; evidence: BadCaller }>();

  /** The block in force on any of `callers` at `now`. */
  blocked(callers: readonly (string | undefined)[], now: number): BadCaller | undefined {
    if (this.#blocked.size === 0) return undefined;
    for (const c of callers) {
      if (c === undefined) continue;
      const b = this.#blocked.get(c);
      if (!b) continue;
      if (b.until > now) return b.evidence;
      this.#blocked.delete(c);
    }
    return undefined;
  }

  /** A call attempt ended; returns the callers it made bad (empty: none) when autoban ≥ 1. */
  observe(
    callers: readonly (string | undefined)[],
    answered: boolean,
    now: number,
    autoban: number,
  ): BadCaller[] {
    const out: BadCaller[] = [];
    if (autoban <= 0) return out;
    for (const caller of callers) {
      if (caller === undefined || caller === '') continue;
      let s = this.#stats.get(caller);
      if (!s || now - s.windowStart >= CALLER_WINDOW_MS) {
        s = { windowStart: now, calls: 0, answered: 0 };
        this.#stats.delete(caller);
        this.#stats.set(caller, s);
        if (this.#stats.size > TRACKED) this.#stats.delete(this.#stats.keys().next().value!);
      }
      s.calls++;
      if (answered) s.answered++;
      if (s.calls >= MIN_CALLS && s.answered / s.calls < MIN_ASR && !this.#blocked.has(caller)) {
        const evidence = {
          caller,
          calls: s.calls,
          answered: s.answered,
          windowSeconds: Math.round((now - s.windowStart) / 1000),
        };
        this.#blocked.set(caller, { until: now + BLOCK_MS, evidence });
        if (this.#blocked.size > TRACKED) this.#blocked.delete(this.#blocked.keys().next().value!);
        this.#stats.delete(caller);
        out.push(evidence);
      }
    }
    return out;
  }

  /** Lifts the blocks of one caller (or all). */
  lift(caller: string | 'all'): number {
    if (caller === 'all') {
      const n = this.#blocked.size;
      this.#blocked.clear();
      return n;
    }
    return this.#blocked.delete(caller) ? 1 : 0;
  }
}
