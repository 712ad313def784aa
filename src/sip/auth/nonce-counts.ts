// The nonce-count replay tracker's memory: the highest nc accepted per nonce, for at most
// `limit` nonces, in a fixed set of typed arrays allocated once. A Map of nonce strings cost
// a string hash, an owned copy of the nonce (promoted to old space) and a share of the
// Map's rehashing for every registration; this table allocates nothing after construction.
//
// A nonce is known by a 90-bit key: three 30-bit words the caller takes from random
// characters (nonce.ts: the nonce's MAC). Being uniformly random already, the words need no
// hashing: the second one picks the home slot. The table is open addressing with linear
// probing, at most half full, and removes by backward shift (no tombstones to clean up).
//
// Eviction, once `limit` nonces are tracked, is "second chance" (the CLOCK approximation of
// least recently used): nonces sit in a ring in the order they were first counted; the
// oldest goes, unless it was counted again since it last came up, in which case it moves
// to the newest end and the next oldest is considered. A nonce a phone keeps using thus
// outlives the ones used once, as it did with the Map kept in least-recently-used order.

const OCCUPIED = 1 << 30; // set in the first key word of every used slot: 0 means empty
const MAX_LIMIT = 1 << 27;

export type CountVerdict = 'valid' | 'stale' | 'replay';

export class NonceCounts {
  readonly #limit: number;
  readonly #mask: number;
  /** Per slot: the key's three words (the first with OCCUPIED set; 0 = empty slot). */
  readonly #key0: Int32Array;
  readonly #key1: Int32Array;
  readonly #key2: Int32Array;
  /** Per slot: the highest nonce-count accepted. */
  readonly #nc: Uint32Array;
  /** Per slot: 1 if counted again since it last came up for eviction. */
  readonly #recounted: Uint8Array;
  /** Per slot: its index in #ring, so a slot moved by a removal can be found there. */
  readonly #ringIndex: Int32Array;
  /** Slots in the order their nonces were first counted, oldest at #head (circular). */
  readonly #ring: Int32Array;
  #head = 0;
  #size = 0;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new Error(`nonce tracker size must be an integer from 1 to ${MAX_LIMIT}`);
    }
    let slots = 16;
    while (slots < 2 * limit) slots *= 2; // load factor at most 1/2: short probes
    this.#limit = limit;
    this.#mask = slots - 1;
    this.#key0 = new Int32Array(slots);
    this.#key1 = new Int32Array(slots);
    this.#key2 = new Int32Array(slots);
    this.#nc = new Uint32Array(slots);
    this.#recounted = new Uint8Array(slots);
    this.#ringIndex = new Int32Array(slots);
    this.#ring = new Int32Array(limit);
  }

  get size(): number {
    return this.#size;
  }

  /**
   * Records nonce-count `nc` for the nonce keyed by three 30-bit words: 'valid' if it is
   * higher than any seen, 'replay' if not, 'stale' if the nonce is unknown and nc is not 1
   * (its earlier counts may have been forgotten, so a replay cannot be ruled out).
   */
  count(word0: number, word1: number, word2: number, nc: number): CountVerdict {
    const tag = word0 | OCCUPIED;
    const mask = this.#mask;
    let slot = word1 & mask;
    for (let held = this.#key0[slot]!; held !== 0; held = this.#key0[slot]!) {
      if (held === tag && this.#key1[slot] === word1 && this.#key2[slot] === word2) {
        if (nc <= this.#nc[slot]!) return 'replay';
        this.#nc[slot] = nc;
        this.#recounted[slot] = 1;
        return 'valid';
      }
      slot = (slot + 1) & mask;
    }
    if (nc !== 1) return 'stale';
    let ringIndex: number;
    if (this.#size === this.#limit) {
      ringIndex = this.#evict(); // may shift entries into the slot found empty above
      for (slot = word1 & mask; this.#key0[slot] !== 0; slot = (slot + 1) & mask);
    } else {
      ringIndex = this.#head + this.#size;
      if (ringIndex >= this.#limit) ringIndex -= this.#limit;
      this.#size++;
    }
    this.#key0[slot] = tag;
    this.#key1[slot] = word1;
    this.#key2[slot] = word2;
    this.#nc[slot] = nc;
    this.#recounted[slot] = 0;
    this.#ringIndex[slot] = ringIndex;
    this.#ring[ringIndex] = slot;
    return 'valid';
  }

  /**
   * Removes the oldest nonce not counted again since it last came up, and returns its ring
   * index, which the caller fills with the newcomer. The ring is full, so its newest end is
   * just behind #head: moving #head past an entry makes that entry the newest.
   */
  #evict(): number {
    const last = this.#limit - 1;
    let at = this.#head;
    // Ends within one lap: every entry passed over loses its mark.
    while (this.#recounted[this.#ring[at]!] === 1) {
      this.#recounted[this.#ring[at]!] = 0;
      at = at === last ? 0 : at + 1;
    }
    this.#remove(this.#ring[at]!);
    this.#head = at === last ? 0 : at + 1;
    return at;
  }

  /**
   * Empties a slot, then moves back each following entry of the probe run that may live
   * there (its home slot is not cyclically after the hole), so lookups, which stop at the
   * first empty slot, still find everything.
   */
  #remove(slot: number): void {
    const mask = this.#mask;
    let hole = slot;
    for (let next = (hole + 1) & mask; this.#key0[next] !== 0; next = (next + 1) & mask) {
      const home = this.#key1[next]! & mask;
      const stays = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (stays) continue;
      this.#key0[hole] = this.#key0[next]!;
      this.#key1[hole] = this.#key1[next]!;
      this.#key2[hole] = this.#key2[next]!;
      this.#nc[hole] = this.#nc[next]!;
      this.#recounted[hole] = this.#recounted[next]!;
      const ringIndex = this.#ringIndex[next]!;
      this.#ringIndex[hole] = ringIndex;
      this.#ring[ringIndex] = hole;
      hole = next;
    }
    this.#key0[hole] = 0;
  }
}
