// fastauthsubswrongusermsg's second half: "X*10 for any IP". Not authenticated messages are
// counted over all addresses too; when they reach ten times the per-address limit within the
// 90 s window there is nobody to ban, so every address gets a tenth of its budget (at least
// 10) until the window ends. A registering phone needs 1–2 per 90 s.
// This is the load adaptation autofinetune turns on and off (guard.ts: fastLimit); with
// autofinetune 0 every address keeps its configured limit.
import type { Logger } from '../../log.ts';
import { FAST_AUTH_WINDOW_MS } from './config.ts';

export class FastAuthPressure {
  #count = 0;
  #windowStart = 0;
  #until = 0;
  readonly #log: Logger | undefined;

  constructor(log?: Logger) {
    this.#log = log;
  }

  /**
   * The per-address limit for one more not authenticated message at `now`, given the
   * configured one (0 = off). `counted`: whether the message counts towards the global total
   * (messages from trusted sources do not: they must not lower everyone else's budget).
   */
  limit(configured: number, now: number, counted: boolean): number {
    if (configured <= 0) return 0;
    if (counted) {
      if (now - this.#windowStart >= FAST_AUTH_WINDOW_MS) {
        this.#windowStart = now;
        this.#count = 0;
      }
      this.#count++;
      if (this.#count === configured * 10) {
        this.#until = this.#windowStart + FAST_AUTH_WINDOW_MS;
        this.#log?.warn(
          { count: this.#count, threshold: configured * 10 },
          'unauthenticated messages from many addresses: per-address limit lowered for 90 s',
        );
      }
    }
    return now < this.#until ? Math.max(10, Math.ceil(configured / 10)) : configured;
  }

  active(now: number): boolean {
    return now < this.#until;
  }

  reset(): void {
    this.#count = 0;
    this.#until = 0;
  }
}
