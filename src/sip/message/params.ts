// Parameters of a parsed value (";branch=…;rport", "Digest username=…,nonce=…"): a read-only
// map kept as one flat array of names and values.
//
// Nearly every value has between one and a dozen parameters, read a few times each: a Map
// would allocate a hash table (and grow it twice for a Digest header's nine) per value, where
// a scan of a short array finds a name as fast. The array is allocated once at its final size
// (growing one by push() allocates room for 16 more). Lookups and the duplicate check scan,
// so a list that may hold more than SCAN_LIMIT parameters is collected in a Map instead.

/** Parameters are found by a scan up to this many; a longer list is a Map. */
const SCAN_LIMIT = 16;

/**
 * A map over [name0, value0, name1, value1, …]; see the file comment. Read-only once the
 * parser that fills it by add() has returned it.
 */
class ParamList<V> implements ParamCollector<V> {
  readonly #items: (string | V)[];
  /** Names and values in #items (its length is the capacity). */
  #used = 0;

  constructor(capacity: number) {
    this.#items = new Array<string | V>(capacity * 2);
  }

  /** False if `name` is already there (or the list is full: collectParams sizes it). */
  add(name: string, value: V): boolean {
    const items = this.#items;
    const used = this.#used;
    if (used === items.length) return false;
    for (let i = 0; i < used; i += 2) if (items[i] === name) return false;
    items[used] = name;
    items[used + 1] = value;
    this.#used = used + 2;
    return true;
  }

  get size(): number {
    return this.#used >> 1;
  }

  get(name: string): V | undefined {
    const items = this.#items;
    const used = this.#used;
    for (let i = 0; i < used; i += 2) if (items[i] === name) return items[i + 1] as V;
    return undefined;
  }

  has(name: string): boolean {
    const items = this.#items;
    const used = this.#used;
    for (let i = 0; i < used; i += 2) if (items[i] === name) return true;
    return false;
  }

  forEach(cb: (value: V, key: string, map: ReadonlyMap<string, V>) => void, thisArg?: unknown) {
    const items = this.#items;
    for (let i = 0; i < this.#used; i += 2) {
      cb.call(thisArg, items[i + 1] as V, items[i] as string, this);
    }
  }

  // Iteration is rare (keys of odd Via branches, diagnostics): a Map made for it will do.
  #asMap(): Map<string, V> {
    const m = new Map<string, V>();
    const items = this.#items;
    for (let i = 0; i < this.#used; i += 2) m.set(items[i] as string, items[i + 1] as V);
    return m;
  }

  entries() {
    return this.#asMap().entries();
  }

  keys() {
    return this.#asMap().keys();
  }

  values() {
    return this.#asMap().values();
  }

  [Symbol.iterator]() {
    return this.#asMap().entries();
  }

  get [Symbol.toStringTag](): string {
    return 'ParamList';
  }
}

/** What a parser fills: a read-only map to everyone else. */
export interface ParamCollector<V> extends ReadonlyMap<string, V> {
  /** False if `name` was already added. */
  add(name: string, value: V): boolean;
}

/** The Map for a long list. */
class LongParamList<V> extends Map<string, V> implements ParamCollector<V> {
  add(name: string, value: V): boolean {
    // One hash lookup: a duplicate leaves the size unchanged.
    const size = this.size;
    return this.set(name, value).size !== size;
  }
}

/** An empty collection for at most `maxCount` parameters (the separators in the text). */
export function collectParams<V>(maxCount: number): ParamCollector<V> {
  return maxCount > SCAN_LIMIT ? new LongParamList<V>() : new ParamList<V>(maxCount);
}

/** Occurrences of `c` in s[i..end): an upper bound on the parameters it separates. */
export function countChar(s: string, c: string, i: number, end: number): number {
  let n = 0;
  for (let k = s.indexOf(c, i); k >= 0 && k < end; k = s.indexOf(c, k + 1)) n++;
  return n;
}
