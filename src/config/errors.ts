// The config area's coded errors. Every message names what the operator has to fix: the key,
// the accepted range or values, and for files the path and line number.
import { defineErrors } from '../errors.ts';

export const ConfigErrors = defineErrors('config', {
  /** A key the schema does not know; the message names the closest known keys. */
  TG_CONFIG_UNKNOWN_KEY: 'unknown config key "%s"; closest: %s',
  /** A value outside the key's type, range or enum; the message names what is accepted. */
  TG_CONFIG_BAD_VALUE: 'bad value %s for %s: accepted %s',
  /** Two keys that are each valid but contradict each other (e.g. an empty media port range). */
  TG_CONFIG_CONFLICT: 'conflicting values: %s',
  /** The whole configuration was refused; the message lists every problem found. */
  TG_CONFIG_INVALID: 'invalid configuration%s (%s): %s',
  /** A config file line that is not `key = value`, a comment or blank. */
  TG_CONFIG_SYNTAX: '%s:%s: %s',
  /** The same key set twice in one file (key names are case-insensitive). */
  TG_CONFIG_DUPLICATE_KEY: '%s:%s: duplicate key "%s" (first set on line %s)',
  /**
   * A value for a key this version accepts but does not act on: refused so nobody believes a
   * protection is on that does not exist.
   */
  TG_CONFIG_NOT_ENFORCED:
    '%s is not enforced by this version of tollgate (issue #%s will enforce it): a value other than its default would have no effect; to store it anyway, add --accept-unenforced (or list the key in acceptunenforced), and tollgate will warn at every start that %s is ignored',
  /**
   * A value for a key whose feature tollgate does not have (FTP database access, IVR, …): only
   * the safe value is accepted, whatever acceptunenforced says, since nothing could act on it.
   */
  TG_CONFIG_FIXED:
    '%s = %s is refused: %s; only %s is accepted (the key is kept so that a migrated configuration validates)',
  /** `config unset` of a key that has no console value. */
  TG_CONFIG_NOT_SET:
    '%s has no value set from the console; its value comes from the config file or the default',
  /** --config names a file that does not exist (the default path may be absent: defaults). */
  TG_CONFIG_MISSING:
    'config file %s does not exist; create it (one "key = value" per line) or leave --config out to start with the defaults',
  /** The config file exists but cannot be read, or is larger than any sane config. */
  TG_CONFIG_READ: 'cannot read config file %s: %s',
});
