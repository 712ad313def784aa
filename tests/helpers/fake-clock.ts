// A Clock (src/sip/transaction/clock.ts) whose time moves only when a test says so.
// advance(ms) fires every timer due by then, in due order, with now() equal to each timer's
// own due time while it runs — so timers started by a firing timer are scheduled from the
// right instant, exactly as on a real clock, and a 32-second Timer F takes no real time.
import type { Clock, TimerHandle } from '../../src/sip/transaction/clock.ts';

interface Pending {
  readonly id: number;
  readonly due: number;
  readonly fn: () => void;
}

export class FakeClock implements Clock {
  #now = 0;
  #seq = 0;
  readonly #timers = new Map<number, Pending>();

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.#seq;
    this.#timers.set(id, { id, due: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }

  /** Timers not yet fired nor cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing what falls due on the way. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (let next = this.#earliest(target); next !== undefined; next = this.#earliest(target)) {
      this.#timers.delete(next.id);
      this.#now = next.due;
      next.fn();
    }
    this.#now = target;
  }

  /** Moves time to an absolute instant (ms since the clock's start). */
  advanceTo(instant: number): void {
    this.advance(Math.max(0, instant - this.#now));
  }

  /** Fires everything, however far ahead, until no timer is left (bounded against loops). */
  runAll(maxFires = 10_000): void {
    for (let i = 0; i < maxFires; i++) {
      const next = this.#earliest(Number.POSITIVE_INFINITY);
      if (next === undefined) return;
      this.advanceTo(next.due);
    }
    throw new Error(`FakeClock.runAll: still ${this.pending} timers after ${maxFires} fires`);
  }

  #earliest(notAfter: number): Pending | undefined {
    let best: Pending | undefined;
    for (const t of this.#timers.values()) {
      if (
        t.due <= notAfter &&
        (best === undefined || t.due < best.due || (t.due === best.due && t.id < best.id))
      ) {
        best = t;
      }
    }
    return best;
  }
}
