// The config file: one `key = value` per line, the format the reference's own examples use
// ("maxdailycreditforenduser=1"). Key names are case-insensitive so the reference's upper-case
// spellings (MAXSUBSMSGCOUNT) work as written.
//
//   # DoS protection
//   MAXSUBSMSGCOUNT = 39000
//   maxsubsmsgperiod = 3 minutes      # a comment after whitespace
//   httpapikey = "k#3 with spaces"    # quote values that contain " #" or spaces at the ends
//
// A `#` starts a comment at the beginning of a line or after whitespace in an unquoted value;
// a `#` inside a word (k#3) is part of the value. Quotes ("…" or '…') around a whole value are
// removed and nothing inside them is interpreted.
import { readFileSync, statSync } from 'node:fs';
import { ConfigErrors } from './errors.ts';
import { type Config, validateConfig } from './validate.ts';

/** A config file is a few hundred lines; anything near these is not one. */
export const FILE_LIMITS = Object.freeze({ bytes: 1024 * 1024, lineLength: 8192, lines: 20_000 });

export interface ParsedConfigFile {
  /** lower-case key → value text */
  values: Record<string, string>;
  /** lower-case key → 1-based line number */
  lineOf: Map<string, number>;
}

/** Parses config text; origin (usually the path) prefixes every error message. */
export function parseConfigFile(text: string, origin: string): Record<string, string> {
  return parseConfigFileWithLines(text, origin).values;
}

/** As parseConfigFile, also telling on which line each key was set. */
export function parseConfigFileWithLines(text: string, origin: string): ParsedConfigFile {
  if (text.length > FILE_LIMITS.bytes) {
    throw new ConfigErrors.TG_CONFIG_READ(origin, `larger than ${FILE_LIMITS.bytes} bytes`);
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines.length > FILE_LIMITS.lines) {
    throw new ConfigErrors.TG_CONFIG_READ(origin, `more than ${FILE_LIMITS.lines} lines`);
  }
  const values: Record<string, string> = {};
  const lineOf = new Map<string, number>();
  lines.forEach((line, index) => {
    const lineNo = index + 1;
    const syntax = (why: string) => new ConfigErrors.TG_CONFIG_SYNTAX(origin, lineNo, why);
    if (line.length > FILE_LIMITS.lineLength) {
      throw syntax(`line longer than ${FILE_LIMITS.lineLength} characters`);
    }
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const eq = trimmed.indexOf('=');
    if (eq < 0) throw syntax(`expected "key = value", found ${JSON.stringify(shorten(trimmed))}`);
    const key = trimmed.slice(0, eq).trim();
    // Starting with a letter also rules out "__proto__" and friends as object keys.
    if (!/^[A-Za-z][A-Za-z0-9_]{0,99}$/.test(key)) {
      throw syntax(`bad key name ${JSON.stringify(shorten(key))} (letters, digits and _ only)`);
    }
    const name = key.toLowerCase();
    const first = lineOf.get(name);
    if (first !== undefined) {
      throw new ConfigErrors.TG_CONFIG_DUPLICATE_KEY(origin, lineNo, name, first);
    }
    const value = unquote(trimmed.slice(eq + 1).trim(), syntax);
    values[name] = value;
    lineOf.set(name, lineNo);
  });
  return { values, lineOf };
}

function unquote(text: string, syntax: (why: string) => Error): string {
  const quote = text[0];
  if (quote === '"' || quote === "'") {
    const end = text.indexOf(quote, 1);
    if (end < 0) throw syntax(`unterminated ${quote} quote`);
    const rest = text.slice(end + 1).trim();
    if (rest !== '' && !rest.startsWith('#')) {
      throw syntax(`unexpected text after the quoted value: ${JSON.stringify(shorten(rest))}`);
    }
    return text.slice(1, end);
  }
  const comment = /\s#/.exec(text);
  return (comment ? text.slice(0, comment.index) : text).trim();
}

function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/**
 * Reads, parses and validates a config file. A missing file means "all defaults" (the
 * appliance starts with embedded defaults); any other read error is reported.
 */
export function loadConfigFile(path: string): Config {
  const file = readConfigFile(path);
  return validateConfig(file.values, { source: path, lineOf: file.lineOf });
}

export interface ConfigFileText {
  path: string;
  /** Whether the file exists (absent: every key has its default). */
  exists: boolean;
  /** lower-case key → value text, only the keys the file sets. */
  values: Record<string, string>;
  lineOf: ReadonlyMap<string, number>;
}

/**
 * Reads and parses a config file without merging it over the defaults, so the caller knows
 * which keys the file sets and on which line. `required`: the operator named this file
 * (--config), so its absence is an error rather than "start with the defaults".
 */
export function readConfigFile(path: string, options: { required?: boolean } = {}): ConfigFileText {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > FILE_LIMITS.bytes) {
      throw new ConfigErrors.TG_CONFIG_READ(path, `${size} bytes, more than ${FILE_LIMITS.bytes}`);
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') {
      if (options.required) throw new ConfigErrors.TG_CONFIG_MISSING(path);
      return { path, exists: false, values: {}, lineOf: new Map() };
    }
    if (e.code === 'TG_CONFIG_READ') throw err;
    throw new ConfigErrors.TG_CONFIG_READ(path, e.code ?? e.message);
  }
  const parsed = parseConfigFileWithLines(text, path);
  // Validated here too, so a bad file is reported with its lines before anything starts.
  validateConfig(parsed.values, { source: path, lineOf: parsed.lineOf });
  return { path, exists: true, values: parsed.values, lineOf: parsed.lineOf };
}
