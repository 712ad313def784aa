// The effective configuration, in three layers: schema defaults, overridden by the config
// file (read once at start), overridden by values set from the console/UI/API (stored in
// LMDB so they survive restarts). Validated as a whole at boot and key by key on change.
// Every value knows where it came from, so an operator can see why a file edit "did nothing"
// (a console value hides it) and go back (`unset`).
import { hashSecret } from '../crypto/secret-hash.ts';
import type { Logger } from '../log.ts';
import type { StoredConfigEntry, StoredConfigValue } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import { ConfigErrors } from './errors.ts';
import type { ConfigKey, ConfigShape, ConfigValue, KeySpec, KeyStatus } from './schema.ts';
import {
  type ConfigSchema,
  parseValue,
  redactConfig,
  refusalOf,
  SCHEMA,
  sameValue,
} from './validate.ts';

/** Where a value in force came from. */
export type ValueSource =
  | { kind: 'default' }
  | { kind: 'file'; path: string; line?: number }
  | { kind: 'console'; setAt?: number };

/** The config file as read at start: its path and the line each key was set on. */
export interface FileOrigin {
  path: string;
  lineOf?: ReadonlyMap<string, number>;
}

export interface SetResult {
  key: string;
  value: ConfigValue;
  previous: ConfigValue;
  /** False when the new value takes effect only after a restart. */
  live: boolean;
}

/** One key described for `config get` / `config keys`: value, default, source, status. */
export interface KeyDescription {
  key: string;
  /** The value in force (a secret shows as '***'). */
  value: ConfigValue;
  default: ConfigValue | undefined;
  source: ValueSource;
  applies: 'live' | 'restart';
  /** A restart-only key set since start: what it becomes after the restart. */
  pending?: ConfigValue;
  status: KeyStatus;
  /** A file value hidden by a console value (shown so nobody edits the file in vain). */
  hiddenFileValue?: ConfigValue;
}

export interface SetOptions {
  /** Store a value for a key tollgate does not enforce yet (see spec.ts); warned at start. */
  acceptUnenforced?: boolean;
}

type Listener = (key: string, value: ConfigValue, previous: ConfigValue) => void;

/**
 * What one subsystem sees of the configuration: the keys it named, typed, read-only. A live
 * key reads the value in force; a key that applies only at restart reads the value it had
 * when the daemon started, whatever was set since.
 *
 *   const REGISTRAR_KEYS = ['realm', 'minexpires'] as const;
 *   type RegistrarConfig = ConfigView<(typeof REGISTRAR_KEYS)[number]>;
 *   const config: RegistrarConfig = settings.view(REGISTRAR_KEYS);   // config.minexpires: number
 */
export type ConfigView<K extends ConfigKey> = { readonly [P in K]: ConfigShape[P] };

function unwrap(entry: StoredConfigEntry): { value: StoredConfigValue; setAt?: number } {
  if (entry !== null && typeof entry === 'object' && !Array.isArray(entry) && 'setAt' in entry)
    return entry as { value: StoredConfigValue; setAt: number };
  return { value: entry as StoredConfigValue };
}

export class Settings {
  readonly #schema: ConfigSchema;
  readonly #store: Store;
  readonly #log: Logger;
  readonly #listeners = new Set<Listener>();
  /** The config file's values (validated alone), for sources and `unset`. */
  readonly #file: Readonly<Record<string, ConfigValue>>;
  readonly #fileOrigin: FileOrigin | undefined;
  /** Console values: key → when set (ms); the values themselves are in #effective. */
  readonly #consoleSetAt = new Map<string, number | undefined>();
  /** The same at start: a restart-only key's value in force came from there. */
  readonly #consoleSetAtStart: ReadonlyMap<string, number | undefined>;
  #effective: Readonly<Record<string, ConfigValue>>;
  /** Values as they were at start: non-live keys keep these until restart. */
  readonly #atStart: Readonly<Record<string, ConfigValue>>;
  /**
   * Stored values an older version accepted for keys now fixed (the feature does not exist):
   * never in force, warned about at every start until `config unset` removes them.
   */
  readonly #ignored = new Map<string, ConfigValue>();

