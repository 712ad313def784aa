// One pino logger for the daemon. Two rules every module follows:
// - a line about a source address carries it as the field `ip` (and `port` when known),
//   so an operator can grep or query all lines about one attacker: log.warn({ ip }, '...');
// - secrets never reach a log: the fields below are censored wherever they appear, one level
//   deep. pino's own `redact` option did this with a path per field and a wildcard copy,
//   and re-parsed all 26 paths for every field of every line (a fifth of what the daemon
//   allocated under bench:calls, for one line per call); censor() below walks a line's
//   fields once and copies only a line that has a secret.
import pino, { type Logger } from 'pino';

export type { Logger };

/** Field names that hold secrets anywhere in a logged object. */
export const SECRET_FIELDS = [
  'password',
  'secret',
  'authorization',
  'proxyAuthorization',
  'response', // digest response
  'ha1',
  'apikey',
  'apiKey',
  'httpapikey',
  'apiv2key',
  'serverapikey',
  'token',
  'cookie',
];

const SECRET = new Set(SECRET_FIELDS);
const CENSOR = '[redacted]';

function hasSecret(o: object): boolean {
  for (const key in o) if (SECRET.has(key) && Object.hasOwn(o, key)) return true;
  return false;
}

/** `v` (an object with a secret field) with its secrets censored: a copy, `v` untouched. */
function censorOneLevel(v: object): Record<string, unknown> {
  // An Error keeps what the err serializer shows (message and stack are not enumerable).
  const out: Record<string, unknown> =
    v instanceof Error ? { type: v.name, message: v.message, stack: v.stack } : {};
  for (const key in v) {
    if (!Object.hasOwn(v, key)) continue;
    out[key] = SECRET.has(key) ? CENSOR : (v as Record<string, unknown>)[key];
  }
  return out;
}

/** A line's fields with every secret, at the top level or one level deep, censored. */
export function censor(obj: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const key in obj) {
    if (!Object.hasOwn(obj, key)) continue;
    const v = obj[key];
    let w = v;
    if (SECRET.has(key)) w = CENSOR;
    else if (typeof v === 'object' && v !== null && hasSecret(v)) w = censorOneLevel(v);
    if (w !== v) {
      out ??= { ...obj };
      out[key] = w;
    }
  }
  return out ?? obj;
}

export interface LogOptions {
  level?: string;
  /** Where lines go; stdout by default (journald on the appliance). */
  destination?: pino.DestinationStream;
}

export function createLogger(options: LogOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { name: 'tollgate' },
      formatters: { log: censor },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
