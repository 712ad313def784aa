// The effective configuration: schema defaults, overridden by the config file (bootstrap,
// read once at start), overridden by live values set from the console/UI/API (stored in
// LMDB so they survive restarts). Validated as a whole at boot and key by key on change.
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import type { ConfigValue, KeySpec } from './schema.ts';
import { findKey, parseValue, redactConfig, validateConfig } from './validate.ts';

export interface SetResult {
  key: string;
  value: ConfigValue;
  previous: ConfigValue;
  /** False when the new value takes effect only after a restart. */
  live: boolean;
}

type Listener = (key: string, value: ConfigValue, previous: ConfigValue) => void;

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
