// The named timers of one transaction (or one call: proxy/call-timers.ts names its own):
// starting a name replaces its previous timer, and stopAll() on termination guarantees that
// nothing of a dead transaction fires later.
import type { Clock, TimerHandle } from './clock.ts';

export type TimerName =
  | 'A'
  | 'B'
  | 'C'
  | 'D'
  | 'E'
  | 'F'
  | 'G'
  | 'H'
  | 'I'
  | 'J'
  | 'K'
  | 'L'
  | 'M'
  | 'trying';

export class TimerSet<Name extends string = TimerName> {
  readonly #clock: Clock;
  readonly #live = new Map<Name, TimerHandle>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Starts `name` (replacing a running one of that name); fires once after `ms`. */
  start(name: Name, ms: number, fire: () => void): void {
    this.stop(name);
    const handle = this.#clock.setTimeout(() => {
      this.#live.delete(name);
      fire();
    }, ms);
    this.#live.set(name, handle);
  }

  stop(name: Name): void {
    const h = this.#live.get(name);
    if (h !== undefined) {
      this.#clock.clearTimeout(h);
      this.#live.delete(name);
    }
  }

  has(name: Name): boolean {
    return this.#live.has(name);
  }

  stopAll(): void {
    for (const h of this.#live.values()) this.#clock.clearTimeout(h);
    this.#live.clear();
  }

  get size(): number {
    return this.#live.size;
  }
}
