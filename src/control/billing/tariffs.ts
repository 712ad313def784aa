// Tariffs: named rate tables, each optionally with a parent looked in when it has no rate for
// a number. Stored one record per tariff (LMDB `tariffs`), held in memory as a prefix map so
// a lookup is a few Map reads (the longest prefix first).
//
// Lookup of a dialled number under a tariff:
//   - longest matching prefix in the tariff; none → the same in its parent, and so on
//     (at most MAX_DEPTH levels; a cycle stops the walk);
//   - exact (vgetpriceexactmatch): only a prefix equal to the whole number counts.
// Numbers are compared as dialled, after "+" or "00" in front is dropped (tariff prefixes are
// E.164 digits: 49… for Germany).
import type { TariffRecord } from '../../store/records.ts';
import type { Store } from '../../store/store.ts';
import { BillingErrors } from './errors.ts';
import { type Micros, micros } from './money.ts';
import type { Rate } from './rating.ts';
import { parseTariffCsv, type TariffData, tariffCsv } from './tariff-csv.ts';

const MAX_DEPTH = 8;
/** The tariff accounts without one of their own are rated with (when it exists). */
export const DEFAULT_TARIFF = 'default';

export interface RateMatch {
  rate: Rate;
  /** The tariff the rate was found in (the asked one, or a parent). */
  tariff: string;
  /** 0 = the asked tariff, 1 = its parent… */
  depth: number;
}

interface Indexed {
  name: string;
  parent: string | undefined;
  rates: Map<string, Rate>;
  longest: number;
}

export interface TariffSummary {
  name: string;
  parent: string | null;
  rates: number;
  updatedAt: number;
}

/** The number as tariffs see it: without the international "+" or "00". */
export function normalizeNumber(dialled: string): string {
  if (dialled.startsWith('+')) return dialled.slice(1);
  if (dialled.startsWith('00') && /^\d+$/.test(dialled)) return dialled.slice(2);
  return dialled;
}

export class TariffBook {
  readonly #store: Store;
  readonly #index = new Map<string, Indexed>();
  readonly #listeners: Array<() => void> = [];

  constructor(store: Store) {
    this.#store = store;
    for (const { value } of store.tables.tariffs.getRange()) this.#add(fromRecord(value));
  }

  /** Called after every import or delete (cached decisions depend on tariffs). */
  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  has(name: string): boolean {
    return this.#index.has(name);
  }

  parentOf(name: string): string | undefined {
    return this.#index.get(name)?.parent;
  }

  /** The best rate for `dialled` under `tariff` (see the top of the file). */
  lookup(tariff: string, dialled: string, exact = false): RateMatch | undefined {
    const number = normalizeNumber(dialled);
    let name: string | undefined = tariff;
    for (let depth = 0; name !== undefined && depth < MAX_DEPTH; depth++) {
      const t = this.#index.get(name);
      if (!t) return undefined;
      if (exact) {
        const rate = t.rates.get(number);
        if (rate) return { rate, tariff: name, depth };
      } else {
        for (let len = Math.min(number.length, t.longest); len >= 0; len--) {
          const rate = t.rates.get(len === number.length ? number : number.slice(0, len));
          if (rate) return { rate, tariff: name, depth };
        }
      }
      name = t.parent;
    }
    return undefined;
  }

  /**
   * Replaces the tariffs named in the CSV (others are kept), all in one durable transaction:
   * a bad line refuses the whole file and nothing changes.
   */
  importCsv(text: string): { tariffs: number; rates: number } {
    const parsed = parseTariffCsv(text);
    const now = Date.now();
    this.#store.durable(() => {
      for (const t of parsed) this.#store.tables.tariffs.put(t.name, toRecord(t, now));
    });
    for (const t of parsed) this.#add(t);
    this.#changed();
    return { tariffs: parsed.length, rates: parsed.reduce((n, t) => n + t.rates.length, 0) };
  }

  /** The tariffs (one, or all) as CSV that importCsv reads back to the same rates. */
  exportCsv(name?: string): string {
    if (name !== undefined && !this.#index.has(name))
      throw new BillingErrors.TG_BILLING_TARIFF_NOT_FOUND(name.slice(0, 64));
    const names = name !== undefined ? [name] : [...this.#index.keys()].sort();
    return tariffCsv(names.map((n) => this.#data(n)));
  }

  list(): TariffSummary[] {
    return [...this.#store.tables.tariffs.getRange()].map(({ value }) => ({
      name: value.name,
      parent: value.parent ?? null,
      rates: value.rates.length,
      updatedAt: value.updatedAt,
    }));
  }

  del(name: string): void {
    if (!this.#index.has(name))
      throw new BillingErrors.TG_BILLING_TARIFF_NOT_FOUND(name.slice(0, 64));
    this.#store.durable(() => this.#store.tables.tariffs.remove(name));
    this.#index.delete(name);
    this.#changed();
  }

  #data(name: string): TariffData {
    const t = this.#index.get(name)!;
    return { name, parent: t.parent, rates: [...t.rates.values()] };
  }

  #add(t: TariffData): void {
    const rates = new Map<string, Rate>();
    let longest = 0;
    for (const r of t.rates) {
      rates.set(r.prefix, r);
      longest = Math.max(longest, r.prefix.length);
    }
    this.#index.set(t.name, { name: t.name, parent: t.parent, rates, longest });
  }

  #changed(): void {
    for (const l of this.#listeners) l();
  }
}

function toRecord(t: TariffData, now: number) {
  return {
    name: t.name,
    ...(t.parent !== undefined ? { parent: t.parent } : {}),
    rates: t.rates.map((r) => ({
      prefix: r.prefix,
      priceMicros: r.pricePerMinute as number,
      connectFeeMicros: r.connectFee as number,
      first: r.first,
      next: r.next,
      ...(r.description ? { description: r.description } : {}),
    })),
    updatedAt: now,
  };
}

function fromRecord(record: Omit<TariffRecord, 'updatedAt'>): TariffData {
  return {
    name: record.name,
    parent: record.parent,
    rates: record.rates.map((r) => ({
      prefix: r.prefix,
      pricePerMinute: micros(r.priceMicros) as Micros,
      connectFee: micros(r.connectFeeMicros),
      first: r.first,
      next: r.next,
      ...(r.description ? { description: r.description } : {}),
    })),
  };
}
