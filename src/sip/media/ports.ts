// The relay's UDP ports: pairs of an even RTP port and the odd RTCP port after it (RFC 3550
// §11: RTP on an even port, RTCP on the next), taken from mediaportmin..mediaportmax.
//
// Bounded and fair: a pair is held by one caller address (the address whose call it serves),
// and one address may hold at most a share of the range, so a single phone or attacker
// cannot take every port and refuse everyone else's calls (the proxy answers 503 instead).
// Freed pairs go to the back of the queue: a port is reused as late as possible, so the
// stray packets of a call just ended do not land in the next one.

/** One address holds at most this fraction of the pairs (and at least MIN_SHARE pairs). */
export const MAX_SHARE = 0.25;
export const MIN_SHARE = 8;

export interface PortPair {
  readonly rtp: number;
  readonly rtcp: number;
}

export class RelayPorts {
  readonly #free: number[] = [];
  #head = 0;
  readonly #held = new Map<number, string>();
  readonly #perOwner = new Map<string, number>();
  /** Ports found taken by another process (bind failed): never handed out again. */
  readonly #broken = new Set<number>();
  readonly total: number;
  readonly share: number;

  constructor(min: number, max: number) {
    const first = min % 2 === 0 ? min : min + 1;
    for (let p = first; p + 1 <= max; p += 2) this.#free.push(p);
    this.total = this.#free.length;
    this.share = Math.max(MIN_SHARE, Math.floor(this.total * MAX_SHARE));
  }

  get available(): number {
    return this.#free.length - this.#head;
  }

  get inUse(): number {
    return this.#held.size;
  }

  heldBy(owner: string): number {
    return this.#perOwner.get(owner) ?? 0;
  }

  /** A pair for `owner`, or why not: the range is exhausted, or the owner has its share. */
  take(owner: string): PortPair | 'exhausted' | 'share' {
    if (this.heldBy(owner) >= this.share) return 'share';
    while (this.#head < this.#free.length) {
      const rtp = this.#free[this.#head++]!;
      if (this.#head > 1024 && this.#head * 2 > this.#free.length) {
        this.#free.splice(0, this.#head);
        this.#head = 0;
      }
      if (this.#broken.has(rtp)) continue;
      this.#held.set(rtp, owner);
      this.#perOwner.set(owner, this.heldBy(owner) + 1);
      return { rtp, rtcp: rtp + 1 };
    }
    return 'exhausted';
  }

  /** Gives a pair back (a pair not held is ignored, so a double release is harmless). */
  release(rtp: number): void {
    const owner = this.#held.get(rtp);
    if (owner === undefined) return;
    this.#held.delete(rtp);
    const left = this.heldBy(owner) - 1;
    if (left > 0) this.#perOwner.set(owner, left);
    else this.#perOwner.delete(owner);
    if (!this.#broken.has(rtp)) this.#free.push(rtp);
  }

  /** Another process holds this pair's port: released and never handed out again. */
  markBroken(rtp: number): void {
    this.#broken.add(rtp);
    this.release(rtp);
  }
}
