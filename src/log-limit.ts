// A log line per refused message is what an operator wants to read, until an attacker sends
// thousands a second: then the log itself becomes the target (disk, journald). Lines through
// a LogLimiter pass at `perSecond` with a `burst`; past that they are counted, and one line
// says how many were left out once the flow calms down (or at least every `summaryMs`).
import type { Logger } from './log.ts';

export class LogLimiter {
  readonly #log: Logger;
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #summaryMs: number;
  readonly #now: () => number;
  #tokens: number;
  #at: number;
  #suppressed = 0;
  #lastSummary: number;

  constructor(
    log: Logger,
    o: { perSecond: number; burst: number; summaryMs?: number; now?: () => number },
  ) {
    this.#log = log;
    this.#perSecond = o.perSecond;
    this.#burst = o.burst;
    this.#summaryMs = o.summaryMs ?? 10_000;
    this.#now = o.now ?? Date.now;
    this.#tokens = o.burst;
    this.#at = this.#now();
    this.#lastSummary = this.#at;
  }

  info(fields: Record<string, unknown>, msg: string): void {
    const now = this.#now();
    this.#tokens = Math.min(
      this.#burst,
      this.#tokens + ((now - this.#at) / 1000) * this.#perSecond,
    );
    this.#at = now;
    if (this.#suppressed > 0 && now - this.#lastSummary >= this.#summaryMs) {
      this.#log.warn({ suppressed: this.#suppressed }, 'log lines left out (too many to write)');
      this.#suppressed = 0;
      this.#lastSummary = now;
    }
    if (this.#tokens < 1) {
      if (this.#suppressed === 0) this.#lastSummary = now;
      this.#suppressed++;
      return;
    }
    this.#tokens -= 1;
    this.#log.info(fields, msg);
  }
}
