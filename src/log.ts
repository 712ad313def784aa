// One pino logger for the daemon. Two rules every module follows:
// - a line about a source address carries it as the field `ip` (and `port` when known),
//   so an operator can grep or query all lines about one attacker: log.warn({ ip }, '...');
// - secrets never reach a log: the fields below are censored wherever they appear, one level
//   deep. pino's own `redact` option did this with a path per field and a wildcard copy,
//   and re-parsed all 26 paths for every field of every line (a fifth of what the daemon
//   allocated under bench:calls, for one line per call); censor() below walks a line's
//   fields once and copies only a line that has a secret.
import { fstatSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
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

/** Lines held while the reader of stdout is behind; past this, lines are dropped and counted. */
export const MAX_PENDING_LOG_BYTES = 16 * 1024 * 1024;

let droppedInProcess = 0;

/**
 * Log lines this process dropped because the reader of its log fell `MAX_PENDING_LOG_BYTES`
 * behind (every StreamDestination): shown by `tollgatectl stats` and /metrics, so lost lines
 * are seen, not silent.
 */
export function droppedLogLines(): number {
  return droppedInProcess;
}

/**
 * stdout when it is a pipe or a socket (journald, a supervisor, a test), written through a
 * libuv stream by the event loop's thread: the lines of one event-loop turn together at its
 * end (one write(2) when the reader keeps up), queued by libuv, never blocking, when it does
 * not. pino's own asynchronous destination hands every write to the thread pool instead (a
 * wake-up of a worker thread and one back per line): bench:calls measured ~84 µs of CPU per
 * line that way, ~28 µs with a write(2) per line. A write(2) to a pipe wakes its reader, and
 * on a VM that wake-up costs the writer more than the copy: under load a turn ends several
 * calls, and their lines now share one. Pending lines keep the process alive until written
 * (the stream itself does not); at exit the turn's lines are written at once; a crash loses
 * only what the reader had not taken yet.
 */
export class StreamDestination {
  readonly #socket: Socket;
  readonly #maxPending: number;
  #failed = false;
  /** This turn's lines, written together at its end (#flush, scheduled by the first). */
  #batch: string[] = [];
  #batchBytes = 0;
  /** Lines dropped because the reader was `maxPending` bytes behind. */
  dropped = 0;

  /** `fd`: the socket's descriptor, for the lines of the last turn at exit. */
  constructor(socket: Socket, maxPending = MAX_PENDING_LOG_BYTES, fd?: number) {
    this.#socket = socket;
    this.#maxPending = maxPending;
    // A reader gone (EPIPE) or any other write error: logging stops, the daemon does not.
    socket.on('error', () => {
      this.#failed = true;
    });
    socket.unref();
    // process.exit() and a crash end the loop before the turn's end: its lines go out then
    // through `fd` (the socket's descriptor, when given), unless older ones still wait in the
    // stream (they would be overtaken).
    if (fd === undefined) return;
    process.once('exit', () => {
      if (this.#batch.length === 0 || this.#failed || this.#socket.writableLength > 0) return;
      try {
        writeSync(fd, this.#batch.join(''));
      } catch {
        // The reader is gone: nothing to do at exit.
      }
    });
  }

  write(line: string): void {
    if (this.#failed) return;
    if (this.#socket.writableLength + this.#batchBytes >= this.#maxPending) {
      this.dropped++;
      droppedInProcess++;
      return;
    }
    if (this.#batch.push(line) === 1) setImmediate(this.#flush);
    this.#batchBytes += line.length;
  }

  readonly #flush = (): void => {
    const lines = this.#batch;
    this.#batch = [];
    this.#batchBytes = 0;
    if (this.#failed) return;
    this.#socket.write(lines.length === 1 ? lines[0]! : lines.join(''));
  };
}

/** Where lines go by default: fd 1, as a stream when it is a pipe or a socket (see above). */
function stdoutDestination(): pino.DestinationStream {
  try {
    const st = fstatSync(1);
    if (st.isFIFO() || st.isSocket())
      return new StreamDestination(
        new Socket({ fd: 1, readable: false, writable: true }),
        MAX_PENDING_LOG_BYTES,
        1,
      );
  } catch {
    // Not a descriptor a stream can use: pino's own destination below.
  }
  return pino.destination({ dest: 1, sync: false });
}

/** The second isoTime last wrote, and its text up to the milliseconds. */
let timeSecond = Number.NaN;
let timePrefix = '';

/**
 * pino's isoTime (`,"time":"2026-12-06T23:30:00.123Z"`), the same text, without a Date and a
 * toISOString per line: the text up to the second is made once per second and the
 * milliseconds appended (a tenth of a log line's cost under bench:calls went to the Date).
 */
export function isoTime(now: number = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== timeSecond) {
    const iso = new Date(second * 1000).toISOString(); // ….sssZ, sss = 000
    timePrefix = `,"time":"${iso.slice(0, -4)}`;
    timeSecond = second;
  }
  const ms = now - second * 1000;
  return `${timePrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
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
      timestamp: () => isoTime(),
    },
    options.destination ?? stdoutDestination(),
  );
}
