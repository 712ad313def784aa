// Turning an operator's input into a typed config value. Input is either text (config file,
// console `config set`, web form) or already typed (JSON API, values stored in LMDB). Every
// refusal names the key and what it accepts, so the operator can fix it without the manual:
//
//   bad value "9" for allowtrustedip: accepted 0..4 (0=no, 1=my ip only, 2=private ips only,
//   3=yes (default), 4=everywhere including admin console)
import { isIP } from 'node:net';
import { ConfigErrors } from './errors.ts';
import type { ConfigValue, KeySpec, TextFormat } from './schema.ts';

/** Bounds on anything parsed here: config text is operator input, but still input. */
export const LIMITS = Object.freeze({
  textLength: 1024,
  tokenLength: 256,
  listItems: 1000,
  listItemLength: 256,
});

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

// Seconds per duration unit; "3 minute" in the reference's prose is accepted as written.
const DURATION_UNITS: Record<string, number> = {
  '': 1,
  s: 1,
  sec: 1,
  secs: 1,
  second: 1,
  seconds: 1,
  m: 60,
  min: 60,
  mins: 60,
  minute: 60,
  minutes: 60,
  h: 3600,
  hr: 3600,
  hrs: 3600,
  hour: 3600,
  hours: 3600,
  d: 86_400,
  day: 86_400,
  days: 86_400,
};

/** Parses raw input for one key; throws TG_CONFIG_BAD_VALUE naming the key and the range. */
export function parseValue(spec: KeySpec, raw: unknown): ConfigValue {
  const value = convert(spec, raw);
  if (value === undefined) throw badValue(spec, raw);
  return value;
}

/** What a key accepts, in words: "0..4 (0=no, …, 3=yes (default), …)", "1..86400 seconds". */
export function describeAccepted(spec: KeySpec): string {
  switch (spec.type) {
    case 'bool':
      return 'true/false, 1/0, yes/no, on/off';
    case 'enum':
      return describeEnum(spec);
    case 'int':
    case 'number':
    case 'duration': {
      const range = `${spec.min ?? '-∞'}..${spec.max ?? '∞'}`;
      const unit =
        spec.type === 'duration' ? 'seconds (or e.g. "90s", "3m", "1h", "6 hours")' : spec.unit;
      const kind =
        spec.type === 'int' ? 'an integer' : spec.type === 'number' ? 'a number' : 'a duration';
      const decimals = spec.decimals !== undefined ? `, at most ${spec.decimals} decimals` : '';
      return `${kind} ${range}${unit ? ` ${unit}` : ''}${decimals}`;
    }
    case 'string':
      return describeFormat(spec.format ?? 'text', true);
    case 'list':
      return `a comma separated list of up to ${LIMITS.listItems} items, each ${describeFormat(spec.format ?? 'text', false)}`;
  }
}

function describeEnum(spec: KeySpec): string {
  const codes = Object.keys(spec.values ?? {});
  const numeric = isNumericEnum(spec);
  const ordered = numeric ? codes.sort((a, b) => Number(a) - Number(b)) : codes;
  const meanings = ordered
    .map((code) => {
      const isDefault = String(spec.default) === code;
      return `${code}=${spec.values![code]}${isDefault ? ' (default)' : ''}`;
    })
    .join(', ');
  const nums = ordered.map(Number);
  const contiguous = numeric && nums.every((n, i) => i === 0 || n === nums[i - 1]! + 1);
  const head =
    contiguous && nums.length > 1 ? `${nums[0]}..${nums.at(-1)}` : `one of ${ordered.join(', ')}`;
  return `${head} (${meanings})`;
}

function describeFormat(format: TextFormat, single: boolean): string {
  switch (format) {
    case 'ip':
      return 'an IPv4 or IPv6 address';
    case 'cidr':
      return 'an IPv4/IPv6 address or CIDR such as 10.0.0.0/8';
    case 'ifname':
      return 'a network interface name (1..15 characters; * and ? match any characters)';
    case 'hostname':
      return 'a host or domain name (letters, digits, ".", "-", "_"; up to 253 characters)';
    case 'token':
      return `printable characters without spaces, up to ${LIMITS.tokenLength} (empty = unset)`;
    case 'limits':
      return 'comma separated name=integer pairs such as "maxcalls=200" (empty = none)';
    case 'text':
      return `text without control characters, up to ${single ? LIMITS.textLength : LIMITS.listItemLength} characters`;
  }
}

/** Integer-coded enums (levels) hold numbers; named enums (dataplanemode) hold strings. */
export function isNumericEnum(spec: KeySpec): boolean {
  return Object.keys(spec.values ?? {}).every((code) => /^-?\d+$/.test(code));
}

function badValue(spec: KeySpec, raw: unknown) {
  const err = new ConfigErrors.TG_CONFIG_BAD_VALUE(
    showRaw(spec, raw),
    spec.name,
    describeAccepted(spec),
  );
  Object.assign(err.details, { key: spec.name });
  return err;
}

/** The rejected input as shown in messages: quoted, shortened, and never a secret. */
function showRaw(spec: KeySpec, raw: unknown): string {
  if (spec.secret) return '"***"';
  if (raw === null) return 'null';
  if (raw === undefined) return 'undefined';
  let text: string;
  if (typeof raw === 'string') text = raw;
  else if (typeof raw === 'number' || typeof raw === 'boolean') text = String(raw);
  else if (Array.isArray(raw)) text = `[${raw.map(String).join(', ')}]`;
  else text = `<${typeof raw}>`;
  const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return JSON.stringify(shown);
}

