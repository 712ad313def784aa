// Every global config key tollgate understands: the reference guide's keys
// (reference/security-and-account-limiting.md, same lower-case names, same defaults) and
// tollgate's own bootstrap keys. One table, fastify build-validation style: commented key
// specs (keys/, one file per section of the reference), validated once at boot, then frozen.
// The conventions every key follows are in spec.ts.
import { API_KEYS } from './keys/api.ts';
import { AUTH_KEYS } from './keys/auth.ts';
import { BOOTSTRAP_KEYS } from './keys/bootstrap.ts';
import { CALL_LIMIT_KEYS } from './keys/call-limits.ts';
import { CONNECTION_KEYS } from './keys/connections.ts';
import { CREDIT_KEYS } from './keys/credit.ts';
import { FIREWALL_KEYS } from './keys/firewall.ts';
import { FRAUD_KEYS } from './keys/fraud.ts';
import { NETWORK_KEYS } from './keys/network.ts';
import { ROUTING_KEYS } from './keys/routing.ts';
import { SYSTEM_KEYS } from './keys/system.ts';
import { TIMEOUT_KEYS } from './keys/timeouts.ts';
import { TRUST_KEYS } from './keys/trust.ts';
import { USER_AGENT_KEYS } from './keys/user-agents.ts';
import { USER_FIELD_KEYS } from './keys/user-fields.ts';
import { WEB_KEYS } from './keys/web.ts';
import type { ConfigValue, KeySpec } from './spec.ts';

export type { ConfigValue, KeySpec, KeyStatus, TextFormat } from './spec.ts';

const GLOBAL_KEYS = [
  ...NETWORK_KEYS,
  ...USER_AGENT_KEYS,
  ...API_KEYS,
  ...AUTH_KEYS,
  ...TRUST_KEYS,
  ...ROUTING_KEYS,
  ...CALL_LIMIT_KEYS,
  ...CREDIT_KEYS,
  ...FRAUD_KEYS,
  ...FIREWALL_KEYS,
  ...SYSTEM_KEYS,
  ...TIMEOUT_KEYS,
  ...BOOTSTRAP_KEYS,
  ...CONNECTION_KEYS,
  ...WEB_KEYS,
];

/** The value type a key's spec implies: enums with integer codes hold numbers. */
type ValueOf<S> = S extends { type: 'int' | 'number' | 'duration' }
  ? number
  : S extends { type: 'bool' }
    ? boolean
    : S extends { type: 'list' }
      ? readonly string[]
      : S extends { type: 'enum'; values: infer V }
        ? keyof V extends `${number}`
          ? number
          : string
        : string;

/** Every global key with its value type, derived from the key tables (the one source). */
export type ConfigShape = {
  readonly [S in (typeof GLOBAL_KEYS)[number] as S['name']]: ValueOf<S>;
};
export type ConfigKey = keyof ConfigShape;

function freezeSpecs(specs: readonly KeySpec[]): readonly KeySpec[] {
  for (const spec of specs) {
    if (spec.values) Object.freeze(spec.values);
    if (Array.isArray(spec.default)) Object.freeze(spec.default);
    Object.freeze(spec);
  }
  return Object.freeze([...specs]);
}

export const CONFIG_KEYS: readonly KeySpec[] = freezeSpecs(GLOBAL_KEYS);
export const USER_FIELDS: readonly KeySpec[] = freezeSpecs(USER_FIELD_KEYS);

/** Used by type tests: a value of the declared type for a key. */
export type ValueOfKey<K extends ConfigKey> = ConfigShape[K] & ConfigValue;
