// The named timers of one transaction (or one call: proxy/call-timers.ts names its own):
// starting a name replaces its previous timer, and stopAll() on termination guarantees that
// nothing of a dead transaction fires later.
//
// A timer is a place in a queue of the timers of the same duration (deadline-queue.ts),
// shared by every set on the same clock, not a clock timer of its own: timers of one
// duration expire in the order they were started, so one clock timer per duration does.
// The long waits after an answer (Timers J, L on the server side, K, M on the client side)
// do not come here: the transactions wait in the layer's own queues (context.ts), where a
// full table finds the oldest to end early.
import type { Clock } from './clock.ts';
import { type DeadlineEntry, DeadlineQueue } from './deadline-queue.ts';

export type TimerName = 'A' | 'B' | 'C' | 'D' | 'E' | 'F' | 'G' | 'H' | 'I' | 'trying';

/** Queues by duration, per clock. Empty ones are dropped once there are this many. */
const QUEUES_BEFORE_SWEEP = 256;
const queuesByClock = new WeakMap<Clock, Map<number, DeadlineQueue>>();

/** The last clock's queues: there is one clock in a process (tests make more). */
let lastClock: Clock | undefined;
let lastQueues: Map<number, DeadlineQueue> | undefined;

function queueFor(clock: Clock, ms: number): DeadlineQueue {
  let queues = clock === lastClock ? lastQueues : queuesByClock.get(clock);
  if (queues === undefined) {
    queues = new Map();
    queuesByClock.set(clock, queues);
  }
  lastClock = clock;
  lastQueues = queues;
  let q = queues.get(ms);
  if (q === undefined) {
    // Durations come from configuration and from peers (session timers): the map is kept to
    // the durations in use, plus a bounded number of idle ones.
    if (queues.size >= QUEUES_BEFORE_SWEEP)
      for (const [d, idle] of queues) if (idle.size === 0) queues.delete(d);
    q = new DeadlineQueue(clock, ms);
    queues.set(ms, q);
  }
  return q;
}

/** One running timer: its place in its duration's queue, and in its set's list. */
class Timer<Name extends string> implements DeadlineEntry {
  readonly name: Name;
  readonly fire: () => void;
  readonly set: TimerSet<Name>;
  /** The next timer of the same set. */
  next: Timer<Name> | undefined;
  deadlineDue = 0;
  deadlinePrev: DeadlineEntry | undefined = undefined;
  deadlineNext: DeadlineEntry | undefined = undefined;
  deadlineQueue: DeadlineQueue | undefined = undefined;

  constructor(name: Name, fire: () => void, set: TimerSet<Name>, next: Timer<Name> | undefined) {
    this.name = name;
    this.fire = fire;
    this.set = set;
    this.next = next;
  }

  deadlineExpired(): void {
    this.set.unlink(this);
    this.fire();
  }
}

export class TimerSet<Name extends string = TimerName> {
  readonly #clock: Clock;
  /** Running timers, newest first (a transaction has at most a few). */
  #live: Timer<Name> | undefined = undefined;
  #size = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Starts `name` (replacing a running one of that name); fires once after `ms`. */
  start(name: Name, ms: number, fire: () => void): void {
    this.stop(name);
    const timer = new Timer(name, fire, this, this.#live);
    this.#live = timer;
    this.#size++;
    queueFor(this.#clock, Math.max(0, ms)).add(timer);
  }

  stop(name: Name): void {
    for (let t = this.#live; t !== undefined; t = t.next) {
      if (t.name === name) {
        t.deadlineQueue?.remove(t);
        this.unlink(t);
        return;
      }
    }
  }

  has(name: Name): boolean {
    for (let t = this.#live; t !== undefined; t = t.next) if (t.name === name) return true;
    return false;
  }

  stopAll(): void {
    for (let t = this.#live; t !== undefined; t = t.next) t.deadlineQueue?.remove(t);
    this.#live = undefined;
    this.#size = 0;
  }

  get size(): number {
    return this.#size;
  }

  /** Takes a timer out of the list (it fired, or was stopped). For Timer only. */
  unlink(timer: Timer<Name>): void {
    if (this.#live === timer) this.#live = timer.next;
    else
      for (let t = this.#live; t !== undefined; t = t.next)
        if (t.next === timer) {
          t.next = timer.next;
          break;
        }
    this.#size--;
  }
}
