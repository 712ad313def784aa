// Timers that all run for the same duration expire in the order they were started, so they
// need neither a timer each nor a heap: a FIFO list and one clock timer, armed for its head.
//
// The non-INVITE server transactions use it for Timer F and Timer J (64·T1 each): on UDP a
// REGISTER's transaction waits out Timer J for 32 s after its answer, so under load these
// are nearly the whole table, and a Node timer and a closure each would be most of its cost.
// It also yields, at no cost, the oldest Completed transaction when the table needs room.
import type { Clock, TimerHandle } from './clock.ts';

/** Whoever a slot belongs to; told when its deadline passes. */
export interface DeadlineOwner {
  deadlineExpired(): void;
}

/**
 * What waits in a queue: an owner that carries its own place in it (the list links live in
 * the entry, so waiting costs no node object). An owner waits in at most one queue at a time.
 * The deadline* fields are the queue's bookkeeping: nothing else should write them.
 */
export interface DeadlineEntry extends DeadlineOwner {
  deadlineDue: number;
  deadlinePrev: DeadlineEntry | undefined;
  deadlineNext: DeadlineEntry | undefined;
  deadlineQueue: DeadlineQueue | undefined;
}

/**
 * A place in a queue for an owner that does not carry one itself: allocated once per owner
 * and reused for each of its timers. (The server transactions, which are many and wait long,
 * are entries themselves: one object fewer each.)
 */
export class DeadlineSlot implements DeadlineEntry {
  readonly owner: DeadlineOwner;
  deadlineDue = 0;
  deadlinePrev: DeadlineEntry | undefined = undefined;
  deadlineNext: DeadlineEntry | undefined = undefined;
  deadlineQueue: DeadlineQueue | undefined = undefined;

  constructor(owner: DeadlineOwner) {
    this.owner = owner;
  }

  deadlineExpired(): void {
    this.owner.deadlineExpired();
  }

  /** Leaves whichever queue it is in, if any. */
  cancel(): void {
    this.deadlineQueue?.remove(this);
  }
}

export class DeadlineQueue {
  readonly #clock: Clock;
  readonly #ms: number;
  #head: DeadlineEntry | undefined = undefined;
  #tail: DeadlineEntry | undefined = undefined;
  #size = 0;
  #timer: TimerHandle | undefined = undefined;
  readonly #onTimer = () => this.#expire();

  constructor(clock: Clock, ms: number) {
    this.#clock = clock;
    this.#ms = ms;
  }

  get size(): number {
    return this.#size;
  }

  /** The entry whose deadline comes first. */
  get oldest(): DeadlineEntry | undefined {
    return this.#head;
  }

  /** Starts the entry's timer from now (leaving any queue it was in). */
  add(entry: DeadlineEntry): void {
    entry.deadlineQueue?.remove(entry);
    // The clock is monotonic and the duration fixed, so the tail is always the latest due.
    // Whole milliseconds (timers have no finer grain): a small integer is kept in the entry
    // itself, where a fraction would be a heap number of its own per entry, kept 32 s.
    entry.deadlineDue = Math.ceil(this.#clock.now() + this.#ms);
    entry.deadlineQueue = this;
    entry.deadlinePrev = this.#tail;
    if (this.#tail === undefined) this.#head = entry;
    else this.#tail.deadlineNext = entry;
    this.#tail = entry;
    this.#size++;
    if (this.#timer === undefined) this.#arm();
  }

  remove(entry: DeadlineEntry): void {
    if (entry.deadlineQueue !== this) return;
    const prev = entry.deadlinePrev;
    const next = entry.deadlineNext;
    if (prev === undefined) this.#head = next;
    else prev.deadlineNext = next;
    if (next === undefined) this.#tail = prev;
    else next.deadlinePrev = prev;
    entry.deadlinePrev = entry.deadlineNext = entry.deadlineQueue = undefined;
    this.#size--;
    // Nothing left to wait for: no timer may outlive the last entry. (With entries left the
    // armed timer stays; firing before the new head is due only re-arms it.)
    if (this.#head === undefined && this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #arm(): void {
    const head = this.#head!;
    this.#timer = this.#clock.setTimeout(
      this.#onTimer,
      Math.max(0, head.deadlineDue - this.#clock.now()),
    );
  }

  #expire(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    for (let e = this.#head; e !== undefined && e.deadlineDue <= now; e = this.#head) {
      this.remove(e);
      e.deadlineExpired();
    }
    if (this.#head !== undefined && this.#timer === undefined) this.#arm();
  }
}
