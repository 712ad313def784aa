// /api/v1: every route's JSON schema (input and output) feeds the OpenAPI document served at
// /api/v1/openapi.json. The access hook (auth/access.ts) runs first on every route; requests
// authenticated by the session cookie must also carry X-CSRF-Token when they change state.
import type { FastifyInstance } from 'fastify';
import type { AccessControl } from '../auth/access.ts';
import { sessionRoutes } from '../auth/session-routes.ts';
import type { WebContext } from '../context.ts';
import { banRoutes } from './bans.ts';
import { billingRoutes } from './billing.ts';
import { callRoutes } from './calls.ts';
import { configRoutes } from './config.ts';
import { routingRoutes } from './routing.ts';
import { ERROR, ERROR_RESPONSES } from './schemas.ts';
import { systemRoutes } from './system.ts';
import { tariffRoutes } from './tariffs.ts';
import { userRoutes } from './users.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export async function apiRoutes(
  api: FastifyInstance,
  ctx: WebContext,
  access: AccessControl,
): Promise<void> {
  api.addSchema(ERROR);
  // Every route documents the error answers it can give.
  api.addHook('onRoute', (route) => {
    route.schema ??= {};
    const schema = route.schema as { response?: Record<string, unknown> };
    schema.response = { ...ERROR_RESPONSES, ...(schema.response ?? {}) };
  });
  api.addHook('onRequest', (req, reply, done) => {
    try {
      access.authenticate(req);
    } catch (err) {
      return done(err as Error);
    }
    if (req.principal?.via === 'session' && !SAFE_METHODS.has(req.method))
      return api.csrfProtection(req, reply, done);
    done();
  });

  api.get(
    '/health',
    {
      config: { access: 'public' },
      schema: {
        tags: ['system'],
        summary: 'liveness: answers without authentication',
        response: {
          200: {
            type: 'object',
            required: ['status'],
            properties: { status: { type: 'string', enum: ['ok'] } },
          },
        },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
  api.get(
    '/openapi.json',
    {
      schema: {
        tags: ['system'],
        summary: 'this API as an OpenAPI 3 document',
        response: { 200: { type: 'object', additionalProperties: true } },
      },
    },
    async () => api.swagger(),
  );

  await sessionRoutes(api, access);
  await systemRoutes(api, ctx);
  await banRoutes(api, ctx);
  await userRoutes(api, ctx);
  await configRoutes(api, ctx);
  await billingRoutes(api, ctx);
  await callRoutes(api, ctx);
  await routingRoutes(api, ctx);
  await tariffRoutes(api, ctx);
}
