// The whole configuration, checked at once: user input merged over the schema defaults, every
// problem collected (an operator fixing a config file wants all of them, not one per restart),
// and the result frozen so no module can change a value behind the others' back.
import type { TollgateError } from '../errors.ts';
import { closest } from './distance.ts';
import { ConfigErrors } from './errors.ts';
import { CONFIG_KEYS, type ConfigValue, type KeySpec, USER_FIELDS } from './schema.ts';
import { parseValue } from './values.ts';

export { describeAccepted, parseValue } from './values.ts';

export type Config = Readonly<Record<string, ConfigValue>>;

/** Where the input came from, so messages can point at a file and line. */
export interface ConfigSource {
  /** e.g. "/etc/tollgate/tollgate.conf" */
  source?: string;
  /** key (lower case) → line number it was set on */
  lineOf?: ReadonlyMap<string, number>;
}

export interface ConfigProblem {
  key: string;
  code: string;
  message: string;
  line?: number;
}

/**
 * A key table and the checks made against it. The daemon has one (SCHEMA: CONFIG_KEYS and
 * USER_FIELDS); tests build others, e.g. with a synthetic key that is not enforced, to keep
 * testing how such keys are refused once every real key is enforced.
 */
export class ConfigSchema {
  readonly keys: readonly KeySpec[];
  readonly userFields: readonly KeySpec[];
  readonly #global: ReadonlyMap<string, KeySpec>;
  readonly #globalNames: readonly string[];
  readonly #user: ReadonlyMap<string, KeySpec>;
  readonly #userNames: readonly string[];
  readonly #defaults: Config;
  readonly #userDefaults: Config;

  constructor(keys: readonly KeySpec[], userFields: readonly KeySpec[]) {
    this.keys = keys;
    this.userFields = userFields;
    this.#global = new Map(keys.map((spec) => [spec.name, spec]));
    this.#globalNames = keys.map((spec) => spec.name);
    this.#user = new Map(userFields.map((spec) => [spec.name, spec]));
    this.#userNames = userFields.map((spec) => spec.name);
    this.#defaults = defaultsOf(keys);
    this.#userDefaults = defaultsOf(userFields);
  }

  /** The spec of a global key (case-insensitive), or undefined. */
  lookupKey(name: string): KeySpec | undefined {
    return this.#global.get(String(name).trim().toLowerCase());
  }

