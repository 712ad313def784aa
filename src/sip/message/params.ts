// Parameters of a parsed value (";branch=…;rport", "Digest username=…,nonce=…"): a read-only
// map kept as one flat array of names and values.
//
// Nearly every value has between one and a dozen parameters, read a few times each: a Map
// would allocate a hash table (and grow it twice for a Digest header's nine) per value, where
// a scan of a short array finds a name as fast. Past SCAN_LIMIT parameters lookups and the
// duplicate check would be quadratic, so a longer list is collected in a Map instead.

/** Parameters are found by a scan up to this many; a longer list becomes a Map. */
const SCAN_LIMIT = 16;

/** A read-only map over [name0, value0, name1, value1, …]; see the file comment. */
class ParamList<V> implements ReadonlyMap<string, V> {
  readonly #items: readonly (string | V)[];

  constructor(items: readonly (string | V)[]) {
    this.#items = items;
  }

  get size(): number {
    return this.#items.length >> 1;
  }

  get(name: string): V | undefined {
    const items = this.#items;
    for (let i = 0; i < items.length; i += 2) if (items[i] === name) return items[i + 1] as V;
    return undefined;
  }

  has(name: string): boolean {
    const items = this.#items;
    for (let i = 0; i < items.length; i += 2) if (items[i] === name) return true;
    return false;
  }

  forEach(cb: (value: V, key: string, map: ReadonlyMap<string, V>) => void, thisArg?: unknown) {
    const items = this.#items;
    for (let i = 0; i < items.length; i += 2) {
      cb.call(thisArg, items[i + 1] as V, items[i] as string, this);
    }
  }

  // Iteration is rare (keys of odd Via branches, diagnostics): a Map made for it will do.
  #asMap(): Map<string, V> {
    const m = new Map<string, V>();
    const items = this.#items;
    for (let i = 0; i < items.length; i += 2) m.set(items[i] as string, items[i + 1] as V);
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

/**
 * Collects parameters in order, refusing a name given twice. Start with `undefined`; each
 * add() returns the collection to pass to the next, or null for a duplicate name.
 */
export type ParamsBuilder<V> = (string | V)[] | Map<string, V> | undefined;

export function addParam<V>(
  to: ParamsBuilder<V>,
  name: string,
  value: V,
): (string | V)[] | Map<string, V> | null {
  if (to === undefined) return [name, value];
  if (Array.isArray(to)) {
    for (let i = 0; i < to.length; i += 2) if (to[i] === name) return null;
    if (to.length < SCAN_LIMIT * 2) {
      to.push(name, value);
      return to;
    }
    const m = new Map<string, V>();
    for (let i = 0; i < to.length; i += 2) m.set(to[i] as string, to[i + 1] as V);
    to = m;
  }
  // One hash lookup: a duplicate leaves the size unchanged.
  const size = to.size;
  return to.set(name, value).size === size ? null : to;
}

/** The read-only map of what was collected (`empty` when nothing was). */
export function paramsOf<V>(
  collected: ParamsBuilder<V>,
  empty: ReadonlyMap<string, V>,
): ReadonlyMap<string, V> {
  if (collected === undefined) return empty;
  return Array.isArray(collected) ? new ParamList<V>(collected) : collected;
}