  /**
   * `fileValues`: the config file's key → value (text or typed); `fileOrigin` says which file
   * and lines they came from, for `config get` and the start-up warnings. `schema` is the key
   * table (tests pass one with synthetic keys).
   */
  constructor(
    store: Store,
    fileValues: Record<string, unknown>,
    log: Logger,
    fileOrigin?: FileOrigin,
    schema: ConfigSchema = SCHEMA,
  ) {
    this.#schema = schema;
    this.#store = store;
    this.#log = log;
    this.#fileOrigin = fileOrigin;
    const stored: Record<string, unknown> = {};
    for (const { key, value } of store.tables.config.getRange()) {
      const spec = schema.lookupKey(key);
      if (!spec) {
        // A key a newer or older tollgate knew: keep it stored, but never let it block a start.
        log.warn({ key }, 'stored config key unknown to this version: ignored');
        continue;
      }
      const entry = unwrap(value);
      if (spec.status.state === 'fixed') {
        // An older version stored it (with acceptunenforced): it never had an effect, and
        // the start must not fail on it. Not in force; warned about (startupWarnings).
        const parsed = safeParse(spec, entry.value);
        if (parsed === undefined || !sameValue(parsed, spec.default)) {
          this.#ignored.set(spec.name, parsed ?? String(entry.value));
          continue;
        }
      }
      stored[key] = entry.value;
      this.#consoleSetAt.set(key, entry.setAt);
    }
    const fromFile: Record<string, ConfigValue> = {};
    const fileConfig = schema.validateConfig(fileValues, {
      source: fileOrigin?.path,
      ...fileOrigin,
    });
    for (const raw of Object.keys(fileValues)) {
      const spec = schema.lookupKey(raw);
      if (spec && fileValues[raw] !== undefined) fromFile[spec.name] = fileConfig[spec.name]!;
    }
    this.#file = Object.freeze(fromFile);
    this.#effective = schema.validateConfig({
      ...fromFile,
      ...stored,
      ...this.#acceptedUnion(stored),
    });
    this.#atStart = this.#effective;
    this.#consoleSetAtStart = new Map(this.#consoleSetAt);
  }

  /**
   * The file's and the console's acceptunenforced lists together (neither hides the other),
   * plus every key the store holds a value for that this version does not enforce: such a
   * value was stored by an older version, before it was refused, and an upgrade must not
   * leave the appliance unable to start (it is warned about at every start instead).
   */
  #acceptedUnion(stored: Record<string, unknown>): Record<string, unknown> {
    const fileList = (this.#file.acceptunenforced as readonly string[] | undefined) ?? [];
    const consoleList =
      stored.acceptunenforced === undefined
        ? []
        : (parseValue(
            this.#schema.findKey('acceptunenforced'),
            stored.acceptunenforced,
          ) as readonly string[]);
    const inherited = Object.keys(stored).filter((name) => {
      const spec = this.#schema.findKey(name);
      return (
        spec.status.state === 'not-enforced' &&
        !sameValue(parseValue(spec, stored[name]), spec.default)
      );
    });
    if (stored.acceptunenforced === undefined && inherited.length === 0) return {};
    return { acceptunenforced: [...new Set([...fileList, ...consoleList, ...inherited])] };
  }

  /** A typed read-only view of `keys` for one subsystem (see ConfigView). */
  view<const K extends ConfigKey>(keys: readonly K[]): ConfigView<K> {
    const view = {};
    for (const name of keys) {
      const spec = this.#schema.findKey(name);
      // A restart-only key keeps its value from the start for the whole run: a plain
      // property, read like any field (hot paths read several per call); a live key is
      // looked up in the values in force at each read.
      if (spec.live)
        Object.defineProperty(view, name, { get: () => this.#effective[name], enumerable: true });
      else Object.defineProperty(view, name, { value: this.#atStart[name], enumerable: true });
    }
    return Object.freeze(view) as ConfigView<K>;
  }

  /**
   * The value in force of a key named at run time (the console's `config get`); code that
   * knows its keys uses view(). A restart-only key gives its value from the start.
   */
  valueOf(key: string): ConfigValue {
    const spec = this.#schema.findKey(key);
    return (spec.live ? this.#effective : this.#atStart)[spec.name]!;
  }

  /** Every value in force (secrets shown as '***'). */
  snapshot(): Record<string, ConfigValue> {
    const inForce: Record<string, ConfigValue> = {};
    for (const name of Object.keys(this.#effective)) inForce[name] = this.valueOf(name);
    return redactConfig(inForce);
  }

  spec(key: string): KeySpec {
    return this.#schema.findKey(key);
  }

  /** Where the value in force of `key` came from. */
  sourceOf(key: string): ValueSource {
    const spec = this.#schema.findKey(key);
    const name = spec.name;
    const fromConsole = spec.live ? this.#consoleSetAt : this.#consoleSetAtStart;
    if (fromConsole.has(name)) return { kind: 'console', setAt: fromConsole.get(name) };
    if (name in this.#file && this.#fileOrigin) {
      const line = this.#fileOrigin.lineOf?.get(name);
      return { kind: 'file', path: this.#fileOrigin.path, ...(line ? { line } : {}) };
    }
    return { kind: 'default' };
  }

  describe(key: string): KeyDescription {
    const spec = this.#schema.findKey(key);
    const shown = (v: ConfigValue) => redactConfig({ [spec.name]: v })[spec.name]!;
    const value = this.valueOf(spec.name);
    const latest = this.#effective[spec.name]!;
    const source = this.sourceOf(spec.name);
    const fileValue = this.#file[spec.name];
    return {
      key: spec.name,
      value: shown(value),
      default: spec.secret ? undefined : spec.default,
      source,
      applies: spec.live ? 'live' : 'restart',
      ...(sameValue(value, latest) ? {} : { pending: shown(latest) }),
      status: spec.status,
      ...(source.kind === 'console' && fileValue !== undefined && !sameValue(fileValue, latest)
        ? { hiddenFileValue: shown(fileValue) }
        : {}),
    };
  }

  /** Validates and stores a new value; a bad key or value throws and changes nothing. */
  set(key: string, raw: unknown, options: SetOptions = {}): SetResult {
    const spec = this.#schema.findKey(key);
    const parsed = parseValue(spec, raw);
    // Stored (and held) as its hash: a copy of the store never gives an API key away.
    const value = spec.hashed && typeof parsed === 'string' ? hashSecret(parsed) : parsed;
    const accepted = this.#accepting(spec, value, options);
    const previous = this.#effective[spec.name]!;
    const setAt = Date.now();
    // Checked as a whole (conflicts such as sipport = sipsport) before anything is stored.
    const next = this.#schema.validateConfig({
      ...this.#effective,
      [spec.name]: value,
      ...accepted,
    });
    this.#store.durable(() => {
      this.#store.tables.config.put(spec.name, { value, setAt });
      if (accepted.acceptunenforced)
        this.#store.tables.config.put('acceptunenforced', {
          value: accepted.acceptunenforced,
          setAt,
        });
    });
    this.#consoleSetAt.set(spec.name, setAt);
    if (accepted.acceptunenforced) this.#consoleSetAt.set('acceptunenforced', setAt);
    this.#effective = next;
    this.#changed(spec, value, previous);
    const shown = (v: ConfigValue) => (spec.secret ? '***' : v);
    return { key: spec.name, value: shown(value), previous: shown(previous), live: spec.live };
  }

  /** Drops the console value of `key`: the file's value, or the default, is in force again. */
  unset(key: string): SetResult {
    const spec = this.#schema.findKey(key);
    if (this.#ignored.has(spec.name) && !this.#consoleSetAt.has(spec.name)) {
      // The value an older version stored for a key now fixed: it was never in force.
      this.#store.durable(() => this.#store.tables.config.remove(spec.name));
      this.#ignored.delete(spec.name);
      const value = this.#effective[spec.name]!;
      return { key: spec.name, value, previous: value, live: spec.live };
    }
    if (!this.#consoleSetAt.has(spec.name)) {
      throw new ConfigErrors.TG_CONFIG_NOT_SET(spec.name);
    }
    const previous = this.#effective[spec.name]!;
    const rest = { ...this.#effective };
    delete rest[spec.name];
    const base = spec.name in this.#file ? { [spec.name]: this.#file[spec.name] } : {};
    const next = this.#schema.validateConfig({ ...rest, ...base });
    this.#store.durable(() => this.#store.tables.config.remove(spec.name));
    this.#consoleSetAt.delete(spec.name);
    this.#effective = next;
    const value = next[spec.name]!;
    this.#changed(spec, value, previous);
    const shown = (v: ConfigValue) => (spec.secret ? '***' : v);
    return { key: spec.name, value: shown(value), previous: shown(previous), live: spec.live };
  }

  /**
   * A value for a key tollgate does not enforce is refused (an operator would believe a
   * protection is on that does not exist) unless accepted; accepting it adds the key to
   * acceptunenforced. Returns the acceptunenforced change to store with the value, if any.
   * A fixed key's other values are refused whatever the options (there is no such feature).
   */
  #accepting(
    spec: KeySpec,
    value: ConfigValue,
    options: SetOptions,
  ): { acceptunenforced?: readonly string[] } {
    const list = this.#effective.acceptunenforced as readonly string[];
    const refusal = refusalOf(spec, value, list);
    if (refusal === undefined) return {};
    if (!options.acceptUnenforced || spec.status.state !== 'not-enforced') throw refusal;
    return { acceptunenforced: [...list, spec.name] };
  }

  /** As set()'s check, for a per-user field (`users set NAME KEY VALUE`). */
  acceptUserField(field: string, value: ConfigValue, options: SetOptions = {}): void {
    const spec = this.#schema.findUserField(field);
    const list = this.#effective.acceptunenforced as readonly string[];
    const refusal = refusalOf(spec, value, list);
    if (refusal === undefined) return;
    if (!options.acceptUnenforced || spec.status.state !== 'not-enforced') throw refusal;
    this.set('acceptunenforced', [...list, spec.name]);
  }

  /** The spec of a per-user field, or undefined (the key table this Settings runs with). */
  userField(name: string): KeySpec | undefined {
    return this.#schema.lookupUserField(name);
  }

  /** Every per-user field of the key table this Settings runs with. */
  userFields(): readonly KeySpec[] {
    return this.#schema.userFields;
  }

  #changed(spec: KeySpec, value: ConfigValue, previous: ConfigValue): void {
    this.#log.info(
      { key: spec.name, value: spec.secret ? '***' : value, live: spec.live },
      'config changed',
    );
    if (spec.live) for (const listener of this.#listeners) listener(spec.name, value, previous);
  }

  /** Keys whose value in force is not the default, with where each came from. */
  changed(): KeyDescription[] {
    return Object.keys(this.#effective)
      .filter((name) => {
        const d = this.describe(name);
        return d.source.kind !== 'default' || d.pending !== undefined;
      })
      .map((name) => this.describe(name));
  }

  /** What the daemon warns about at every start (each a log line for the operator). */
  startupWarnings(): Array<{ key: string; message: string }> {
    const out: Array<{ key: string; message: string }> = [];
    for (const name of Object.keys(this.#effective)) {
      const d = this.describe(name);
      if (d.hiddenFileValue !== undefined && d.source.kind === 'console') {
        const where = this.#fileOrigin ? ` in ${this.#fileOrigin.path}` : '';
        out.push({
          key: name,
          message: `${name}: the console value ${JSON.stringify(d.value)} hides the file value ${JSON.stringify(d.hiddenFileValue)}${where}; "tollgatectl config unset ${name}" returns to the file`,
        });
      }
      const spec = this.#schema.findKey(name);
      if (
        spec.status.state === 'not-enforced' &&
        !sameValue(this.#effective[name]!, spec.default)
      ) {
        out.push({
          key: name,
          message: `${name} is set but NOT ENFORCED by this version (issue #${spec.status.issue}): it has no effect`,
        });
      }
    }
    for (const [name, value] of this.#ignored) {
      const spec = this.#schema.findKey(name);
      const reason = spec.status.state === 'fixed' ? spec.status.reason : '';
      out.push({
        key: name,
        message: `${name} = ${JSON.stringify(value)} is stored by an older version and IGNORED: ${reason}; only ${JSON.stringify(spec.default)} applies ("tollgatectl config unset ${name}" removes it)`,
      });
    }
    return out;
  }

  /** Keys changed since start that apply only after a restart. */
  restartPending(): string[] {
    return Object.keys(this.#effective).filter(
      (k) => !this.#schema.findKey(k).live && !sameValue(this.#effective[k]!, this.#atStart[k]!),
    );
  }

  onChange(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** A stored value parsed for its spec, or undefined when this version cannot read it. */
function safeParse(spec: KeySpec, raw: unknown): ConfigValue | undefined {
  try {
    return parseValue(spec, raw);
  } catch {
    return undefined;
  }
}
