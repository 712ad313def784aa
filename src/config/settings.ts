// The effective configuration: schema defaults, overridden by the config file (bootstrap,
// read once at start), overridden by live values set from the console/UI/API (stored in
// LMDB so they survive restarts). Validated as a whole at boot and key by key on change.
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import type { ConfigKey, ConfigShape, ConfigValue, KeySpec } from './schema.ts';
import { findKey, parseValue, redactConfig, validateConfig } from './validate.ts';

export interface SetResult {
  key: string;
  value: ConfigValue;
  previous: ConfigValue;
  /** False when the new value takes effect only after a restart. */
  live: boolean;
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

export class Settings {
  readonly #store: Store;
  readonly #log: Logger;
  readonly #listeners = new Set<Listener>();
  #effective: Readonly<Record<string, ConfigValue>>;
  /** Values as they were at start: non-live keys keep these until restart. */
  readonly #atStart: Readonly<Record<string, ConfigValue>>;

  constructor(store: Store, fileValues: Record<string, unknown>, log: Logger) {
    this.#store = store;
    this.#log = log;
    const stored: Record<string, unknown> = {};
    for (const { key, value } of store.tables.config.getRange()) stored[key] = value;
    this.#effective = validateConfig({ ...fileValues, ...stored });
    this.#atStart = this.#effective;
  }

  /** A typed read-only view of `keys` for one subsystem (see ConfigView). */
  view<const K extends ConfigKey>(keys: readonly K[]): ConfigView<K> {
    const view = {};
    for (const name of keys) {
      const spec = findKey(name);
      const read = spec.live ? () => this.#effective[name] : () => this.#atStart[name];
      Object.defineProperty(view, name, { get: read, enumerable: true });
    }
    return Object.freeze(view) as ConfigView<K>;
  }

  get<T extends ConfigValue = ConfigValue>(key: string): T {
    return this.#effective[findKey(key).name] as T;
  }

  /** Every value in force (secrets shown as '***'). */
  snapshot(): Record<string, ConfigValue> {
    return redactConfig(this.#effective);
  }

  spec(key: string): KeySpec {
    return findKey(key);
  }

  /** Validates and stores a new value; a bad key or value throws and changes nothing. */
  set(key: string, raw: unknown): SetResult {
    const spec = findKey(key);
    const value = parseValue(spec, raw);
    const previous = this.#effective[spec.name]!;
    this.#store.durable(() => this.#store.tables.config.put(spec.name, value));
    this.#effective = Object.freeze({ ...this.#effective, [spec.name]: value });
    this.#log.info(
      { key: spec.name, value: spec.secret ? '***' : value, live: spec.live },
      'config changed',
    );
    if (spec.live) for (const listener of this.#listeners) listener(spec.name, value, previous);
    const shown = (v: ConfigValue) => (spec.secret ? '***' : v);
    return { key: spec.name, value: shown(value), previous: shown(previous), live: spec.live };
  }

  /** True when a non-live key was changed and the daemon must restart to apply it. */
  restartPending(): string[] {
    return Object.keys(this.#effective).filter(
      (k) =>
        !findKey(k).live && JSON.stringify(this.#effective[k]) !== JSON.stringify(this.#atStart[k]),
    );
  }

  onChange(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
