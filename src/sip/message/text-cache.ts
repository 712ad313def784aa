// Parsed values by the exact text they were parsed from, shared by all messages.
//
// The same texts come back again and again: every request names the same Request-URI, To
// and From carry the same URI, and a phone's REGISTER answered with a 401 is re-sent with
// the same To, From and Contact. Parsing is a pure function of the text (and of the limit
// the caller puts in the key), and parsed views are immutable, so a hit is the parse.
//
// Bounded: at most `capacity` entries (all are dropped when it is reached, so a flood of
// distinct texts costs one insertion each and never more memory), and texts longer than
// `maxText` are not kept. A kept text is a copy: the text handed in is usually a slice of a
// whole message, which the cache must not keep alive.

export class TextCache<V> {
  #entries = new Map<string, V>();
  readonly #capacity: number;
  readonly #maxText: number;

  constructor(capacity: number, maxText: number) {
    this.#capacity = capacity;
    this.#maxText = maxText;
  }

  get(text: string): V | undefined {
    return this.#entries.get(text);
  }

  /**
   * The text to parse for a result that add() may keep: a copy that the result's substrings
   * can refer to without holding on to the message. Too long a text comes back as it is.
   */
  own(text: string): string {
    return text.length > this.#maxText ? text : detach(text);
  }

  /** Keeps value, parsed from `own` (from own()). */
  add(own: string, value: V): void {
    if (own.length > this.#maxText) return;
    // A new Map rather than clear(): clearing a long-lived Map churns the old generation.
    if (this.#entries.size >= this.#capacity) this.#entries = new Map();
    this.#entries.set(own, value);
  }
}

/**
 * A copy of `s` that shares no memory with the string it was cut from. V8 keeps a substring
 * of 13 or more chars as a view into its parent; a concatenation is flattened into fresh
 * memory when sliced, and shorter substrings are always copies. For a header value kept
 * longer than its message: as a slice it would keep the whole message's text alive.
 */
export function detach(s: string): string {
  return s.length < 13 ? s : ` ${s}`.slice(1);
}
