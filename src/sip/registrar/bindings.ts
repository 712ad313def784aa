// Registration bindings: in memory for lookups on the call path, written through to LMDB so
// they survive a restart (loaded back by `load()`). Bounded per AOR (a misbehaving or
// hijacked account cannot grow memory without limit) and swept when they expire.

import type { RegistrationRecord } from '../../store/records.ts';
import type { Store } from '../../store/store.ts';

/**
 * A registration binding. Beyond the stored record: the connection its REGISTER came over
 * (TCP/TLS: requests for it go back over that flow, RFC 5626 §5.3; after a restart the id
 * names nothing and the transport reconnects or finds the flow by address), and for an
 * RFC 5626 registration its instance and reg-id (the flow's identity, §6).
 */
export type Binding = RegistrationRecord & {
  connectionId?: string;
  instance?: string;
  regId?: number;
};

export const MAX_BINDINGS_PER_AOR = 16;

/**
 * `stricttransport` for a request from a registered user (reason to refuse, or undefined):
 *   2  it must arrive over a transport the user registered with
 *   3  as 2, and a user registered over TLS may not fall back to plain UDP/TCP (no downgrade)
 * Registering itself (`forRegister`) only gets the downgrade check: a phone may move between
 * UDP and TCP, but an account that uses TLS is not to be taken over in clear text.
 */
export function transportRefusal(
  level: number,
  bindings: readonly Binding[],
  transport: Binding['transport'],
  forRegister = false,
): string | undefined {
  if (bindings.length === 0 || level < 2) return undefined;
  if (level >= 3 && transport !== 'tls' && bindings.some((b) => b.transport === 'tls')) {
    return 'TLS Required';
  }
  if (!forRegister && !bindings.some((b) => b.transport === transport)) return 'Wrong Transport';
  return undefined;
}

const keyOf = (aor: string, contact: string) => `${aor}\n${contact}`;

/** A binding in memory, with the expiry last written to LMDB for it (see upsert). */
interface Slot {
  binding: Binding;
  persistedExpiry: number | undefined;
}

export class BindingStore {
  readonly #store: Store;
  readonly #now: () => number;
  readonly #byAor = new Map<string, Map<string, Slot>>();

  constructor(store: Store, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  /** Reads the bindings persisted before a restart, dropping the expired ones. */
  load(): number {
    let loaded = 0;
    const expired: string[] = [];
    for (const { key, value } of this.#store.tables.registrations.getRange()) {
      if (value.expiresAt <= this.#now()) expired.push(key);
      else {
        this.#restore(value);
        loaded++;
      }
    }
    for (const key of expired) void this.#store.tables.registrations.remove(key);
    return loaded;
  }

  /** Unexpired bindings of an AOR, highest q first. */
  lookup(aor: string): Binding[] {
    const map = this.#byAor.get(aor);
    if (map === undefined) return [];
    const now = this.#now();
    const list: Binding[] = [];
    for (const slot of map.values()) if (slot.binding.expiresAt > now) list.push(slot.binding);
    // Stable: equal q keep the order they were first registered in.
    return list.length > 1 ? list.sort((a, b) => b.q - a.q) : list;
  }

  /**
   * The account registered from exactly this transport, address and port (reuseep), if one
   * is. A scan of every binding: used only when reuseep is on (off by default).
   */
  atSource(transport: Binding['transport'], ip: string, port: number): string | undefined {
    const now = this.#now();
    for (const [aor, map] of this.#byAor)
      for (const { binding: b } of map.values())
        if (b.expiresAt > now && b.transport === transport && b.ip === ip && b.port === port)
          return aor;
    return undefined;
  }

  get(aor: string, contact: string): Binding | undefined {
    const b = this.#byAor.get(aor)?.get(contact)?.binding;
    return b && b.expiresAt > this.#now() ? b : undefined;
  }

  /** How many more bindings the AOR may have. */
  room(aor: string): number {
    const map = this.#byAor.get(aor);
    if (map === undefined) return MAX_BINDINGS_PER_AOR;
    const now = this.#now();
    let live = 0;
    for (const slot of map.values()) if (slot.binding.expiresAt > now) live++;
    return MAX_BINDINGS_PER_AOR - live;
  }

  /**
   * Adds or refreshes a binding. A refresh from the same place is written to LMDB only when
   * the stored expiry has less than half of the new lifetime left: phones refresh long before
   * expiry, and rewriting every refresh would put a disk write on every REGISTER. After a
   * restart such a binding lives at least half as long as granted, and the phone's next
   * refresh (due by then) writes it again.
   */
  upsert(binding: Binding): void {
    const map = this.#aorMap(binding.aor);
    let slot = map.get(binding.contact);
    const previous = slot?.binding;
    if (slot === undefined) {
      slot = { binding, persistedExpiry: undefined };
      map.set(binding.contact, slot);
    } else {
      slot.binding = binding;
    }
    const persisted = slot.persistedExpiry;
    const now = this.#now();
    const samePlace =
      previous !== undefined &&
      previous.ip === binding.ip &&
      previous.port === binding.port &&
      previous.transport === binding.transport &&
      previous.q === binding.q;
    if (samePlace && persisted !== undefined && persisted - now >= (binding.expiresAt - now) / 2)
      return;
    slot.persistedExpiry = binding.expiresAt;
    void this.#store.tables.registrations.put(keyOf(binding.aor, binding.contact), binding);
  }

  remove(aor: string, contact: string): void {
    const map = this.#byAor.get(aor);
    map?.delete(contact);
    if (map?.size === 0) this.#byAor.delete(aor);
    void this.#store.tables.registrations.remove(keyOf(aor, contact));
  }

  removeAll(aor: string): void {
    for (const contact of [...(this.#byAor.get(aor)?.keys() ?? [])]) this.remove(aor, contact);
  }

  /** Forgets expired bindings; returns how many. */
  sweep(): number {
    const now = this.#now();
    let removed = 0;
    for (const [aor, map] of [...this.#byAor]) {
      for (const [contact, slot] of [...map]) {
        if (slot.binding.expiresAt <= now) {
          this.remove(aor, contact);
          removed++;
        }
      }
    }
    return removed;
  }

  get size(): number {
    let n = 0;
    for (const map of this.#byAor.values()) n += map.size;
    return n;
  }

  /** Puts a binding loaded from LMDB in memory, as persisted with its expiry. */
  #restore(binding: Binding): void {
    this.#aorMap(binding.aor).set(binding.contact, { binding, persistedExpiry: binding.expiresAt });
  }

  #aorMap(aor: string): Map<string, Slot> {
    let map = this.#byAor.get(aor);
    if (!map) {
      map = new Map();
      this.#byAor.set(aor, map);
    }
    return map;
  }
}
