// The web server: one fastify app over HTTPS (TLS 1.2+) on webaddress:webport, serving the
// HTTP API under /api/v1, /metrics, and the admin UI and enduser portal (src/webui/ui, the
// plugin point `uiPlugin`). Its certificate is tollgate's own until ACME issues one
// (tls.ts); a new certificate applies to new connections without a restart.
//
// Order matters in fastify: security plugins first (helmet, rate limit, session, CSRF),
// then swagger (it must see every route as it is added), then the routes.
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySecureSession from '@fastify/secure-session';
import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { TollgateError } from '../errors.ts';
import { persistentKey } from '../store/secret-keys.ts';
import { apiRoutes } from './api/index.ts';
import { AccessControl } from './auth/access.ts';
import { sourceOf } from './auth/ip-lists.ts';
import { SESSION_MS } from './auth/session-routes.ts';
import type { WebContext } from './context.ts';
import { statusOf, WebErrors } from './errors.ts';
import { INPUT_ERROR, inputGuards } from './input.ts';
import { Metrics } from './metrics.ts';
import type { TlsSource } from './tls.ts';
import { uiPlugin } from './ui/index.ts';

export const SESSION_COOKIE = 'tg_session';
/** The most a request body may be: the API takes small JSON documents only. */
export const BODY_LIMIT = 256 * 1024;
const WEB_KEYS = ['webratelimit'] as const;

export interface WebServerOptions {
  address: string;
  port: number;
  tls: TlsSource;
  /** /metrics; without one, the server makes its own (no SIP or call counts then). */
  metrics?: Metrics;
  /** Extra plugins registered after the API (tests; the daemon uses uiPlugin). */
  plugins?: ReadonlyArray<(app: FastifyInstance, ctx: WebPluginContext) => Promise<void>>;
}

/** What a page plugin (src/webui/ui) is given besides the app. */
export interface WebPluginContext {
  context: WebContext;
  access: AccessControl;
}

export interface WebServer {
  readonly app: FastifyInstance;
  readonly access: AccessControl;
  /** "https://127.0.0.1:8443" */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function buildWebApp(
  context: WebContext,
  options: Pick<WebServerOptions, 'tls' | 'plugins' | 'metrics'>,
): Promise<{ app: FastifyInstance; access: AccessControl }> {
  const tls = options.tls.current();
  const app = Fastify({
    https: { key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' },
    logger: false,
    trustProxy: false, // the socket's address is the client; a header could lie
    bodyLimit: BODY_LIMIT,
    // Slow clients cannot hold connections open (slowloris): a request has 30 s in all.
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    keepAliveTimeout: 10_000,
    return503OnClosing: true,
    ajv: {
      customOptions: {
        allErrors: false,
        coerceTypes: 'array',
        useDefaults: true,
        removeAdditional: false,
      },
    },
  });
  options.tls.onChange((cred) => {
    // New handshakes get the new certificate; connections already up keep theirs.
    (app.server as unknown as import('node:tls').Server).setSecureContext({
      key: cred.key,
      cert: cred.cert,
      minVersion: 'TLSv1.2',
    });
  });
  const access = new AccessControl(context);
  const web = context.settings.view(WEB_KEYS);

  app.decorateRequest('source', '');
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', (req, _reply, done) => {
    req.source = sourceOf(req.socket.remoteAddress);
    done();
  });
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const { status, body } = errorReply(err);
    if (status >= 500) context.log.error({ err, url: req.url }, 'web request failed');
    reply.code(status).type('application/json').send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({
      code: 'TG_WEB_NOT_FOUND',
      message: `not found: ${req.method} ${req.url.split('?')[0]}`,
    });
  });

  await app.register(fastifyHelmet, {
    // Everything is served from here: no external script, style, font or image source.
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    hsts: { maxAge: 31_536_000, includeSubDomains: true },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
  await app.register(fastifyRateLimit, {
    global: true,
    // webratelimit requests per minute per address (0 = no limit); the login route has its own.
    max: () => web.webratelimit || Number.MAX_SAFE_INTEGER,
    timeWindow: 60_000,
    keyGenerator: (req: FastifyRequest) => sourceOf(req.socket.remoteAddress),
    cache: 10_000,
    errorResponseBuilder: (_req, ctx) => {
      const err = new WebErrors.TG_WEB_RATE_LIMITED(ctx.after) as TollgateError & {
        statusCode: number;
      };
      err.statusCode = 429;
      return err;
    },
  });
  await app.register(fastifyCookie);
  await app.register(fastifySecureSession, {
    key: persistentKey(context.store, 'webSessionKey', 32),
    cookieName: SESSION_COOKIE,
    expiry: SESSION_MS / 1000,
    cookie: { path: '/', httpOnly: true, secure: true, sameSite: 'strict' },
  });
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/secure-session',
    getToken: (req) => {
      const token = req.headers['x-csrf-token'];
      return typeof token === 'string' ? token : undefined;
    },
  });
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'tollgate API',
        version: '1',
        description:
          'JSON API of the tollgate VoIP security appliance. Authenticate with X-API-Key (httpapikey/apiv2key), HTTP Basic (an administrator, or a SIP account on user routes) or the session cookie of a login (then send X-CSRF-Token on state-changing requests). See README "Web UI and API".',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
          basic: { type: 'http', scheme: 'basic' },
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
        },
      },
      security: [{ apiKey: [] }, { basic: [] }, { session: [] }],
    },
  });
  inputGuards(app, context);

  await app.register(
    async (api) => {
      await apiRoutes(api, context, access);
    },
    { prefix: '/api/v1' },
  );
  const metrics =
    options.metrics ??
    new Metrics({ store: context.store, bans: context.bans, dataplane: context.dataplaneStats });
  metrics.route(app, access);
  for (const plugin of [uiPlugin, ...(options.plugins ?? [])]) {
    await app.register(async (scope) => plugin(scope, { context, access }));
  }
  await app.ready();
  return { app, access };
}

