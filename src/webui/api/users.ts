// /api/v1/users: SIP accounts (list, show, add, change a field or the password, delete), the
// console's `users` commands over the same UserService; and /api/v1/me: the account's own
// view for the enduser portal and customised softphones (access 'user').
import type { FastifyInstance } from 'fastify';
import type { WebContext } from '../context.ts';
import { WebErrors } from '../errors.ts';
import { naming } from '../input.ts';
import { ANY, PAGE_QUERY, pageOf } from './schemas.ts';

const USER = {
  type: 'object',
  required: ['name', 'id', 'fields', 'createdAt', 'realm'],
  properties: {
    name: { type: 'string' },
    id: { type: 'integer' },
    fields: {
      type: 'object',
      additionalProperties: ANY,
      description: 'per-user limits and settings',
    },
    createdAt: { type: 'integer' },
    realm: { type: 'string' },
    digest: {
      type: 'object',
      properties: { algorithm: { type: 'string' }, since: { type: 'integer' } },
    },
    generatedPassword: { type: 'string', description: 'only when the server chose it; shown once' },
  },
} as const;
const NAME_PARAM = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;
const FIELD_VALUE = {
  anyOf: [
    { type: 'string', maxLength: 1024 },
    { type: 'number' },
    { type: 'boolean' },
    { type: 'array', maxItems: 256, items: { type: 'string', maxLength: 256 } },
  ],
} as const;

/** A JSON value as the console's text (what UserService and Settings parse). */
export function asText(value: unknown): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}

export async function userRoutes(api: FastifyInstance, ctx: WebContext): Promise<void> {
  api.get<{ Querystring: { offset: number; limit: number; q?: string } }>(
    '/users',
    {
      schema: {
        tags: ['users'],
        summary: 'SIP accounts, one page, optionally searched by name',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { ...PAGE_QUERY, q: { type: 'string', maxLength: 64 } },
        },
        response: {
          200: pageOf(USER),
        },
      },
    },
    async (req) => {
      const { offset, limit } = req.query;
      const q = req.query.q?.toLowerCase() ?? '';
      const all = ctx.users.list().filter((u) => q === '' || u.name.toLowerCase().includes(q));
      return { total: all.length, offset, limit, items: all.slice(offset, offset + limit) };
    },
  );

  api.get<{ Params: { name: string } }>(
    '/users/:name',
    {
      schema: {
        tags: ['users'],
        summary: 'one account',
        params: NAME_PARAM,
        response: { 200: USER },
      },
    },
    async (req) => ctx.users.get(req.params.name),
  );

  api.post<{ Body: { name: string; password?: string } }>(
    '/users',
    {
      schema: {
        tags: ['users'],
        summary: 'add an account; without a password a strong one is generated and returned once',
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 64 },
            password: { type: 'string', minLength: 1, maxLength: 128 },
          },
        },
        response: { 201: USER },
      },
    },
    async (req, reply) => {
      const { user, generatedPassword } = await naming('body.name', () =>
        ctx.users.add(req.body.name, req.body.password),
      );
      reply.code(201);
      return { ...user, ...(generatedPassword ? { generatedPassword } : {}) };
    },
  );

  api.patch<{
    Params: { name: string };
    Body: { key: string; value: unknown; acceptUnenforced?: boolean };
  }>(
    '/users/:name',
    {
      schema: {
        tags: ['users'],
        summary: 'change one per-user field (limits, authip, …) or the password',
        params: NAME_PARAM,
        body: {
          type: 'object',
          required: ['key', 'value'],
          additionalProperties: false,
          properties: {
            key: { type: 'string', minLength: 1, maxLength: 64 },
            value: FIELD_VALUE,
            acceptUnenforced: { type: 'boolean', default: false },
          },
        },
        response: { 200: USER },
      },
    },
    async (req) =>
      naming('body.value', () =>
        ctx.users.set(req.params.name, req.body.key, asText(req.body.value), {
          acceptUnenforced: req.body.acceptUnenforced,
        }),
      ),
  );

  api.delete<{ Params: { name: string } }>(
    '/users/:name',
    {
      schema: {
        tags: ['users'],
        summary: 'delete an account',
        params: NAME_PARAM,
        response: {
          200: {
            type: 'object',
            required: ['deleted'],
            properties: { deleted: { type: 'string' } },
          },
        },
      },
    },
    async (req) => {
      ctx.users.del(req.params.name);
      return { deleted: req.params.name };
    },
  );

  // ── the account's own view (enduser portal, softphones) ─────────────────────────────
  api.get(
    '/portal/me',
    {
      config: { access: 'user' },
      schema: { tags: ['me'], summary: 'the logged-in SIP account', response: { 200: USER } },
    },
    async (req) => {
      if (req.principal?.kind !== 'user')
        throw new WebErrors.TG_WEB_FORBIDDEN('a SIP account login is needed');
      return ctx.users.get(req.principal.name);
    },
  );

  api.post<{ Body: { current: string; password: string } }>(
    '/portal/password',
    {
      config: { access: 'user' },
      schema: {
        tags: ['me'],
        summary: "change the account's own password (strong password rules apply)",
        body: {
          type: 'object',
          required: ['current', 'password'],
          additionalProperties: false,
          properties: {
            current: {
              type: 'string',
              minLength: 1,
              maxLength: 128,
              description: 'the password now',
            },
            password: { type: 'string', minLength: 1, maxLength: 128, description: 'the new one' },
          },
        },
        response: {
          200: { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' } } },
        },
      },
    },
    async (req) => {
      const who = req.principal;
      if (who?.kind !== 'user')
        throw new WebErrors.TG_WEB_FORBIDDEN('a SIP account login is needed');
      if (!ctx.users.verifyPassword(who.name, req.body.current)) {
        ctx.reportAuthFailure(req.source, req.socket.remotePort ?? 0, 'wrong current password');
        throw new WebErrors.TG_WEB_BAD_CREDENTIALS();
      }
      await naming('body.password', () => ctx.users.set(who.name, 'password', req.body.password));
      return { ok: true };
    },
  );
}
