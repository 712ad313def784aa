// The trunks and outbound routes as the proxy reads them (written by the console commands,
// src/control/routing/). Read from LMDB into memory once, and again only when the writer has
// bumped meta 'routingVersion': a call costs one meta read, not a scan of the routes.
//
//   outbound   a dialled number that is no local user: every route whose prefix starts the
//              number, longest prefix first, then priority (lower first), then, among routes
//              of the same prefix and priority, a weighted random order (RFC 2782's way);
//              a trunk appears once, where it first comes
//   inbound    a request whose source address is in a trunk's inbound addresses (and whose
//              number starts with its tech prefix, removed) comes from that trunk: the trunk
//              is the calling account (billing's accountKind 'trunk')
import { type Cidr, cidrContains, parseCidr } from '../../../ip.ts';
import { ROUTING_VERSION_KEY, type RouteRecord, type TrunkRecord } from '../../../store/records.ts';
import type { Store } from '../../../store/store.ts';

/** A trunk a number may be sent to, and the number as that trunk is to receive it. */
export interface RouteChoice {
  readonly trunk: TrunkRecord;
  readonly route: string;
  readonly number: string;
}

/** Inbound: the trunk a call comes from, and the number without its tech prefix. */
export interface TrunkCaller {
  readonly trunk: string;
  readonly dialled: string;
}

/** What the proxy asks of routing (tests may give a plain object). */
export interface RoutingSource {
  routesFor(number: string, random?: () => number): RouteChoice[];
  trunkFrom(ip: string, dialled: string): TrunkCaller | undefined;
}

/** Numbers routed out: digits with an optional leading + and the * # keys, bounded. */
const NUMBER = /^\+?[0-9*#]{1,32}$/;

export function isDiallable(user: string): boolean {
  return NUMBER.test(user);
}

interface Snapshot {
  version: number;
  /** store.generation(ROUTING_VERSION_KEY) when this was read. */
  generation: number;
  trunks: Map<string, TrunkRecord>;
  routes: RouteRecord[];
  inbound: Array<{ trunk: TrunkRecord; cidrs: Cidr[] }>;
}

export class StoredRouting implements RoutingSource {
  readonly #store: Store;
  #snapshot: Snapshot | undefined;

  constructor(store: Store) {
    this.#store = store;
  }

  #current(): Snapshot {
    // Every call asks: what changed in this process is known without reading LMDB (an
    // encrypted page decrypted per read); the stored version is read when that moved.
    const generation = this.#store.generation(ROUTING_VERSION_KEY);
    if (this.#snapshot?.generation === generation) return this.#snapshot;
    const version = Number(this.#store.tables.meta.get(ROUTING_VERSION_KEY) ?? 0);
    if (this.#snapshot?.version === version) {
      this.#snapshot.generation = generation;
      return this.#snapshot;
    }
    const trunks = new Map<string, TrunkRecord>();
    for (const { value } of this.#store.tables.trunks.getRange()) trunks.set(value.name, value);
    const routes = [...this.#store.tables.routes.getRange()].map((e) => e.value);
    const inbound = [...trunks.values()]
      .map((trunk) => ({
        trunk,
        cidrs: trunk.inboundIps.map((c) => parseCidr(c)).filter((c): c is Cidr => c !== null),
      }))
      .filter((e) => e.cidrs.length > 0);
    this.#snapshot = { version, generation, trunks, routes, inbound };
    return this.#snapshot;
  }

  routesFor(number: string, random: () => number = Math.random): RouteChoice[] {
    if (!isDiallable(number)) return [];
    const snap = this.#current();
    return orderRoutes(snap.routes, number, random).flatMap((r) => {
      const trunk = snap.trunks.get(r.trunk);
      return trunk ? [{ trunk, route: r.prefix, number: rewriteNumber(number, r) }] : [];
    });
  }

  trunkFrom(ip: string, dialled: string): TrunkCaller | undefined {
    for (const { trunk, cidrs } of this.#current().inbound) {
      if (!cidrs.some((c) => cidrContains(c, ip))) continue;
      if (trunk.techprefix === '') return { trunk: trunk.name, dialled };
      if (dialled.startsWith(trunk.techprefix) && dialled.length > trunk.techprefix.length)
        return { trunk: trunk.name, dialled: dialled.slice(trunk.techprefix.length) };
    }
    return undefined;
  }
}

/** `strip` leading characters off, then `prepend` in front. */
export function rewriteNumber(number: string, r: Pick<RouteRecord, 'strip' | 'prepend'>): string {
  return r.prepend + number.slice(Math.min(r.strip, number.length));
}

/**
 * The routes for `number`, in the order they are tried: longest prefix, then priority, then
 * a weighted shuffle within equal (prefix, priority); each trunk once.
 */
export function orderRoutes(
  routes: readonly RouteRecord[],
  number: string,
  random: () => number,
): RouteRecord[] {
  const matching = routes.filter((r) => number.startsWith(r.prefix));
  matching.sort((a, b) => b.prefix.length - a.prefix.length || a.priority - b.priority);
  const out: RouteRecord[] = [];
  for (let i = 0; i < matching.length; ) {
    let j = i;
    const head = matching[i]!;
    while (
      j < matching.length &&
      matching[j]!.prefix.length === head.prefix.length &&
      matching[j]!.priority === head.priority
    )
      j++;
    out.push(...weightedOrder(matching.slice(i, j), random));
    i = j;
  }
  const seen = new Set<string>();
  return out.filter((r) => !seen.has(r.trunk) && seen.add(r.trunk) !== undefined);
}

/** RFC 2782's selection: pick by weight among those left, repeatedly (weight 0 last-ish). */
function weightedOrder(group: RouteRecord[], random: () => number): RouteRecord[] {
  const left = [...group];
  const out: RouteRecord[] = [];
  while (left.length > 0) {
    const total = left.reduce((s, r) => s + r.weight, 0);
    let pick = 0;
    if (total > 0) {
      let x = random() * total;
      pick = left.length - 1;
      for (let i = 0; i < left.length; i++) {
        x -= left[i]!.weight;
        if (x < 0) {
          pick = i;
          break;
        }
      }
    }
    out.push(...left.splice(pick, 1));
  }
  return out;
}
