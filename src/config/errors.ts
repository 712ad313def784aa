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
  /** The config file exists but cannot be read, or is larger than any sane config. */
  TG_CONFIG_READ: 'cannot read config file %s: %s',
});
