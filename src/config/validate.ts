// The whole configuration, checked at once: user input merged over the schema defaults, every
// problem collected (an operator fixing a config file wants all of them, not one per restart),
// and the result frozen so no module can change a value behind the others' back.
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

const GLOBAL_BY_NAME = new Map(CONFIG_KEYS.map((spec) => [spec.name, spec]));
const GLOBAL_NAMES = CONFIG_KEYS.map((spec) => spec.name);
const USER_BY_NAME = new Map(USER_FIELDS.map((spec) => [spec.name, spec]));
const USER_NAMES = USER_FIELDS.map((spec) => spec.name);

/** The spec of a global key (case-insensitive), or undefined. */
export function lookupKey(name: string): KeySpec | undefined {
  return GLOBAL_BY_NAME.get(String(name).trim().toLowerCase());
}

/** The spec of a global key; unknown → TG_CONFIG_UNKNOWN_KEY naming the 3 closest keys. */
export function findKey(name: string): KeySpec {
  return lookupKey(name) ?? throwUnknown(name, GLOBAL_NAMES);
}

/** The spec of a per-user field (maxlines, maxmonthlycredit, …), same rules as findKey. */
export function findUserField(name: string): KeySpec {
  return USER_BY_NAME.get(String(name).trim().toLowerCase()) ?? throwUnknown(name, USER_NAMES);
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

const DEFAULTS = defaultsOf(CONFIG_KEYS);
const USER_DEFAULTS = defaultsOf(USER_FIELDS);

/** Every global key with its default value (frozen). */
export function defaultConfig(): Config {
  return DEFAULTS;
}

/** Every per-user field with its default value (frozen). */
export function defaultUserFields(): Config {
  return USER_DEFAULTS;
}

/**
 * Validates input (text or typed values, keys case-insensitive) merged over the defaults.
 * Every unknown key, bad value and conflict is collected into one TG_CONFIG_INVALID whose
 * `details.problems` lists them; on success the merged configuration is returned frozen.
 */
export function validateConfig(input: Record<string, unknown>, from: ConfigSource = {}): Config {
  const merged = mergeOver(DEFAULTS, findKey, input, from);
  if (merged.problems.length === 0) merged.problems.push(...conflicts(merged.values, from));
  if (merged.problems.length === 0) merged.problems.push(...unenforced(merged.values, from));
  if (merged.problems.length > 0) throw invalid(merged.problems, from);
  return Object.freeze(merged.values);
}

/** As validateConfig, for one account's fields over the per-user defaults. */
export function validateUserFields(input: Record<string, unknown>): Config {
  const merged = mergeOver(USER_DEFAULTS, findUserField, input, {});
  if (merged.problems.length > 0) throw invalid(merged.problems, {});
  return Object.freeze(merged.values);
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

/** Keys that are valid alone but not together. */
function conflicts(cfg: Record<string, ConfigValue>, from: ConfigSource): ConfigProblem[] {
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
    if (!GLOBAL_BY_NAME.has(name) && !USER_BY_NAME.has(name))
      add('acceptunenforced', `acceptunenforced names "${name}", which is no key or user field`);
  }
  return out;
}

/** True when two config values are equal (lists item by item). */
export function sameValue(a: ConfigValue, b: ConfigValue): boolean {
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((item, i) => item === b[i]);
  return a === b;
}

/**
 * Whether `value` may be stored for `spec`: always for an enforced key or the default value;
 * for a key tollgate does not enforce, only when the operator listed it in acceptunenforced.
 */
export function isAccepted(
  spec: KeySpec,
  value: ConfigValue,
  accepted: readonly string[],
): boolean {
  return (
    spec.status.state === 'enforced' ||
    sameValue(value, spec.default) ||
    accepted.includes(spec.name)
  );
}

/** Keys set to a value tollgate would ignore, without the operator saying they accept that. */
function unenforced(cfg: Record<string, ConfigValue>, from: ConfigSource): ConfigProblem[] {
  const accepted = cfg.acceptunenforced as readonly string[];
  const out: ConfigProblem[] = [];
  for (const spec of CONFIG_KEYS) {
    if (isAccepted(spec, cfg[spec.name]!, accepted)) continue;
    const issue = spec.status.state === 'not-enforced' ? spec.status.issue : 0;
    const err = new ConfigErrors.TG_CONFIG_NOT_ENFORCED(spec.name, issue, spec.name);
    out.push(problem(spec.name, err.code, err.message, from));
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
    const spec = GLOBAL_BY_NAME.get(name) ?? USER_BY_NAME.get(name);
    out[name] = spec?.secret && value !== '' ? '***' : value;
  }
  return out;
}

/** Names of the keys that hold secrets (for log redaction paths). */
export function secretKeys(): string[] {
  return CONFIG_KEYS.filter((spec) => spec.secret).map((spec) => spec.name);
}
