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
 * One owner's place in a queue: allocated once per owner and reused for each of its timers
 * (an owner waits in at most one queue at a time).
 */
export class DeadlineSlot {
  readonly owner: DeadlineOwner;
  due = 0;
  prev: DeadlineSlot | undefined = undefined;
  next: DeadlineSlot | undefined = undefined;
  queue: DeadlineQueue | undefined = undefined;

  constructor(owner: DeadlineOwner) {
    this.owner = owner;
  }

  /** Leaves whichever queue it is in, if any. */
  cancel(): void {
    this.queue?.remove(this);
  }
}

export class DeadlineQueue {
  readonly #clock: Clock;
  readonly #ms: number;
  #head: DeadlineSlot | undefined = undefined;
  #tail: DeadlineSlot | undefined = undefined;
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

  /** The owner whose deadline comes first. */
  get oldest(): DeadlineOwner | undefined {
    return this.#head?.owner;
  }

  /** Starts the slot's timer from now (leaving any queue it was in). */
  add(slot: DeadlineSlot): void {
    slot.cancel();
    // The clock is monotonic and the duration fixed, so the tail is always the latest due.
    // Whole milliseconds (timers have no finer grain): a small integer is kept in the slot
    // itself, where a fraction would be a heap number of its own per slot, kept 32 s.
    slot.due = Math.ceil(this.#clock.now() + this.#ms);
    slot.queue = this;
    slot.prev = this.#tail;
    if (this.#tail === undefined) this.#head = slot;
    else this.#tail.next = slot;
    this.#tail = slot;
    this.#size++;
    if (this.#timer === undefined) this.#arm();
  }

  remove(slot: DeadlineSlot): void {
    if (slot.queue !== this) return;
    if (slot.prev === undefined) this.#head = slot.next;
    else slot.prev.next = slot.next;
    if (slot.next === undefined) this.#tail = slot.prev;
    else slot.next.prev = slot.prev;
    slot.prev = slot.next = slot.queue = undefined;
    this.#size--;
    // Nothing left to wait for: no timer may outlive the last slot. (With slots left the armed
    // timer stays; firing before the new head is due only re-arms it.)
    if (this.#head === undefined && this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #arm(): void {
    const head = this.#head!;
    this.#timer = this.#clock.setTimeout(this.#onTimer, Math.max(0, head.due - this.#clock.now()));
  }

  #expire(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    for (let slot = this.#head; slot !== undefined && slot.due <= now; slot = this.#head) {
      this.remove(slot);
      slot.owner.deadlineExpired();
    }
    if (this.#head !== undefined && this.#timer === undefined) this.#arm();
  }
}