/** Builds the app and listens on address:port (webaddress, webport). */
export async function startWebServer(
  context: WebContext,
  options: WebServerOptions,
): Promise<WebServer> {
  const { app, access } = await buildWebApp(context, options);
  try {
    await app.listen({ host: options.address, port: options.port });
  } catch (err) {
    await app.close();
    throw new WebErrors.TG_WEB_LISTEN(`${options.address}:${options.port}`, (err as Error).message);
  }
  const bound = app.server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : options.port;
  const host = options.address.includes(':') ? `[${options.address}]` : options.address;
  return {
    app,
    access,
    port,
    url: `https://${host}:${port}`,
    close: () => app.close(),
  };
}

/** The HTTP status and JSON body for an error: a coded TollgateError, or fastify's own. */
export function errorReply(err: FastifyError & { validationContext?: string }): {
  status: number;
  body: { code: string; message: string; field?: string };
} {
  if (err.validation && err.validation.length > 0) {
    const v = err.validation[0]!;
    const missing = (v.params as { missingProperty?: string; additionalProperty?: string }) ?? {};
    const path = [
      ...v.instancePath.split('/').filter(Boolean),
      ...(missing.missingProperty ? [missing.missingProperty] : []),
      ...(missing.additionalProperty ? [missing.additionalProperty] : []),
    ].join('.');
    const where = err.validationContext ?? 'body';
    const field = path === '' ? where : `${where}.${path}`;
    const what = missing.additionalProperty ? 'is not accepted' : (v.message ?? 'is invalid');
    return {
      status: 400,
      body: { code: 'TG_WEB_BAD_INPUT', field, message: `bad input: ${field} ${what}` },
    };
  }
  if (err instanceof TollgateError) {
    const status = err.code.startsWith('TG_WEB_') ? statusOf(err.code) : controlStatus(err.code);
    const field = typeof err.details.field === 'string' ? err.details.field : undefined;
    return { status, body: { code: err.code, message: err.message, ...(field ? { field } : {}) } };
  }
  if (err.code === 'FST_CSRF_MISSING_SECRET' || err.code === 'FST_CSRF_INVALID_TOKEN')
    return {
      status: 403,
      body: { code: 'TG_WEB_CSRF', message: 'missing or invalid CSRF token (X-CSRF-Token)' },
    };
  const status = typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 500;
  if (status >= 500)
    return {
      status: 500,
      body: { code: 'TG_INTERNAL', message: 'internal error; see the daemon log' },
    };
  return { status, body: { code: err.code ?? 'TG_WEB_BAD_INPUT', message: err.message } };
}

/** The control and config errors the services throw, as HTTP statuses. */
function controlStatus(code: string): number {
  if (code.endsWith('_NOT_FOUND') || code === 'TG_CONFIG_NOT_SET') return 404;
  if (code.endsWith('_EXISTS')) return 409;
  if (INPUT_ERROR.test(code)) return 400;
  return 409; // refused as things stand (a protected address, a key not enforced, …)
}