  /** The spec of a global key; unknown → TG_CONFIG_UNKNOWN_KEY naming the 3 closest keys. */
  findKey(name: string): KeySpec {
    return this.lookupKey(name) ?? throwUnknown(name, this.#globalNames);
  }

  /** The spec of a per-user field (case-insensitive), or undefined. */
  lookupUserField(name: string): KeySpec | undefined {
    return this.#user.get(String(name).trim().toLowerCase());
  }

  /** The spec of a per-user field (maxlines, maxmonthlycredit, …), same rules as findKey. */
  findUserField(name: string): KeySpec {
    return this.lookupUserField(name) ?? throwUnknown(name, this.#userNames);
  }

  defaultConfig(): Config {
    return this.#defaults;
  }

  defaultUserFields(): Config {
    return this.#userDefaults;
  }

  /** See the module function validateConfig. */
  validateConfig(input: Record<string, unknown>, from: ConfigSource = {}): Config {
    const merged = mergeOver(this.#defaults, (n) => this.findKey(n), input, from);
    if (merged.problems.length === 0) merged.problems.push(...this.#conflicts(merged.values, from));
    if (merged.problems.length === 0)
      merged.problems.push(...refusals(this.keys, merged.values, from));
    if (merged.problems.length > 0) throw invalid(merged.problems, from);
    return Object.freeze(merged.values);
  }

  /** See the module function validateUserFields. */
  validateUserFields(input: Record<string, unknown>): Config {
    const merged = mergeOver(this.#userDefaults, (n) => this.findUserField(n), input, {});
    // A fixed field is refused here; one not enforced is the caller's to accept (it knows
    // the acceptunenforced list: Settings.acceptUserField).
    if (merged.problems.length === 0)
      for (const spec of this.userFields) {
        const value = merged.values[spec.name]!;
        if (spec.status.state !== 'fixed' || sameValue(value, spec.default)) continue;
        const err = fixedError(spec, value);
        merged.problems.push(problem(spec.name, err.code, err.message, {}));
      }
    if (merged.problems.length > 0) throw invalid(merged.problems, {});
    return Object.freeze(merged.values);
  }

  /** Keys that are valid alone but not together. */
  #conflicts(cfg: Record<string, ConfigValue>, from: ConfigSource): ConfigProblem[] {
    const out: ConfigProblem[] = [];
    const add = (key: string, text: string) => {
      const err = new ConfigErrors.TG_CONFIG_CONFLICT(text);
      out.push(problem(key, err.code, err.message, from));
    };
    const min = cfg.mediaportmin as number;
    const max = cfg.mediaportmax as number;
    if (min >= max)
      add('mediaportmin', `mediaportmin (${min}) must be lower than mediaportmax (${max})`);
    const sip = cfg.sipport as number;
    const sips = cfg.sipsport as number;
    // Both listen on TCP, so one port cannot serve plain SIP and TLS.
    if (sip === sips)
      add('sipsport', `sipport and sipsport are both ${sip}; SIP and SIPS need their own TCP port`);
    for (const [name, port] of [
      ['sipport', sip],
      ['sipsport', sips],
    ] as const) {
      if (port >= min && port <= max) {
        add(name, `${name} ${port} lies inside the media port range ${min}..${max}`);
      }
    }
    for (const name of cfg.acceptunenforced as readonly string[]) {
      if (!this.#global.has(name) && !this.#user.has(name))
        add('acceptunenforced', `acceptunenforced names "${name}", which is no key or user field`);
    }
    return out;
  }
}

function throwUnknown(name: string, names: readonly string[]): never {
  const shown = String(name).slice(0, 64);
  const err = new ConfigErrors.TG_CONFIG_UNKNOWN_KEY(shown, closest(shown, names).join(', '));
  Object.assign(err.details, { key: shown, closest: closest(shown, names) });
  throw err;
}

function defaultsOf(specs: readonly KeySpec[]): Config {
  const out: Record<string, ConfigValue> = {};
  for (const spec of specs) out[spec.name] = spec.default;
  return Object.freeze(out);
}

/** The table the daemon runs with. */
export const SCHEMA = new ConfigSchema(CONFIG_KEYS, USER_FIELDS);

/** The spec of a global key (case-insensitive), or undefined. */
export function lookupKey(name: string): KeySpec | undefined {
  return SCHEMA.lookupKey(name);
}

/** The spec of a global key; unknown → TG_CONFIG_UNKNOWN_KEY naming the 3 closest keys. */
export function findKey(name: string): KeySpec {
  return SCHEMA.findKey(name);
}

/** The spec of a per-user field (maxlines, maxmonthlycredit, …), same rules as findKey. */
export function findUserField(name: string): KeySpec {
  return SCHEMA.findUserField(name);
}

/** Every global key with its default value (frozen). */
export function defaultConfig(): Config {
  return SCHEMA.defaultConfig();
}

/** Every per-user field with its default value (frozen). */
export function defaultUserFields(): Config {
  return SCHEMA.defaultUserFields();
}

/**
 * Validates input (text or typed values, keys case-insensitive) merged over the defaults.
 * Every unknown key, bad value and conflict is collected into one TG_CONFIG_INVALID whose
 * `details.problems` lists them; on success the merged configuration is returned frozen.
 */
export function validateConfig(input: Record<string, unknown>, from: ConfigSource = {}): Config {
  return SCHEMA.validateConfig(input, from);
}

/** As validateConfig, for one account's fields over the per-user defaults. */
export function validateUserFields(input: Record<string, unknown>): Config {
  return SCHEMA.validateUserFields(input);
}

function mergeOver(
  defaults: Config,
  find: (name: string) => KeySpec,
  input: Record<string, unknown>,
  from: ConfigSource,
): { values: Record<string, ConfigValue>; problems: ConfigProblem[] } {
  const values: Record<string, ConfigValue> = { ...defaults };
  const problems: ConfigProblem[] = [];
  const seen = new Map<string, string>();
  for (const [rawName, raw] of Object.entries(input ?? {})) {
    if (raw === undefined) continue; // an absent optional field, not a value
    const lower = rawName.trim().toLowerCase();
    try {
      const spec = find(rawName);
      const earlier = seen.get(spec.name);
      if (earlier !== undefined) {
        // "MAXCALLPERIP" and "maxcallperip" in one object: which one wins would be an accident.
        problems.push(
          problem(spec.name, 'TG_CONFIG_DUPLICATE_KEY', `"${rawName}" repeats "${earlier}"`, from),
        );
        continue;
      }
      seen.set(spec.name, rawName);
      values[spec.name] = parseValue(spec, raw);
    } catch (err) {
      const e = err as { code?: string; message: string };
      problems.push(problem(lower, e.code ?? 'TG_CONFIG_BAD_VALUE', e.message, from));
    }
  }
  return { values, problems };
}

/** True when two config values are equal (lists item by item). */
export function sameValue(a: ConfigValue, b: ConfigValue): boolean {
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((item, i) => item === b[i]);
  return a === b;
}

/**
 * Why `value` may not be stored for `spec`, or undefined when it may: always for an enforced
 * key or the default value; for a key tollgate does not enforce, only when the operator
 * listed it in `accepted` (acceptunenforced); for a fixed key (no such feature), never.
 */
export function refusalOf(
  spec: KeySpec,
  value: ConfigValue,
  accepted: readonly string[],
): TollgateError | undefined {
  const status = spec.status;
  if (status.state === 'enforced' || sameValue(value, spec.default)) return undefined;
  if (status.state === 'fixed') return fixedError(spec, value);
  if (accepted.includes(spec.name)) return undefined;
  const err = new ConfigErrors.TG_CONFIG_NOT_ENFORCED(spec.name, status.issue, spec.name);
  Object.assign(err.details, { key: spec.name, issue: status.issue });
  return err;
}

/** Whether `value` may be stored for `spec` (refusalOf finds nothing to say). */
export function isAccepted(
  spec: KeySpec,
  value: ConfigValue,
  accepted: readonly string[],
): boolean {
  return refusalOf(spec, value, accepted) === undefined;
}

function shownValue(value: ConfigValue): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}

function fixedError(spec: KeySpec, value: ConfigValue): TollgateError {
  const reason = spec.status.state === 'fixed' ? spec.status.reason : '';
  const err = new ConfigErrors.TG_CONFIG_FIXED(
    spec.name,
    shownValue(value).slice(0, 64),
    reason,
    shownValue(spec.default),
  );
  Object.assign(err.details, { key: spec.name, reason });
  return err;
}

/** Keys set to a value tollgate would ignore (not accepted) or cannot have (fixed). */
function refusals(
  specs: readonly KeySpec[],
  cfg: Record<string, ConfigValue>,
  from: ConfigSource,
): ConfigProblem[] {
  const accepted = cfg.acceptunenforced as readonly string[];
  const out: ConfigProblem[] = [];
  for (const spec of specs) {
    const err = refusalOf(spec, cfg[spec.name]!, accepted);
    if (err) out.push(problem(spec.name, err.code, err.message, from));
  }
  return out;
}

function problem(key: string, code: string, message: string, from: ConfigSource): ConfigProblem {
  const line = from.lineOf?.get(key);
  return line === undefined ? { key, code, message } : { key, code, message, line };
}

function invalid(problems: ConfigProblem[], from: ConfigSource) {
  const where = from.source ? ` in ${from.source}` : '';
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const listed = problems
    .map((p) => `\n  - ${p.line !== undefined ? `line ${p.line}: ` : ''}${p.message}`)
    .join('');
  const err = new ConfigErrors.TG_CONFIG_INVALID(where, count, listed);
  Object.assign(err.details, { problems, source: from.source });
  return err;
}

/** A copy safe to log or show: secrets become '***' (an unset, empty secret stays empty). */
export function redactConfig(
  cfg: Readonly<Record<string, ConfigValue>>,
): Record<string, ConfigValue> {
  const out: Record<string, ConfigValue> = {};
  for (const [name, value] of Object.entries(cfg)) {
    const spec = SCHEMA.lookupKey(name) ?? SCHEMA.lookupUserField(name);
    out[name] = spec?.secret && value !== '' ? '***' : value;
  }
  return out;
}

/** Names of the keys that hold secrets (for log redaction paths). */
export function secretKeys(): string[] {
  return CONFIG_KEYS.filter((spec) => spec.secret).map((spec) => spec.name);
}
