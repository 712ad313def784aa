// The shape of one config key and the helpers the key tables in keys/ are written with.
//
// Conventions (validate.ts enforces them):
// - Durations are stored in seconds; text may say "180", "3m", "1 hour", "6h".
// - Money is in currency units with at most 6 decimals (`decimals: 6`); the billing code
//   turns it into integer micro-units (10.5 → 10_500_000) and never computes with floats.
// - "0 = no limit" wherever a limit can be switched off; the help says so.
// - Where the reference gives no default, the default is the safe production choice and
//   the help says "(reference gives no default; …)".
// - Keys the reference names but tollgate has no matching subsystem for (FTP database access,
//   IVR, calling cards, sub-accounts, an internal media server, accounts created from a
//   REGISTER) are `fixed`: their safe value is accepted, so that a migrated config validates,
//   and any other value is refused with the reason (never stored, not even with
//   acceptunenforced: there is no feature to turn on).
// - Every key says whether it does anything (`status`): `enforced` names the module that
//   acts on it and the test that sets it to a non-default value and observes the effect;
//   `not-enforced` names the issue that will enforce it, and setting such a key to anything
//   but its default is refused unless the operator accepts that it is ignored.

export type ConfigValue = number | boolean | string | readonly string[];

/** How a string (or each item of a list) is checked beyond its length. */
export type TextFormat = 'text' | 'token' | 'ip' | 'cidr' | 'ifname' | 'hostname' | 'limits';

export type KeyStatus =
  | { readonly state: 'enforced'; readonly module: string; readonly test: string }
  | { readonly state: 'not-enforced'; readonly issue: number }
  | { readonly state: 'fixed'; readonly reason: string };

export interface KeySpec {
  readonly name: string;
  readonly type: 'int' | 'number' | 'bool' | 'string' | 'enum' | 'list' | 'duration';
  readonly default: ConfigValue;
  readonly min?: number;
  readonly max?: number;
  /** enum only: code → meaning. Integer codes ("0".."4") give number values. */
  readonly values?: Readonly<Record<string, string>>;
  readonly unit?: string;
  readonly help: string;
  /** True when a change takes effect without a restart. */
  readonly live: boolean;
  /** Never logged or shown in clear (see redactConfig). */
  readonly secret?: boolean;
  /**
   * A key compared, never read back (the API keys): a value set from the console or API is
   * stored as its scrypt hash (crypto/secret-hash.ts), never as the text.
   */
  readonly hashed?: boolean;
  readonly origin: 'reference' | 'tollgate';
  readonly section: string;
  /** string/list: what each text must look like (default 'text'). */
  readonly format?: TextFormat;
  /** number: at most this many fractional digits (money: 6, i.e. micro-units). */
  readonly decimals?: number;
  /** Whether tollgate acts on the key (see the conventions above). */
  readonly status: KeyStatus;
}

type Draft = Omit<KeySpec, 'origin' | 'live'> & {
  origin?: KeySpec['origin'];
  live?: boolean;
};

/**
 * One key. Reference keys are runtime policy unless said otherwise: they apply without
 * restart. The literal type is kept (`const D`) so ConfigShape in schema.ts can give every
 * key its value type: `config.realm` is a string, `config.sipport` a number.
 */
export function key<const D extends Draft>(
  draft: D,
): D & { origin: KeySpec['origin']; live: boolean } {
  return { origin: 'reference', live: true, ...draft };
}

/** The key is acted on by `module`; `test` sets it to a non-default value and observes that. */
export function enforced(module: string, test: string): KeyStatus {
  return { state: 'enforced', module, test };
}

/** Accepted so a migrated config validates, but ignored until `issue` lands. */
export function notEnforced(issue: number): KeyStatus {
  return { state: 'not-enforced', issue };
}

/**
 * tollgate has no such feature: only the default (the safe value) is accepted, any other is
 * refused naming `reason` ("tollgate has no IVR"), with or without acceptunenforced.
 */
export function fixed(reason: string): KeyStatus {
  return { state: 'fixed', reason };
}

/** Money fields share one shape: currency units, at most micro-unit precision. */
export const MONEY = { type: 'number', min: 0, max: 1e9, decimals: 6, unit: 'currency' } as const;

export const BIG = 100_000_000;
export const DAY = 86_400;
