// The transaction layer's only view of time. Production uses the event loop's timers;
// tests pass a fake clock and advance it by hand, so a 32-second Timer F takes no real time
// (tests/helpers/fake-clock.ts).

/** An opaque timer handle, returned by setTimeout and given back to clearTimeout. */
export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * Node's timers, unref'd: a transaction waiting out retransmissions must not keep a
 * process alive on its own (the sockets do that).
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const h = setTimeout(fn, ms);
    h.unref();
    return h;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
