// The named timers of one call. Every timer a call ever has goes through here, so that
// ending the call (Calls.finish / hangUp) is one clearAll() and nothing of a dead call can
// fire later: starting a name replaces its previous timer, and the set counts what is live
// (the call table sums it; tests assert it drops to zero with the fake clock).
//
//   callinittimeout  INVITE forwarded → first provisional        (invite.ts)
//   ringtimeout      first provisional → answer                  (invite.ts)
//   absolutetimeout  answer → teardown                           (calls.ts)
//   maxduration      answer → teardown, from CallAccounting      (calls.ts)
//   sessionexpires   last refresh → teardown (RFC 4028 §10)      (session-timer.ts, calls.ts)
//   mediatimeout     last media seen → teardown                  (calls.ts, fed by the relay)
import type { Clock, TimerHandle } from '../transaction/index.ts';

export type CallTimerName =
  | 'callinittimeout'
  | 'ringtimeout'
  | 'absolutetimeout'
  | 'maxduration'
  | 'sessionexpires'
  | 'mediatimeout';

export class CallTimers {
  readonly #clock: Clock;
  readonly #live = new Map<CallTimerName, TimerHandle>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Starts `name` (replacing a running one of that name); fires once after `ms`. */
  start(name: CallTimerName, ms: number, fire: () => void): void {
    this.stop(name);
    const handle = this.#clock.setTimeout(() => {
      this.#live.delete(name);
      fire();
    }, ms);
    this.#live.set(name, handle);
  }

  stop(name: CallTimerName): void {
    const handle = this.#live.get(name);
    if (handle === undefined) return;
    this.#clock.clearTimeout(handle);
    this.#live.delete(name);
  }

  has(name: CallTimerName): boolean {
    return this.#live.has(name);
  }

  stopAll(): void {
    for (const handle of this.#live.values()) this.#clock.clearTimeout(handle);
    this.#live.clear();
  }

  get size(): number {
    return this.#live.size;
  }
}
