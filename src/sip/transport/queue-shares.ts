// Each address's fair share of the queue of received datagrams waiting for the main thread
// (the UDP thread's ByteRing). While the queue is less than half full everything gets in. Past
// that, an address already holding more than its share (the queue's records over the number
// of addresses in it, and never more than half) has its datagrams dropped, so one address
// flooding faster than the main thread reads cannot fill the queue and crowd out everyone
// else's INVITEs and answers: they still find room. The guard bans the flooder; this keeps
// the others served until it does.
//
// The writer counts the records it queued and the reader publishes how many it consumed
// (ByteRing.consumedRecords): the difference says which of the queued records are still there,
// oldest first, without the reader telling anything per record.

/** The records kept from one address; a record without one (an answer) is undefined. */
export class QueueShares {
  /** The source of every record still in the queue, oldest first, from #start. */
  #sources: (string | undefined)[] = [];
  #start = 0;
  readonly #perSource = new Map<string, number>();
  /** Records queued so far, modulo 2^32. */
  #queued = 0;

  /** Forgets the records the reader has consumed: `consumed` of all those ever queued. */
  settle(consumed: number): void {
    const inQueue = (this.#queued - consumed) >>> 0;
    while (this.#sources.length - this.#start > inQueue) {
      const source = this.#sources[this.#start++];
      if (source === undefined) continue;
      const n = this.#perSource.get(source)!;
      if (n === 1) this.#perSource.delete(source);
      else this.#perSource.set(source, n - 1);
    }
    if (this.#start > 4096 && this.#start * 2 > this.#sources.length) {
      this.#sources = this.#sources.slice(this.#start);
      this.#start = 0;
    }
  }

  /** Whether a datagram from `source` may be queued; `crowded`: the queue is over half full. */
  admits(source: string, crowded: boolean): boolean {
    if (!crowded) return true;
    const mine = this.#perSource.get(source) ?? 0;
    const records = this.#sources.length - this.#start;
    return mine * Math.max(2, this.#perSource.size) < records;
  }

  /** A record was queued (from `source`, when it is a datagram). */
  queued(source: string | undefined): void {
    this.#sources.push(source);
    this.#queued = (this.#queued + 1) >>> 0;
    if (source !== undefined) this.#perSource.set(source, (this.#perSource.get(source) ?? 0) + 1);
  }

  /** Addresses with datagrams in the queue. */
  get sources(): number {
    return this.#perSource.size;
  }
}
