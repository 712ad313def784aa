// The dashboard's live stream: GET /api/v1/events, server-sent events (text/event-stream),
// one `sample` event a second with the kernel's drop counters (totals: the page turns two
// samples into a rate per second), registrations, calls, bans and spend today.
//
// One sampler serves every open dashboard: it runs only while someone listens, reads the
// sources once per tick and writes the same line to every stream, so ten dashboards cost what
// one does. Streams are bounded (MAX_STREAMS); one over the bound is refused with 503 rather
// than queued. fastify's close ends every stream first (preClose), so a stop never waits on
// an open dashboard.
// The OpenAPI schema fields (tags, summary) that @fastify/swagger adds to route schemas.
import type {} from '@fastify/swagger';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface LiveSample {
  /** ms since epoch (the appliance's clock). */
  at: number;
  mode: string;
  /** Kernel drops per reason, totals since the dataplane started. */
  drops: Record<string, number>;
  passed: number;
  registrations: number;
  bans: number;
  calls?: number;
  spendTodayMicros?: number;
}

export interface LiveSources {
  /** The kernel counters (the API's /dataplane/counters). */
  stats(): Promise<{
    dataplane?: { mode?: string };
    drops: Record<string, number>;
    passed: number;
  }>;
  registrations(): number;
  bans(): number;
  calls?(): number;
  spendTodayMicros?(): number;
}

/** Open dashboards at once; more are refused (each holds a socket and a write per second). */
export const MAX_STREAMS = 32;
export const SAMPLE_MS = 1000;
/** A client that has not taken this much of its stream is dropped (it stopped reading). */
const MAX_BACKLOG_BYTES = 256 * 1024;

export class LiveFeed {
  readonly #sources: LiveSources;
  readonly #intervalMs: number;
  readonly #maxStreams: number;
  readonly #streams = new Set<FastifyReply['raw']>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #last: string | undefined;
  #sampling = false;

  constructor(sources: LiveSources, options: { intervalMs?: number; maxStreams?: number } = {}) {
    this.#sources = sources;
    this.#intervalMs = options.intervalMs ?? SAMPLE_MS;
    this.#maxStreams = options.maxStreams ?? MAX_STREAMS;
  }

  get streams(): number {
    return this.#streams.size;
  }

  async sample(): Promise<LiveSample> {
    const s = this.#sources;
    const stats = await s.stats();
    return {
      at: Date.now(),
      mode: stats.dataplane?.mode ?? 'unknown',
      drops: stats.drops,
      passed: stats.passed,
      registrations: s.registrations(),
      bans: s.bans(),
      ...(s.calls ? { calls: s.calls() } : {}),
      ...(s.spendTodayMicros ? { spendTodayMicros: s.spendTodayMicros() } : {}),
    };
  }

  /** Starts a stream on a hijacked reply; false when MAX_STREAMS are open already. */
  open(req: FastifyRequest, reply: FastifyReply): boolean {
    if (this.#streams.size >= this.#maxStreams) return false;
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    // How long the browser waits before it reconnects after the stream broke.
    raw.write('retry: 3000\n\n');
    if (this.#last) raw.write(this.#last);
    this.#streams.add(raw);
    req.raw.socket.setNoDelay(true);
    const done = () => this.#drop(raw);
    req.raw.on('close', done);
    raw.on('error', done);
    if (!this.#timer) {
      this.#timer = setInterval(() => void this.#tick(), this.#intervalMs);
      void this.#tick();
    }
    return true;
  }

  /** Ends every stream (the server is closing). */
  closeAll(): void {
    for (const raw of [...this.#streams]) {
      raw.end();
      this.#drop(raw);
    }
  }

  #drop(raw: FastifyReply['raw']): void {
    this.#streams.delete(raw);
    if (this.#streams.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      this.#last = undefined;
    }
  }

  async #tick(): Promise<void> {
    // A slow kernel read must not stack ticks up behind it.
    if (this.#sampling) return;
    this.#sampling = true;
    try {
      const line = `event: sample\ndata: ${JSON.stringify(await this.sample())}\n\n`;
      this.#last = line;
      for (const raw of this.#streams) {
        if (raw.writableLength > MAX_BACKLOG_BYTES) {
          raw.destroy();
          this.#drop(raw);
        } else raw.write(line);
      }
    } catch {
      // The next tick tries again; the page says "reconnecting" only if the stream breaks.
    } finally {
      this.#sampling = false;
    }
  }
}

/** The route, authenticated by `authenticate` (the API's access control, admin only). */
export function liveRoute(
  app: FastifyInstance,
  feed: LiveFeed,
  authenticate: (req: FastifyRequest, reply: FastifyReply) => Promise<void> | void,
): void {
  app.addHook('preClose', (done) => {
    feed.closeAll();
    done();
  });
  app.get(
    '/api/v1/events',
    {
      config: { access: 'admin' },
      onRequest: async (req, reply) => {
        await authenticate(req, reply);
      },
      schema: {
        tags: ['system'],
        summary:
          'live dashboard stream (text/event-stream): a "sample" event a second with kernel drops per reason (totals), passed packets, registrations, bans, calls and spend today',
      },
    },
    async (req, reply) => {
      if (!feed.open(req, reply)) {
        reply.code(503).header('retry-after', '10');
        return {
          code: 'TG_WEB_TOO_MANY_STREAMS',
          message: 'too many live streams are open already; close a dashboard',
        };
      }
      return reply;
    },
  );
}