/** The typed value, or undefined when raw is not acceptable for spec. */
function convert(spec: KeySpec, raw: unknown): ConfigValue | undefined {
  switch (spec.type) {
    case 'bool':
      return toBool(raw);
    case 'int':
      return inRange(spec, toInt(raw));
    case 'number':
      return inRange(spec, toNumber(raw, spec.decimals));
    case 'duration':
      return inRange(spec, toSeconds(raw));
    case 'enum':
      return toEnum(spec, raw);
    case 'string':
      return typeof raw === 'string' && checkText(raw, spec.format ?? 'text', true)
        ? raw
        : undefined;
    case 'list':
      return toList(spec, raw);
  }
}

function toBool(raw: unknown): boolean | undefined {
  if (typeof raw === 'boolean') return raw;
  if (raw === 0 || raw === 1) return raw === 1;
  if (typeof raw !== 'string') return undefined;
  const word = raw.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return undefined;
}

function toInt(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) ? raw : undefined;
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim();
  // Plain decimal only: no hex, exponents, "Infinity" or thousands separators that
  // Number() would quietly accept or misread.
  if (!/^[+-]?\d{1,15}$/.test(text)) return undefined;
  return Number(text);
}

function toNumber(raw: unknown, decimals: number | undefined): number | undefined {
  let text: string;
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) return undefined;
    text = String(raw); // exponent forms (1e-7) fail the pattern below, as they should
  } else if (typeof raw === 'string') {
    text = raw.trim();
  } else {
    return undefined;
  }
  const match = /^[+-]?(\d{1,15})(?:\.(\d{1,15}))?$/.exec(text);
  if (!match) return undefined;
  if (decimals !== undefined && (match[2]?.length ?? 0) > decimals) return undefined;
  return Number(text);
}

function toSeconds(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) ? raw : undefined;
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim().toLowerCase();
  if (text.length === 0 || text.length > 64) return undefined;
  // One or more "<integer> <unit>" parts: "180", "3 minute", "1h30m", "6 hours".
  const part = /(\d{1,9})\s*([a-z]*)\s*/y;
  let total = 0;
  while (part.lastIndex < text.length) {
    const m = part.exec(text);
    if (!m) return undefined;
    const unit = DURATION_UNITS[m[2]!];
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
  }
  return Number.isSafeInteger(total) ? total : undefined;
}

function inRange(spec: KeySpec, n: number | undefined): number | undefined {
  if (n === undefined) return undefined;
  if (spec.min !== undefined && n < spec.min) return undefined;
  if (spec.max !== undefined && n > spec.max) return undefined;
  return n;
}

function toEnum(spec: KeySpec, raw: unknown): number | string | undefined {
  const values = spec.values ?? {};
  if (isNumericEnum(spec)) {
    // Levels also accept booleans for 0/1 keys the reference describes as true/false
    // ("checkrtpaddr … the default setting is false").
    const n = typeof raw === 'boolean' ? Number(raw) : toInt(raw);
    return n !== undefined && Object.hasOwn(values, String(n)) ? n : undefined;
  }
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim().toLowerCase();
  return Object.hasOwn(values, text) ? text : undefined;
}

function toList(spec: KeySpec, raw: unknown): readonly string[] | undefined {
  let items: unknown[];
  if (Array.isArray(raw)) items = raw;
  else if (typeof raw === 'string') items = raw.split(',');
  else return undefined;
  if (items.length > LIMITS.listItems) return undefined;
  const out: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string') return undefined;
    const text = item.trim();
    if (text === '') continue; // "a, b," and an empty string both mean what they look like
    if (!checkText(text, spec.format ?? 'text', false)) return undefined;
    out.push(text);
  }
  return Object.freeze(out);
}

function checkText(text: string, format: TextFormat, single: boolean): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(text)) return false;
  switch (format) {
    case 'text':
      return text.length <= (single ? LIMITS.textLength : LIMITS.listItemLength);
    case 'token':
      return text.length <= LIMITS.tokenLength && /^[\x21-\x7e]*$/.test(text);
    case 'ip':
      return isIP(text) !== 0;
    case 'cidr':
      return isCidr(text);
    case 'ifname':
      // IFNAMSIZ is 16 including the terminating NUL; '/' and whitespace are never valid.
      // * and ? are patterns (src/dataplane/interface-plan.ts), never in a real name.
      return /^[A-Za-z0-9_.:@*?-]{1,15}$/.test(text);
    case 'hostname':
      // Also ends up inside a quoted header parameter (realm="…"): nothing that could escape it.
      return /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,252})$/.test(text);
    case 'limits':
      return (
        text === '' ||
        /^[a-z][a-z0-9_]{0,63}=\d{1,12}(,[a-z][a-z0-9_]{0,63}=\d{1,12}){0,63}$/i.test(
          text.replace(/\s+/g, ''),
        )
      );
  }
}

function isCidr(text: string): boolean {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return false;
  if (slash < 0) return true;
  const prefix = text.slice(slash + 1);
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}
