// A queue of byte records in a SharedArrayBuffer, written by one thread and read by another:
// how the UDP thread (udp-thread.ts) and the main thread hand each other datagrams without a
// structured-clone message, a MessagePort task or an allocation per datagram.
//
// One writer and one reader, each the only one to move its own index. The writer fills a
// record, then publishes it by storing the new tail with Atomics; the reader sees it once it
// loads that tail, and frees the room by storing the new head. Atomics' ordering makes the
// octets written before a store visible to the thread whose load sees that store.
//
// Every record is a 32-bit length followed by its octets, padded to 4. A record that does not
// fit before the end of the buffer starts again at 0, after a length of -1 that says so. The
// ring is bounded: a writer that finds no room is told so (-1) and decides what to drop.

const HEAD = 0;
const TAIL = 1;
/** Records the reader has consumed, modulo 2^32: tells the writer which of its records are gone. */
const CONSUMED = 2;
/** Slots after these that the users of a ring may count in (Atomics.add). */
const COUNTERS = 5;
const CONTROL_BYTES = 4 * (3 + COUNTERS);
const WRAPPED = -1;

/** The octets a record of `length` octets takes, length field and padding included. */
function footprint(length: number): number {
  return 4 + ((length + 3) & ~3);
}

export class ByteRing {
  /** What to give the other thread (in workerData) so it can open the same ring. */
  readonly shared: SharedArrayBuffer;
  /** The record area: records are read and written here, at the offsets given out. */
  readonly bytes: Buffer;
  readonly #control: Int32Array;
  readonly #words: Int32Array;
  readonly #capacity: number;
  /** The writer's next record (its own copy of TAIL, published by publish()). */
  #tail: number;
  /** Where the record reserve() handed out ends. */
  #reservedEnd = -1;
  /** The reader's current record (its own copy of HEAD) and where the next one starts. */
  #head: number;
  #next = -1;
  #consumed = 0;
  /** The length of the record peek() returned. */
  length = 0;

  /** A new ring of `capacity` octets (a multiple of 4), or the other side of `shared`. */
  constructor(from: number | SharedArrayBuffer) {
    this.shared =
      typeof from === 'number' ? new SharedArrayBuffer(CONTROL_BYTES + (from & ~3)) : from;
    this.#capacity = this.shared.byteLength - CONTROL_BYTES;
    this.#control = new Int32Array(this.shared, 0, 3 + COUNTERS);
    this.#words = new Int32Array(this.shared, CONTROL_BYTES);
    this.bytes = Buffer.from(this.shared, CONTROL_BYTES, this.#capacity);
    this.#tail = Atomics.load(this.#control, TAIL);
    this.#head = Atomics.load(this.#control, HEAD);
    this.#consumed = Atomics.load(this.#control, CONSUMED);
  }

  /** The largest record a ring of this size can ever take. */
  get maxRecord(): number {
    return (this.#capacity >> 1) - 8;
  }

  // ---- the writer

  /**
   * Room for a record of `length` octets: the offset in `bytes` to write them at, or -1 when
   * the reader has not yet freed enough. Nothing is visible to the reader before publish().
   */
  reserve(length: number): number {
    const need = footprint(length);
    if (length > this.maxRecord) return -1;
    const head = Atomics.load(this.#control, HEAD);
    let at = this.#tail;
    if (head > at) {
      // The free room is [at, head); one word stays free so that full never looks empty.
      if (at + need >= head) return -1;
    } else if (at + need > this.#capacity) {
      // Not before the end: mark the rest as skipped and start again at 0, before head.
      if (need >= head) return -1;
      this.#words[at >> 2] = WRAPPED;
      at = 0;
    } else if (at + need === this.#capacity && head === 0) {
      return -1; // the tail would come back to 0, where the reader is: full would read as empty
    }
    this.#words[at >> 2] = length;
    this.#reservedEnd = at + need === this.#capacity ? 0 : at + need;
    return at + 4;
  }

  /** Makes the record reserve() gave visible to the reader. */
  publish(): void {
    this.#tail = this.#reservedEnd;
    Atomics.store(this.#control, TAIL, this.#tail);
  }

  /** How full the ring is, from 0 to 1 (the writer's view: it may be emptier already). */
  fill(): number {
    const used = this.#tail - Atomics.load(this.#control, HEAD);
    return (used < 0 ? used + this.#capacity : used) / this.#capacity;
  }

  /** How many records the reader has consumed so far, modulo 2^32. */
  consumedRecords(): number {
    return Atomics.load(this.#control, CONSUMED) >>> 0;
  }

  /** Wakes the reader if it waits in waitAsync() (cheap when it does not). */
  wake(): void {
    Atomics.notify(this.#control, TAIL, 1);
  }

  // ---- the reader

  /** The offset in `bytes` of the next record (its length in `length`), or -1 when none. */
  peek(): number {
    let at = this.#head;
    if (at === Atomics.load(this.#control, TAIL)) return -1;
    let length = this.#words[at >> 2]!;
    if (length === WRAPPED) {
      at = 0;
      length = this.#words[0]!;
    }
    this.#head = at;
    this.length = length;
    const end = at + footprint(length);
    this.#next = end === this.#capacity ? 0 : end;
    return at + 4;
  }

  /** Frees the record peek() returned. */
  consume(): void {
    this.#head = this.#next;
    this.#consumed = (this.#consumed + 1) | 0;
    Atomics.store(this.#control, CONSUMED, this.#consumed);
    Atomics.store(this.#control, HEAD, this.#head);
  }

  /**
   * Settles once a record may be there: at once (undefined) when one is already, otherwise a
   * promise the writer's wake() resolves. Only for the reader, and only when peek() said -1.
   */
  waitAsync(): Promise<unknown> | undefined {
    const r = Atomics.waitAsync(this.#control, TAIL, this.#head);
    return r.async ? r.value : undefined;
  }

  // ---- counters shared by both sides

  count(slot: number): void {
    Atomics.add(this.#control, 3 + slot, 1);
  }

  counter(slot: number): number {
    return Atomics.load(this.#control, 3 + slot);
  }
}
