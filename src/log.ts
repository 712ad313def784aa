// One pino logger for the daemon. Two rules every module follows:
// - a line about a source address carries it as the field `ip` (and `port` when known),
//   so an operator can grep or query all lines about one attacker: log.warn({ ip }, '...');
// - secrets never reach a log: the paths below are censored wherever they appear, one level
//   deep (pino's redaction is path based; wildcards keep it cheap).
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

const redactPaths = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`]);

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
      redact: { paths: redactPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
