// Trunks (SIP servers calls are sent to and accepted from) and outbound routes (a dial prefix
// → a trunk), as the operator manages them with `tollgatectl trunks` / `tollgatectl routes`,
// stored in LMDB (tables trunks, routes). The proxy reads the same tables
// (src/sip/proxy/routing/table.ts) and reloads them when meta 'routingVersion' moves, which
// every change here bumps in the same transaction.
//
// Arguments are checked before anything is written, and each change is one synced
// transaction: a bad command stores nothing and loses nothing. A trunk's host is an IP
// address: tollgate does no DNS for routing (a name would let whoever answers DNS choose
// where calls, and their money, go).
import { canonicalIp, parseCidr } from '../../ip.ts';
import type { Logger } from '../../log.ts';
import { ROUTING_VERSION_KEY, type RouteRecord, type TrunkRecord } from '../../store/records.ts';
import type { Store } from '../../store/store.ts';
import { ControlErrors } from '../errors.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._~+-]{0,63}$/;
const PREFIX = /^\+?[0-9*#]{0,32}$/;
const PREPEND = /^\+?[0-9*#]{0,16}$/;
const TECHPREFIX = /^[0-9*#]{1,16}$/;
const TRANSPORTS = ['udp', 'tcp', 'tls'] as const;
/** Inbound address ranges per trunk: a carrier has a few. */
const MAX_INBOUND = 32;
export const MAX_TRUNKS = 1000;
export const MAX_ROUTES = 100_000;

/** A trunk or route as given (console, API): its record without the time it was stored. */
export type TrunkInput = Omit<TrunkRecord, 'createdAt'>;
export type RouteInput = Omit<RouteRecord, 'createdAt'>;

const trunkError = (what: string) => new ControlErrors.TG_TRUNK_BAD_ARGUMENT(what);
const routeError = (what: string) => new ControlErrors.TG_ROUTE_BAD_ARGUMENT(what);

function int(
  text: string | undefined,
  option: string,
  min: number,
  max: number,
  fallback: number,
  error: (what: string) => Error,
): number {
  if (text === undefined) return fallback;
  if (!/^\d{1,6}$/.test(text) || Number(text) < min || Number(text) > max)
    throw error(
      `${option} must be a whole number from ${min} to ${max}, not "${text.slice(0, 20)}"`,
    );
  return Number(text);
}

/** A route prefix as typed: digits, or "any" / "" for every number. */
export function routePrefix(text: string): string {
  const prefix = text.toLowerCase() === 'any' ? '' : text;
  if (!PREFIX.test(prefix))
    throw routeError(
      `PREFIX must be digits (with an optional leading +, and * #), up to 32, or "any"; not "${text.slice(0, 40)}"`,
    );
  return prefix;
}

/** `trunks add NAME --host H [--port P] [--transport T] [--inbound-ip A,B] [--techprefix X] [--timeout S]` */
export function trunkInput(name: string, o: ReadonlyMap<string, string>): TrunkInput {
  if (!NAME.test(name))
    throw trunkError(
      `NAME "${name.slice(0, 64)}": letters, digits and . _ ~ + - (up to 64, starting with a letter or digit)`,
    );
  const hostText = o.get('--host');
  if (hostText === undefined) throw trunkError('--host IP is required');
  const host = canonicalIp(hostText.replace(/^\[(.*)\]$/, '$1'));
  if (host === null || host === '0.0.0.0' || host === '::')
    throw trunkError(
      `--host must be an IP address (tollgate does no DNS for routing), not "${hostText.slice(0, 64)}"`,
    );
  const transportText = (o.get('--transport') ?? 'udp').toLowerCase();
  const transport = TRANSPORTS.find((t) => t === transportText);
  if (transport === undefined)
    throw trunkError(`--transport must be udp, tcp or tls, not "${transportText.slice(0, 20)}"`);
  const port = int(
    o.get('--port'),
    '--port',
    1,
    65535,
    transport === 'tls' ? 5061 : 5060,
    trunkError,
  );
  const inboundText = o.get('--inbound-ip');
  const inboundIps =
    inboundText === undefined
      ? []
      : inboundText
          .split(',')
          .map((c) => c.trim())
          .filter((c) => c !== '');
  if (inboundIps.length > MAX_INBOUND)
    throw trunkError(`--inbound-ip takes at most ${MAX_INBOUND} addresses or ranges`);
  for (const c of inboundIps)
    if (parseCidr(c) === null)
      throw trunkError(`--inbound-ip: "${c.slice(0, 64)}" is not an IP address or CIDR range`);
  const techprefix = o.get('--techprefix') ?? '';
  if (techprefix !== '' && !TECHPREFIX.test(techprefix))
    throw trunkError(
      `--techprefix must be 1 to 16 digits (or * #), not "${techprefix.slice(0, 20)}"`,
    );
  if (techprefix !== '' && inboundIps.length === 0)
    throw trunkError('--techprefix applies to inbound calls: give --inbound-ip too');
  const timeoutSeconds = int(o.get('--timeout'), '--timeout', 1, 60, 5, trunkError);
  return { name, host, port, transport, inboundIps, techprefix, timeoutSeconds };
}

/** `routes add PREFIX --trunk NAME [--priority N] [--weight W] [--strip N] [--prepend X]` */
export function routeInput(prefixText: string, o: ReadonlyMap<string, string>): RouteInput {
  const prefix = routePrefix(prefixText);
  const trunk = o.get('--trunk');
  if (trunk === undefined) throw routeError('--trunk NAME is required');
  if (!NAME.test(trunk)) throw routeError(`--trunk: "${trunk.slice(0, 64)}" is not a trunk name`);
  const prepend = o.get('--prepend') ?? '';
  if (!PREPEND.test(prepend))
    throw routeError(
      `--prepend must be up to 16 digits (with an optional leading +), not "${prepend.slice(0, 20)}"`,
    );
  return {
    prefix,
    trunk,
    priority: int(o.get('--priority'), '--priority', 0, 1000, 1, routeError),
    weight: int(o.get('--weight'), '--weight', 0, 1000, 1, routeError),
    strip: int(o.get('--strip'), '--strip', 0, 32, 0, routeError),
    prepend,
  };
}

const routeKey = (prefix: string, trunk: string) => `${prefix}\n${trunk}`;

export class RoutingService {
  readonly #store: Store;
  readonly #log: Logger;

  constructor(store: Store, log: Logger) {
    this.#store = store;
    this.#log = log;
  }

  #bump(): void {
    const meta = this.#store.tables.meta;
    meta.putSync(ROUTING_VERSION_KEY, Number(meta.get(ROUTING_VERSION_KEY) ?? 0) + 1);
    this.#store.changed(ROUTING_VERSION_KEY);
  }

  addTrunk(input: TrunkInput): TrunkRecord {
    const trunks = this.#store.tables.trunks;
    const record: TrunkRecord = { ...input, createdAt: Date.now() };
    this.#store.durable(() => {
      if (trunks.get(input.name)) throw new ControlErrors.TG_TRUNK_EXISTS(input.name);
      if (trunks.getCount() >= MAX_TRUNKS)
        throw trunkError(`at most ${MAX_TRUNKS} trunks; delete some first`);
      trunks.putSync(input.name, record);
      this.#bump();
    });
    this.#log.info({ trunk: input.name, host: input.host, port: input.port }, 'trunk added');
    return record;
  }

  listTrunks(): TrunkRecord[] {
    return [...this.#store.tables.trunks.getRange()].map((e) => e.value);
  }

  delTrunk(name: string): void {
    this.#store.durable(() => {
      if (!this.#store.tables.trunks.get(name))
        throw new ControlErrors.TG_TRUNK_NOT_FOUND(name.slice(0, 64));
      const using = this.listRoutes().filter((r) => r.trunk === name);
      if (using.length > 0)
        throw new ControlErrors.TG_TRUNK_IN_USE(
          name,
          using
            .slice(0, 10)
            .map((r) => `"${r.prefix || 'any'}"`)
            .join(', '),
        );
      this.#store.tables.trunks.removeSync(name);
      this.#bump();
    });
    this.#log.info({ trunk: name }, 'trunk deleted');
  }

  addRoute(input: RouteInput): RouteRecord {
    const routes = this.#store.tables.routes;
    const record: RouteRecord = { ...input, createdAt: Date.now() };
    this.#store.durable(() => {
      if (!this.#store.tables.trunks.get(input.trunk))
        throw new ControlErrors.TG_TRUNK_NOT_FOUND(input.trunk);
      const key = routeKey(input.prefix, input.trunk);
      if (routes.get(key))
        throw new ControlErrors.TG_ROUTE_EXISTS(input.prefix || 'any', input.trunk);
      if (routes.getCount() >= MAX_ROUTES)
        throw routeError(`at most ${MAX_ROUTES} routes; delete some first`);
      routes.putSync(key, record);
      this.#bump();
    });
    this.#log.info({ prefix: input.prefix, trunk: input.trunk }, 'route added');
    return record;
  }

  /** Routes, by prefix then priority. */
  listRoutes(): RouteRecord[] {
    return [...this.#store.tables.routes.getRange()]
      .map((e) => e.value)
      .sort(
        (a, b) =>
          a.prefix.localeCompare(b.prefix) ||
          a.priority - b.priority ||
          a.trunk.localeCompare(b.trunk),
      );
  }

  /** Deletes the routes of a prefix (only the one to `trunk` when given); how many. */
  delRoute(prefix: string, trunk: string | undefined): number {
    const removed = this.#store.durable(() => {
      const doomed = this.listRoutes().filter(
        (r) => r.prefix === prefix && (trunk === undefined || r.trunk === trunk),
      );
      if (doomed.length === 0)
        throw new ControlErrors.TG_ROUTE_NOT_FOUND(
          prefix || 'any',
          trunk === undefined ? '' : ` to trunk ${trunk.slice(0, 64)}`,
        );
      for (const r of doomed) this.#store.tables.routes.removeSync(routeKey(r.prefix, r.trunk));
      this.#bump();
      return doomed.length;
    });
    this.#log.info({ prefix, trunk, removed }, 'routes deleted');
    return removed;
  }
}
