// Registration bindings: in memory for lookups on the call path, written through to LMDB so
// they survive a restart (loaded back by `load()`). Bounded per AOR (a misbehaving or
// hijacked account cannot grow memory without limit) and swept when they expire.

import type { RegistrationRecord } from '../../control/store/records.ts';
import type { Store } from '../../control/store/store.ts';

export type Binding = RegistrationRecord;

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

export class BindingStore {
  readonly #store: Store;
  readonly #now: () => number;
  readonly #byAor = new Map<string, Map<string, Binding>>();
  /** The expiry last written to LMDB per binding key (see upsert). */
  readonly #persistedExpiry = new Map<string, number>();

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
        this.#put(value);
        this.#persistedExpiry.set(key, value.expiresAt);
        loaded++;
      }
    }
    for (const key of expired) void this.#store.tables.registrations.remove(key);
    return loaded;
  }

  /** Unexpired bindings of an AOR, highest q first. */
  lookup(aor: string): Binding[] {
    const now = this.#now();
    const list = [...(this.#byAor.get(aor)?.values() ?? [])].filter((b) => b.expiresAt > now);
    return list.sort((a, b) => b.q - a.q);
  }

  get(aor: string, contact: string): Binding | undefined {
    const b = this.#byAor.get(aor)?.get(contact);
    return b && b.expiresAt > this.#now() ? b : undefined;
  }

  /** How many more bindings the AOR may have. */
  room(aor: string): number {
    return MAX_BINDINGS_PER_AOR - this.lookup(aor).length;
  }

  /**
   * Adds or refreshes a binding. A refresh from the same place is written to LMDB only when
   * the stored expiry has less than half of the new lifetime left: phones refresh long before
   * expiry, and rewriting every refresh would put a disk write on every REGISTER. After a
   * restart such a binding lives at least half as long as granted, and the phone's next
   * refresh (due by then) writes it again.
   */
  upsert(binding: Binding): void {
    const previous = this.#byAor.get(binding.aor)?.get(binding.contact);
    this.#put(binding);
    const key = keyOf(binding.aor, binding.contact);
    const persisted = this.#persistedExpiry.get(key);
    const now = this.#now();
    const samePlace =
      previous !== undefined &&
      previous.ip === binding.ip &&
      previous.port === binding.port &&
      previous.transport === binding.transport &&
      previous.q === binding.q;
    if (samePlace && persisted !== undefined && persisted - now >= (binding.expiresAt - now) / 2)
      return;
    this.#persistedExpiry.set(key, binding.expiresAt);
    void this.#store.tables.registrations.put(key, binding);
  }

  remove(aor: string, contact: string): void {
    const map = this.#byAor.get(aor);
    map?.delete(contact);
    if (map?.size === 0) this.#byAor.delete(aor);
    this.#persistedExpiry.delete(keyOf(aor, contact));
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
      for (const [contact, b] of [...map]) {
        if (b.expiresAt <= now) {
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

  #put(binding: Binding): void {
    let map = this.#byAor.get(binding.aor);
    if (!map) {
      map = new Map();
      this.#byAor.set(binding.aor, map);
    }
    map.set(binding.contact, binding);
  }
}
